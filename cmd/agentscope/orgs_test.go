package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// runCommand runs the command line in-process and returns its exit code
// and output.
func runCommand(vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string { return vars[k] }}
	code = e.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// varsOf turns a store's KEY=value settings into a Getenv map.
func varsOf(t *testing.T, st store) map[string]string {
	vars := map[string]string{}
	for _, kv := range st.env(t) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return vars
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

// TestOrgsAndKeysCLI drives agentscope orgs and keys on both stores: what
// scripts read with --json, that the printed key is the stored one and
// works only until revoked, and that the operator's changes are audited.
func TestOrgsAndKeysCLI(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			org := decodeJSON[map[string]string](t, cli(t, vars, "orgs", "create", "Acme Corp", "--json"))
			if len(org) != 2 || org["name"] != "Acme Corp" || agentscope.ValidateOrgID(org["id"]) != nil {
				t.Fatalf("orgs create: %v", org)
			}
			orgs := decodeJSON[struct{ Orgs []agentscope.Org }](t, cli(t, vars, "orgs", "list", "--json")).Orgs
			if len(orgs) != 2 || orgs[0].ID != agentscope.DefaultOrgID || orgs[1].ID != org["id"] || orgs[1].Name != "Acme Corp" {
				t.Errorf("orgs list: %+v", orgs)
			}
			if table := cli(t, vars, "orgs", "list"); !strings.Contains(table, org["id"]) || !strings.Contains(table, "Acme Corp") {
				t.Errorf("orgs list table:\n%s", table)
			}
			// A name an organisation has, in any case, is refused, naming
			// the one that has it; nothing is made.
			want := "organisation " + org["id"] + ` is named "Acme Corp" already`
			if code, stdout, stderr := runCommand(vars, "orgs", "create", " acme corp "); code != 1 || stdout != "" || !strings.Contains(stderr, want) {
				t.Errorf("orgs create of a taken name: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
			}
			if n := len(decodeJSON[struct{ Orgs []agentscope.Org }](t, cli(t, vars, "orgs", "list", "--json")).Orgs); n != 2 {
				t.Errorf("%d organisations after the refused create, want 2", n)
			}

			expires := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
			out := cli(t, vars, "keys", "create", "--org", org["id"], "--name", "ci", "--scopes", "read,ingest", "--expires", expires.Format(time.RFC3339), "--json")
			created := decodeJSON[map[string]any](t, out)
			for _, field := range []string{"id", "key", "prefix", "scopes"} {
				if created[field] == nil {
					t.Errorf("keys create --json has no %s: %s", field, out)
				}
			}
			key := decodeJSON[createdKey](t, out)
			cred, err := agentscope.ParseCredential(key.Key)
			if err != nil || cred.Prefix() != key.Prefix || agentscope.JoinScopes(key.Scopes) != "ingest,read" || !key.ExpiresAt.Equal(expires) {
				t.Fatalf("keys create: %+v (%v)", key, err)
			}
			// The plain form prints the key alone on stdout, for a pipe.
			plain := strings.TrimSpace(cli(t, vars, "keys", "create", "--org", agentscope.DefaultOrgID, "--name", "local", "--scopes", "admin"))
			if _, err := agentscope.ParseCredential(plain); err != nil {
				t.Errorf("keys create printed %q", plain)
			}

			listed := cli(t, vars, "keys", "list", "--org", org["id"], "--json")
			keys := decodeJSON[struct{ Keys []agentscope.APIKey }](t, listed).Keys
			if len(keys) != 1 || keys[0].ID != key.ID || keys[0].Prefix != key.Prefix || keys[0].RevokedAt != nil {
				t.Errorf("keys list: %s", listed)
			}
			if strings.Contains(listed, key.Key[len(key.Prefix):]) || strings.Contains(listed, "hash") {
				t.Errorf("keys list shows the secret or its hash: %s", listed)
			}
			if table := cli(t, vars, "keys", "list", "--org", org["id"]); !strings.Contains(table, key.Prefix) || !strings.Contains(table, "active") {
				t.Errorf("keys list table:\n%s", table)
			}

			// The key printed is the key stored.
			s, closeStore, err := openIdentityStore(context.Background(), &Env{Stderr: &strings.Builder{}}, "test", configOf(t, vars))
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.APIKeyByPrefix(context.Background(), key.Prefix)
			closeStore()
			if err != nil || !cred.Matches(stored.Hash) || stored.OrgID != org["id"] || !stored.Usable(time.Now()) {
				t.Fatalf("stored key %+v, %v", stored, err)
			}

			// Revoking through the wrong organisation finds nothing.
			code, _, stderr := runCommand(vars, "keys", "revoke", key.ID, "--org", agentscope.DefaultOrgID)
			if code != 1 || !strings.Contains(stderr, `API key "`+key.ID+`" not found`) {
				t.Errorf("revoke through another organisation: exit %d, %s", code, stderr)
			}
			revoked := decodeJSON[agentscope.APIKey](t, cli(t, vars, "keys", "revoke", key.ID, "--json"))
			if revoked.RevokedAt == nil || revoked.ID != key.ID {
				t.Errorf("keys revoke: %+v", revoked)
			}
			if again := cli(t, vars, "keys", "revoke", key.ID); !strings.Contains(again, "was already revoked at "+revoked.RevokedAt.UTC().Format(time.RFC3339)) {
				t.Errorf("keys revoke of a revoked key: %q, want it to say since when", again)
			}
			if table := cli(t, vars, "keys", "list", "--org", org["id"]); !strings.Contains(table, "revoked") {
				t.Errorf("keys list after revoke:\n%s", table)
			}
			s, closeStore, err = openIdentityStore(context.Background(), &Env{Stderr: &strings.Builder{}}, "test", configOf(t, vars))
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore()
			if k, _ := s.APIKeyByPrefix(context.Background(), key.Prefix); k.Usable(time.Now()) {
				t.Error("a revoked key is usable")
			}
			page, err := s.ListAudit(context.Background(), org["id"], agentscope.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range page.Entries {
				actions = append(actions, string(e.Action)+" by "+e.Actor)
			}
			if got := strings.Join(actions, ", "); got != "key.revoked by operator, key.created by operator, org.created by operator" {
				t.Errorf("audit: %s", got)
			}

			// orgs delete takes the exact name, then deletes the
			// organisation with its keys and audit log; the default one
			// and the others stay.
			if code, _, stderr := runCommand(vars, "orgs", "delete", org["id"], "--confirm", "Acme"); code != 2 || !strings.Contains(stderr, `--confirm must be the organisation's name, "Acme Corp", exactly`) {
				t.Errorf("orgs delete with a wrong name: exit %d, %q", code, stderr)
			}
			gone := decodeJSON[struct {
				ID      string
				Deleted map[string]int64
			}](t, cli(t, vars, "orgs", "delete", org["id"], "--confirm", "Acme Corp", "--json"))
			if gone.ID != org["id"] || gone.Deleted["orgs"] != 1 || gone.Deleted["api_keys"] != 1 || gone.Deleted["audit_log"] != 3 {
				t.Errorf("orgs delete: %+v", gone)
			}
			orgs = decodeJSON[struct{ Orgs []agentscope.Org }](t, cli(t, vars, "orgs", "list", "--json")).Orgs
			if len(orgs) != 1 || orgs[0].ID != agentscope.DefaultOrgID {
				t.Errorf("orgs list after deleting one: %+v", orgs)
			}
			if keys := cli(t, vars, "keys", "list", "--org", agentscope.DefaultOrgID); !strings.Contains(keys, "local") {
				t.Errorf("the default organisation's keys after deleting another: %s", keys)
			}
		})
	}
}

// configOf reads the store settings the commands read.
func configOf(t *testing.T, vars map[string]string) Config {
	t.Helper()
	var cfg Config
	env := &Env{Stderr: &strings.Builder{}, Getenv: func(k string) string { return vars[k] }}
	if _, err := env.parseFlags("test", nil, &cfg, storeFlags, nil); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestOrgsAndKeysCLIErrors: each mistake is named, usage mistakes (exit 2)
// before the database is opened.
func TestOrgsAndKeysCLIErrors(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"orgs"}, 2, "usage: agentscope orgs create|list|delete"},
		{[]string{"orgs", "delete"}, 2, "usage: agentscope orgs delete ORG_ID --confirm NAME"},
		{[]string{"orgs", "delete", "default", "--confirm", "default"}, 2, "the default organisation belongs to the instance token and cannot be deleted"},
		{[]string{"orgs", "delete", "org-nope", "--confirm", "x"}, 1, `organisation "org-nope" not found`},
		{[]string{"orgs", "create"}, 2, "usage: agentscope orgs create NAME"},
		{[]string{"orgs", "create", "a", "b"}, 2, "usage: agentscope orgs create NAME"},
		{[]string{"orgs", "create", " "}, 1, "name: is required"},
		{[]string{"orgs", "list", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"keys", "create", "--name", "ci", "--scopes", "read"}, 2, "--org is required"},
		{[]string{"keys", "create", "--org", "default", "--scopes", "read"}, 2, "--name is required"},
		{[]string{"keys", "create", "--org", "default", "--name", "ci"}, 2, "--scopes is required"},
		{[]string{"keys", "create", "--org", "default", "--name", "ci", "--scopes", "read,write"}, 2, `--scopes: unknown scope "write": want ingest, read, run or admin`},
		{[]string{"keys", "create", "--org", "default", "--name", "ci", "--scopes", "read", "--expires", "tomorrow"}, 2, `--expires "tomorrow" is not an RFC 3339 time`},
		{[]string{"keys", "create", "--org", "default", "--name", "ci", "--scopes", "read", "--expires", past}, 2, "is not in the future"},
		{[]string{"keys", "create", "--org", "org-nope", "--name", "ci", "--scopes", "read"}, 1, `organisation "org-nope" not found`},
		{[]string{"keys", "list"}, 2, "--org is required"},
		{[]string{"keys", "list", "--org", "org-nope"}, 1, `organisation "org-nope" not found`},
		{[]string{"keys", "revoke"}, 2, "usage: agentscope keys revoke ID"},
		{[]string{"keys", "revoke", "key-nope"}, 1, `API key "key-nope" not found`},
		{[]string{"keys", "rotate"}, 2, `unknown subcommand "rotate"`},
	} {
		code, stdout, stderr := runCommand(vars, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("agentscope %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stdout, stderr, c.code, c.want)
		}
	}
}

// TestOrgFlagRefusesUnknownOrg: every command that acts in an organisation
// refuses an --org that does not exist, naming it, instead of reading an
// empty organisation (or making one's starter agents); an organisation
// made with orgs create is taken.
func TestOrgFlagRefusesUnknownOrg(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	want := "--org org-nope: there is no such organisation"
	for _, args := range [][]string{
		{"spl", "--org", "org-nope", "search *"},
		{"agents", "list", "--org", "org-nope"},
		{"budgets", "list", "--org", "org-nope"},
		{"alerts", "list", "--org", "org-nope"},
		{"reports", "list", "--org", "org-nope"},
		{"investigate", "--org", "org-nope", "s-1"},
		{"mcp", "--org", "org-nope"},
	} {
		code, stdout, stderr := runCommand(vars, args...)
		if code != 1 || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("agentscope %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), code, stdout, stderr, want)
		}
	}
	org := decodeJSON[map[string]string](t, cli(t, vars, "orgs", "create", "Acme", "--json"))["id"]
	if out := cli(t, vars, "spl", "--org", org, "search * | stats count"); !strings.Contains(out, "0") {
		t.Errorf("spl in a made organisation: %q", out)
	}
}
