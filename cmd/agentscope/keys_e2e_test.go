package main

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// envOf turns a Getenv map back into KEY=value settings for serveInProcess.
func envOf(vars map[string]string) []string {
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// newKey makes an API key of the default organisation with the CLI, as an
// operator would, and returns it.
func newKey(t *testing.T, vars map[string]string, scopes string, extra ...string) string {
	t.Helper()
	args := append([]string{"keys", "create", "--org", "default", "--name", "k-" + strings.ReplaceAll(scopes, ",", "-"), "--scopes", scopes, "--json"}, extra...)
	return decodeJSON[createdKey](t, cli(t, vars, args...)).Key
}

// call sends an authenticated request and returns the status, the
// WWW-Authenticate header and the body.
func call(t *testing.T, method, url, token, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
}

// TestServeSignsInWithAPIKeys: serve authenticates the HTTP API, its
// websocket and /mcp through identity: an API key made by the operator
// works on all three beside the instance token; once revoked, or past its
// expiry, it gets 401 everywhere, and /mcp's 401 carries a Bearer
// challenge.
func TestServeSignsInWithAPIKeys(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			key := newKey(t, vars, "ingest,read")
			expiring := newKey(t, vars, "read", "--expires", time.Now().Add(1500*time.Millisecond).UTC().Format(time.RFC3339Nano))
			base, stop := serveInProcess(t, envOf(vars))
			defer stop()

			for _, tok := range []string{"test-token-0123456789", key} {
				if code, _, body := call(t, "GET", base+"/api/v1/runs", tok, ""); code != http.StatusOK {
					t.Fatalf("GET /api/v1/runs: %d %s", code, body)
				}
			}
			if code, _, body := call(t, "POST", base+"/api/v1/runs", key, `{"agent":"keyed","session_id":"key-1"}`); code != http.StatusCreated {
				t.Fatalf("start a run with the key: %d %s", code, body)
			}
			ws := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/sessions/key-1/live"
			conn, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + key}})
			if err != nil {
				t.Fatalf("websocket with the key: %v (%v)", err, resp)
			}
			conn.Close()
			cs := httpSession(t, base, key)
			if _, err := cs.ListTools(t.Context(), nil); err != nil {
				t.Fatalf("/mcp with the key: %v", err)
			}
			cs.Close()

			cli(t, vars, "keys", "revoke", keyID(t, vars, "k-ingest-read"))
			time.Sleep(time.Until(expiryOf(t, vars, "k-read")) + 10*time.Millisecond) // wall-clock expiry, not synchronisation
			for name, tok := range map[string]string{"revoked": key, "expired": expiring, "unknown": "ask_0123456789ab_" + strings.Repeat("0", 64)} {
				if code, _, body := call(t, "GET", base+"/api/v1/runs", tok, ""); code != http.StatusUnauthorized {
					t.Errorf("%s key on the API: %d %s", name, code, body)
				}
				if _, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + tok}}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s key on the websocket: %v %v", name, err, resp)
				}
				code, challenge, body := call(t, "POST", base+"/mcp", tok, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
				if code != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") {
					t.Errorf("%s key on /mcp: %d %q %s", name, code, challenge, body)
				}
			}
			if code, challenge, _ := call(t, "POST", base+"/mcp", "", `{}`); code != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") {
				t.Errorf("/mcp without a token: %d %q", code, challenge)
			}
		})
	}
}

// keyID finds the default organisation's key by name.
func keyID(t *testing.T, vars map[string]string, name string) string {
	t.Helper()
	return keyNamed(t, vars, name).ID
}

func expiryOf(t *testing.T, vars map[string]string, name string) time.Time {
	t.Helper()
	k := keyNamed(t, vars, name)
	if k.ExpiresAt == nil {
		t.Fatalf("key %s has no expiry", name)
	}
	return *k.ExpiresAt
}

type listedKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func keyNamed(t *testing.T, vars map[string]string, name string) listedKey {
	t.Helper()
	for _, k := range decodeJSON[struct{ Keys []listedKey }](t, cli(t, vars, "keys", "list", "--org", "default", "--json")).Keys {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("no key named %s", name)
	return listedKey{}
}
