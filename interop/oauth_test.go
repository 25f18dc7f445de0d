package interop

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOAuthClientProvider runs interop/oauth/oauth.mjs with both official
// TypeScript SDK lines: their OAuth client provider connects to `agentscope
// serve`'s /mcp with OAuth (registration, the consent page of a signed-in
// web UI session, PKCE, a tool call, refresh with rotation and reuse
// detection, revocation), with another organisation's session out of its
// reach.
func TestOAuthClientProvider(t *testing.T) {
	node := requireNode(t)
	dir := t.TempDir()
	// Another organisation, with a key that records a session there.
	agentscope := func(args ...string) string {
		cmd := exec.Command(binary(t), args...)
		cmd.Env = cleanEnv("AGENTSCOPE_DATA_DIR="+dir, "HOME="+dir)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("agentscope %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	var org struct{ ID string }
	if err := json.Unmarshal([]byte(agentscope("orgs", "create", "beta", "--json")), &org); err != nil {
		t.Fatal(err)
	}
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(agentscope("keys", "create", "--org", org.ID, "--name", "beta", "--scopes", "ingest", "--json")), &key); err != nil {
		t.Fatal(err)
	}
	mcpURL := serveDir(t, t.TempDir(), dir)
	base := strings.TrimSuffix(mcpURL, "/mcp")
	req, _ := http.NewRequest("POST", base+"/api/v1/runs", strings.NewReader(`{"agent":"beta-bot","session_id":"beta-secret"}`))
	req.Header.Set("Authorization", "Bearer "+key.Key)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("beta's run: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// The person signs in to the web UI; the script uses the session.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/login", url.Values{"token": {token}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, ck := range resp.Cookies() {
		if ck.Name == "agentscope_session" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatalf("sign in: %d, no session cookie", resp.StatusCode)
	}
	for _, sdk := range sdkLines {
		t.Run(sdk, func(t *testing.T) {
			out := runNode(t, node, 90*time.Second, cleanEnv("INTEROP_SDK="+sdk, "INTEROP_URL="+mcpURL, "INTEROP_COOKIE="+cookie), filepath.Join("oauth", "oauth.mjs"))
			t.Logf("%s", strings.TrimSpace(out))
			if !strings.Contains(out, sdk+" OAuth: all checks passed") {
				t.Fatal("the script did not finish its checks")
			}
		})
	}
}
