package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
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

// TestKeysAPI drives POST, GET and DELETE /api/v1/keys on both stores: the
// key is shown once and signs in with its scopes; the list never holds a
// secret or hash and shows last use and revocation; another organisation's
// key answers 404 as a missing one; bad input is 400 naming the field;
// only admin may; creation and revocation are audited with the caller.
func TestKeysAPI(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			admin := newKey(t, vars, "admin")
			reader := newKey(t, vars, "read")
			other := decodeJSON[map[string]string](t, cli(t, vars, "orgs", "create", "Other", "--json"))["id"]
			foreign := decodeJSON[createdKey](t, cli(t, vars, "keys", "create", "--org", other, "--name", "theirs", "--scopes", "read", "--json"))
			base, stop := serveInProcess(t, envOf(vars))
			defer stop()
			instance := "test-token-0123456789"

			expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
			code, _, body := call(t, "POST", base+"/api/v1/keys", admin, `{"name":"ci","scopes":["read","ingest"],"expires_at":"`+expires.Format(time.RFC3339)+`"}`)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, body)
			}
			var made struct {
				ID, Key, Prefix string
				Scopes          []string
				CreatedAt       *time.Time `json:"created_at"`
				ExpiresAt       *time.Time `json:"expires_at"`
			}
			if err := json.Unmarshal([]byte(body), &made); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(made.Key, made.Prefix+"_") || strings.Join(made.Scopes, ",") != "ingest,read" || made.CreatedAt == nil ||
				made.ExpiresAt == nil || !made.ExpiresAt.Equal(expires) {
				t.Fatalf("created key: %s", body)
			}
			if code, _, body := call(t, "GET", base+"/api/v1/runs", made.Key, ""); code != http.StatusOK {
				t.Errorf("the new key cannot read: %d %s", code, body)
			}
			if code, _, body := call(t, "POST", base+"/api/v1/agents", made.Key, `{"name":"x","definition":{"system_prompt":"x"}}`); code != http.StatusForbidden || !strings.Contains(body, "lacks the admin scope") {
				t.Errorf("the new key administers: %d %s", code, body)
			}

			code, _, body = call(t, "GET", base+"/api/v1/keys", instance, "")
			if code != http.StatusOK || strings.Contains(body, made.Key) || strings.Contains(body, "hash") || strings.Contains(body, foreign.Prefix) {
				t.Fatalf("list: %d %s", code, body)
			}
			var listed struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal([]byte(body), &listed); err != nil {
				t.Fatal(err)
			}
			var ci map[string]any
			for _, k := range listed.Keys {
				for _, f := range []string{"id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at"} {
					if _, ok := k[f]; !ok {
						t.Errorf("listed key lacks %s: %v", f, k)
					}
				}
				if k["id"] == made.ID {
					ci = k
				}
			}
			if len(listed.Keys) != 3 || ci == nil || ci["last_used_at"] == nil || ci["revoked_at"] != nil {
				t.Fatalf("list: %s", body)
			}

			for _, c := range []struct{ body, field string }{
				{`{"scopes":["read"]}`, "name"},
				{`{"name":"x","scopes":[]}`, "scopes"},
				{`{"name":"x","scopes":["write"]}`, "scopes"},
				{`{"name":"x","scopes":"read"}`, "scopes"},
				{`{"name":"x","scopes":["read"],"expires_at":"tomorrow"}`, "expires_at"},
				{`{"name":"x","scopes":["read"],"expires_at":"2001-01-01T00:00:00Z"}`, "expires_at"},
				{`{"name":"x","scopes":["read"],"owner":"me"}`, "owner"},
			} {
				if code, _, body := call(t, "POST", base+"/api/v1/keys", instance, c.body); code != http.StatusBadRequest || !strings.Contains(body, c.field) {
					t.Errorf("create %s: want 400 naming %s, got %d %s", c.body, c.field, code, body)
				}
			}
			for _, m := range []struct{ method, path string }{{"GET", "/api/v1/keys"}, {"POST", "/api/v1/keys"}, {"DELETE", "/api/v1/keys/" + made.ID}} {
				if code, _, body := call(t, m.method, base+m.path, reader, `{"name":"x","scopes":["read"]}`); code != http.StatusForbidden || !strings.Contains(body, "lacks the admin scope") {
					t.Errorf("read key: %s %s: %d %s", m.method, m.path, code, body)
				}
			}
			if code, _, body := call(t, "DELETE", base+"/api/v1/keys/"+foreign.ID, instance, ""); code != http.StatusNotFound {
				t.Errorf("revoke another organisation's key: %d %s", code, body)
			}
			if code, _, body := call(t, "DELETE", base+"/api/v1/keys/key-nope", instance, ""); code != http.StatusNotFound {
				t.Errorf("revoke a missing key: %d %s", code, body)
			}
			if code, _, body := call(t, "DELETE", base+"/api/v1/keys/"+made.ID, admin, ""); code != http.StatusOK || !strings.Contains(body, `"revoked_at":"`) {
				t.Fatalf("revoke: %d %s", code, body)
			}
			if code, _, _ := call(t, "GET", base+"/api/v1/runs", made.Key, ""); code != http.StatusUnauthorized {
				t.Errorf("a revoked key: %d", code)
			}
			if code, _, _ := call(t, "GET", base+"/api/v1/runs", foreign.Key, ""); code != http.StatusOK {
				t.Errorf("the other organisation's key stopped working: %d", code)
			}

			s, closeStore, err := openIdentityStore(context.Background(), &Env{Stderr: &strings.Builder{}}, "test", configOf(t, vars))
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore()
			page, err := s.ListAudit(context.Background(), agentscope.DefaultOrgID, agentscope.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			adminID := keyID(t, vars, "k-admin")
			var got []string
			for _, e := range page.Entries {
				if e.Target == made.ID {
					got = append(got, string(e.Action)+" by "+e.Actor)
				}
			}
			if want := "key.revoked by key:" + adminID + ", key.created by key:" + adminID; strings.Join(got, ", ") != want {
				t.Errorf("audit of the key: %q, want %q", strings.Join(got, ", "), want)
			}
		})
	}
}
