package agentscope_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// accessMatrix is the role and scope matrix as people read it: Y allowed,
// - refused. A key's column is a key holding that scope alone.
const accessMatrix = `
action          viewer member admin owner  ingest read run admin
read            Y      Y      Y     Y      -      Y    -   Y
search          -      Y      Y     Y      -      Y    -   Y
record          -      Y      Y     Y      Y      -    -   Y
run             -      Y      Y     Y      -      -    Y   Y
investigate     -      Y      Y     Y      -      -    Y   Y
agents.manage   -      -      Y     Y      -      -    -   Y
budgets.manage  -      -      Y     Y      -      -    -   Y
alerts.manage   -      -      Y     Y      -      -    -   Y
keys.manage     -      -      Y     Y      -      -    -   Y
members.manage  -      -      Y     Y      -      -    -   Y
audit.read      -      -      Y     Y      -      -    -   Y
owners.manage   -      -      -     Y      -      -    -   -
billing         -      -      -     Y      -      -    -   -
billing.read    -      -      Y     Y      -      -    -   Y
org.delete      -      -      -     Y      -      -    -   -
`

func TestAccessMatrix(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(accessMatrix), "\n")
	header := strings.Fields(lines[0])[1:]
	seen := map[agentscope.Action]bool{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		action := agentscope.Action(f[0])
		seen[action] = true
		for i, col := range header {
			want := f[i+1] == "Y"
			var p agentscope.Principal
			if i < len(agentscope.Roles) {
				p = agentscope.Principal{Kind: agentscope.PrincipalUser, OrgID: "o", UserID: "u", Role: agentscope.Role(col)}
			} else {
				p = agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: "o", KeyID: "k", Scopes: []agentscope.Scope{agentscope.Scope(col)}}
			}
			if got := p.Allows(action); got != want {
				t.Errorf("%s %s: allowed %v, want %v", p.Kind, col, got, want)
			}
			if err := p.Authorize(action); (err == nil) != want || (err != nil && agentscope.ErrorCode(err) != agentscope.EFORBIDDEN) {
				t.Errorf("%s %s %s: Authorize = %v", p.Kind, col, action, err)
			}
		}
	}
	for a := range agentscope.Permissions {
		if !seen[a] {
			t.Errorf("action %s is not in the matrix", a)
		}
	}
	if len(seen) != len(agentscope.Permissions) {
		t.Errorf("the matrix has %d actions, Permissions %d", len(seen), len(agentscope.Permissions))
	}
}

func TestAuthorizeNamesWhatIsMissing(t *testing.T) {
	key := agentscope.Principal{Kind: agentscope.PrincipalKey, Scopes: []agentscope.Scope{agentscope.ScopeIngest, agentscope.ScopeRun}}
	for action, want := range map[agentscope.Action]string{
		agentscope.ActionRead:      "lacks the read scope",
		agentscope.ActionDeleteOrg: "an API key cannot",
		"no.such":                  "unknown action",
	} {
		if err := key.Authorize(action); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("key %s: %v, want %q", action, err, want)
		}
	}
	if !key.Allows(agentscope.ActionRecord) || !key.Allows(agentscope.ActionInvestigate) {
		t.Error("a key with ingest and run is refused what they allow")
	}
	viewer := agentscope.Principal{Kind: agentscope.PrincipalUser, Role: agentscope.RoleViewer}
	if err := viewer.Authorize(agentscope.ActionRun); err == nil || !strings.Contains(err.Error(), "needs the member role") {
		t.Errorf("viewer run: %v", err)
	}
	for _, p := range []agentscope.Principal{{}, {Kind: agentscope.PrincipalUser, Role: "root"}, {Kind: agentscope.PrincipalKey}} {
		if p.Allows(agentscope.ActionRead) {
			t.Errorf("%+v may read", p)
		}
	}
	instance := agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: agentscope.DefaultOrgID, Role: agentscope.RoleOwner}
	for a := range agentscope.Permissions {
		if !instance.Allows(a) {
			t.Errorf("the instance token may not %s", a)
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	p := agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: "org-b", KeyID: "key-1", Scopes: []agentscope.Scope{agentscope.ScopeRead}}
	ctx := agentscope.WithPrincipal(context.Background(), p)
	if org, err := agentscope.OrgFrom(ctx); err != nil || org != "org-b" {
		t.Errorf("OrgFrom = %q, %v", org, err)
	}
	if got, ok := agentscope.PrincipalFrom(ctx); !ok || got.KeyID != "key-1" || got.Actor() != "key:key-1" {
		t.Errorf("PrincipalFrom = %+v, %v", got, ok)
	}
	if _, ok := agentscope.PrincipalFrom(context.Background()); ok {
		t.Error("a bare context has a principal")
	}
}

func TestParseScopes(t *testing.T) {
	for in, want := range map[string]string{
		"ingest":                 "ingest",
		"admin, read,read,run":   "read,run,admin",
		"run,ingest,admin,read":  "ingest,read,run,admin",
		"":                       "at least one scope",
		" , ":                    `unknown scope ""`,
		"read,write":             `unknown scope "write"`,
		"READ":                   `unknown scope "READ"`,
		"ingest,read,run,admin,": `unknown scope ""`,
	} {
		got, err := agentscope.ParseScopes(in)
		if err != nil {
			if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "scopes: ") {
				t.Errorf("ParseScopes(%q): %v, want %q", in, err, want)
			}
			continue
		}
		if agentscope.JoinScopes(got) != want {
			t.Errorf("ParseScopes(%q) = %v, want %s", in, got, want)
		}
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"ingest", "read,run", "admin, read", "", ",", "read,,run", "x", "ingest,read,run,admin"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := agentscope.ParseScopes(s)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Fatalf("ParseScopes(%q): %v is not EINVALID", s, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("ParseScopes(%q) accepted no scope", s)
		}
		back, err := agentscope.ParseScopes(agentscope.JoinScopes(got))
		if err != nil || agentscope.JoinScopes(back) != agentscope.JoinScopes(got) {
			t.Fatalf("ParseScopes(%q) = %v, which reads back as %v, %v", s, got, back, err)
		}
	})
}

// TestOAuthPrincipal: an OAuth token may do what both its scopes and its
// approver's role allow, never more, and nothing only a person may do.
func TestOAuthPrincipal(t *testing.T) {
	for _, c := range []struct {
		role   agentscope.Role
		scopes []agentscope.Scope
		action agentscope.Action
		ok     bool
	}{
		{agentscope.RoleViewer, []agentscope.Scope{agentscope.ScopeRead}, agentscope.ActionRead, true},
		{agentscope.RoleViewer, []agentscope.Scope{agentscope.ScopeRead}, agentscope.ActionSearch, false}, // role
		{agentscope.RoleMember, []agentscope.Scope{agentscope.ScopeRead}, agentscope.ActionSearch, true},
		{agentscope.RoleMember, []agentscope.Scope{agentscope.ScopeRead}, agentscope.ActionRecord, false}, // scope
		{agentscope.RoleMember, []agentscope.Scope{agentscope.ScopeAdmin}, agentscope.ActionManageKeys, false},
		{agentscope.RoleAdmin, []agentscope.Scope{agentscope.ScopeAdmin}, agentscope.ActionManageKeys, true},
		{agentscope.RoleOwner, []agentscope.Scope{agentscope.ScopeAdmin}, agentscope.ActionDeleteOrg, false}, // people only
	} {
		p := agentscope.Principal{Kind: agentscope.PrincipalOAuth, OrgID: "o", GrantID: "g", Role: c.role, Scopes: c.scopes}
		if err := p.Authorize(c.action); (err == nil) != c.ok {
			t.Errorf("%s with %v, %s: %v", c.role, c.scopes, c.action, err)
		}
	}
	if a := (agentscope.Principal{Kind: agentscope.PrincipalOAuth, GrantID: "g1"}).Actor(); a != "oauth:g1" {
		t.Errorf("Actor = %q", a)
	}
}

func TestScopesForRole(t *testing.T) {
	for role, want := range map[agentscope.Role]string{
		agentscope.RoleViewer: "read",
		agentscope.RoleMember: "ingest,read,run",
		agentscope.RoleAdmin:  "ingest,read,run,admin",
		agentscope.RoleOwner:  "ingest,read,run,admin",
		"":                    "",
	} {
		if got := agentscope.JoinScopes(agentscope.ScopesForRole(role)); got != want {
			t.Errorf("ScopesForRole(%s) = %s, want %s", role, got, want)
		}
	}
}
