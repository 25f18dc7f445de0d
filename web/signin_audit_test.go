package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/signin"
)

// TestSignInsAreAudited: a person's sign-in is in the audit log of the
// organisation it opens, naming them and how they signed in; so is a
// sign-in with the instance token, in its organisation.
func TestSignInsAreAudited(t *testing.T) {
	f := peopleSetup(t, signin.Options{})
	ctx := context.Background()
	f.oidc.QueueUser(&mockoidc.MockUser{Subject: "ada", Email: "ada@example.com", EmailVerified: true, PreferredUsername: "Ada"})
	if status, _ := get(t, person(t), f.srv.URL+"/auth/oidc/start?next=%2F"); status != http.StatusOK {
		t.Fatalf("OIDC sign-in: %d", status)
	}
	u, err := f.store.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	orgs, _ := f.store.ListUserOrgs(ctx, u.ID)
	if len(orgs) != 1 {
		t.Fatalf("ada's organisations: %+v", orgs)
	}
	signIn := func(org string) []agentscope.AuditEntry {
		t.Helper()
		page, err := f.store.ListAudit(ctx, org, agentscope.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []agentscope.AuditEntry
		for _, e := range page.Entries {
			if e.Action == agentscope.AuditSignIn {
				out = append(out, e)
			}
		}
		return out
	}
	method := func(e agentscope.AuditEntry) string {
		var d struct{ Method string }
		_ = json.Unmarshal(e.Detail, &d)
		return d.Method
	}
	if got := signIn(orgs[0].ID); len(got) != 1 || got[0].Actor != "user:"+u.ID || method(got[0]) != "oidc" {
		t.Errorf("ada's organisation's sign-ins: %+v", got)
	}
	if got := signIn(agentscope.DefaultOrgID); len(got) != 0 {
		t.Errorf("the default organisation records ada's sign-in: %+v", got)
	}
	resp, err := person(t).PostForm(f.srv.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := signIn(agentscope.DefaultOrgID); len(got) != 1 || got[0].Actor != "instance" || method(got[0]) != "token" {
		t.Errorf("the instance token's sign-in: %+v", got)
	}
}
