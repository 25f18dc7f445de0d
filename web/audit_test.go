package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/identity"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// auditFixture serves the API and the UI over a store that keeps agents,
// keys and the audit log, authenticating API keys as serve does.
type auditFixture struct {
	srv        *httptest.Server
	svc        *service.Service
	st         *sqlite.Store
	org, other agentscope.Org
}

func auditSetup(t *testing.T) *auditFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "audit.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &auditFixture{st: st}
	if f.org, err = st.CreateOrg(ctx, "Acme", agentscope.ActorOperator); err != nil {
		t.Fatal(err)
	}
	if f.other, err = st.CreateOrg(ctx, "Globex", agentscope.ActorOperator); err != nil {
		t.Fatal(err)
	}
	auth, err := identity.New(st, identity.Options{InstanceTokens: map[string]string{token: f.org.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	f.svc = service.New(rec, service.Options{Agents: st, Audit: st})
	f.srv = httptest.NewServer(web.New(f.svc, web.Options{Tokens: map[string]string{token: f.org.ID}, Auth: auth, LivePoll: time.Hour}))
	t.Cleanup(func() {
		f.srv.Close()
		rec.Close()
		st.Close()
	})
	return f
}

// key makes an API key of org with scopes and returns its credential.
func (f *auditFixture) key(t *testing.T, org string, scopes ...agentscope.Scope) string {
	t.Helper()
	_, c, err := f.st.CreateAPIKey(context.Background(), agentscope.APIKey{OrgID: org, Name: "k", Scopes: scopes, CreatedBy: agentscope.ActorOperator})
	if err != nil {
		t.Fatal(err)
	}
	return c.Reveal()
}

func (f *auditFixture) get(t *testing.T, bearer, path string, out any) int {
	t.Helper()
	return doAs(t, bearer, http.MethodGet, f.srv.URL+path, "", out)
}

// TestAuditAPI: changes made through the service are in GET /api/v1/audit,
// newest first, page by page, with the caller as actor; reading it is an
// administrator's; another organisation sees none of it; bad paging
// parameters are refused naming the field.
func TestAuditAPI(t *testing.T) {
	f := auditSetup(t)
	owner := agentscope.WithPrincipal(context.Background(), agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: f.org.ID, Role: agentscope.RoleOwner})
	if _, err := f.svc.CreateAgent(owner, "writer", json.RawMessage(`{"model":"gpt-4o-mini","system_prompt":"write"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetBudget(owner, agentscope.AgentCostBudget{Agent: "writer", Period: agentscope.PeriodDay, LimitUSD: 1_000_000_000}); err != nil {
		t.Fatal(err)
	}
	readKey, adminKey, otherKey := f.key(t, f.org.ID, agentscope.ScopeRead), f.key(t, f.org.ID, agentscope.ScopeAdmin), f.key(t, f.other.ID, agentscope.ScopeAdmin)

	var all []agentscope.AuditEntry
	cursor, pages := "", 0
	for {
		var page agentscope.AuditPage
		path := "/api/v1/audit?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if code := f.get(t, adminKey, path, &page); code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		if len(page.Entries) > 2 {
			t.Fatalf("page of %d entries with limit=2", len(page.Entries))
		}
		all, pages = append(all, page.Entries...), pages+1
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	// org.created, the three starter agents (by AgentScope), writer,
	// its budget, and the two keys.
	var actions []string
	for i, e := range all {
		actions = append(actions, string(e.Action)+" "+e.Actor)
		if i > 0 && e.At.After(all[i-1].At) {
			t.Errorf("entry %d (%v) is newer than the one before it (%v)", i, e.At, all[i-1].At)
		}
	}
	got := strings.Join(actions, "\n")
	for _, want := range []string{"budget.set instance", "agent.created instance", "agent.created system", "key.created operator", "org.created operator"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q:\n%s", want, got)
		}
	}
	if all[0].Action != agentscope.AuditKeyCreated || all[len(all)-1].Action != agentscope.AuditOrgCreated || pages < 4 {
		t.Errorf("%d pages, want newest first:\n%s", pages, got)
	}

	// The instance token is the owner; a read-only key is not an admin.
	if code := f.get(t, token, "/api/v1/audit", nil); code != http.StatusOK {
		t.Errorf("instance token: %d", code)
	}
	var e apiError
	if code := f.get(t, readKey, "/api/v1/audit", &e); code != http.StatusForbidden || !strings.Contains(e.Error.Message, "admin") {
		t.Errorf("read-scoped key: %d %+v", code, e)
	}
	var theirs agentscope.AuditPage
	if code := f.get(t, otherKey, "/api/v1/audit?limit=500", &theirs); code != http.StatusOK {
		t.Fatalf("other org: %d", code)
	}
	for _, x := range theirs.Entries {
		if x.Target == "writer" || x.Target == f.org.ID {
			t.Errorf("another organisation sees %+v", x)
		}
	}
	for _, bad := range []string{"limit=0", "limit=x", "limit=501", "cursor=nope"} {
		var e apiError
		code := f.get(t, adminKey, "/api/v1/audit?"+bad, &e)
		field, _, _ := strings.Cut(bad, "=")
		if code != http.StatusBadRequest || e.Error.Field != field {
			t.Errorf("?%s: %d %+v, want 400 naming %s", bad, code, e, field)
		}
	}
}

// TestAuditPage: the signed-in owner sees the log, newest first, with a
// link to older entries.
func TestAuditPage(t *testing.T) {
	f := auditSetup(t)
	ctx := context.Background()
	for range 60 {
		if _, err := f.st.AppendAudit(ctx, agentscope.AuditEntry{OrgID: f.org.ID, Actor: "key:k-9", Action: agentscope.AuditAlertRuleUpdated, Target: "rule-<b>", Detail: json.RawMessage(`{"enabled":false}`)}); err != nil {
			t.Fatal(err)
		}
	}
	c := (&uiFixture{srv: f.srv}).signIn(t)
	code, body := get(t, c, f.srv.URL+"/audit")
	if code != http.StatusOK {
		t.Fatalf("GET /audit: %d %s", code, body)
	}
	mustContain(t, "audit page", body, "Audit log", "alert_rule.updated", "key:k-9", "rule-&lt;b&gt;", `{&#34;enabled&#34;:false}`, `rel="next"`, `aria-current="page"`)
	if strings.Contains(body, "rule-<b>") {
		t.Error("the target is not escaped")
	}
	if strings.Contains(body, "org.created") {
		t.Error("the first page holds the oldest entry: not newest first, or not paged")
	}
	i := strings.Index(body, `rel="next" href="`)
	next := body[i+len(`rel="next" href="`):]
	next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
	code, body = get(t, c, f.srv.URL+next)
	if code != http.StatusOK || !strings.Contains(body, "org.created") {
		t.Errorf("older page %s: %d, lacks org.created", next, code)
	}
}
