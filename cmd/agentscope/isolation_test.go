package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
)

// The tenant isolation suite (issue 17, "Tests that must exist"): two
// organisations with data of every kind; every HTTP route serve has (walked
// from its router), every MCP tool and resource template (from tools/list
// and resources/templates/list), the live websockets and the embedded SPL
// engine are called with organisation A's credentials against B's ids and
// data. It fails on any byte of B's in any answer (B's data carries the
// marker below; B's ids and the ids the server gave B's objects are looked
// for too, wherever A did not send them itself), and requires B's objects
// to answer exactly as missing ones do (the same status and, for the JSON
// API and MCP, the same answer but for the id), never 403. A route or tool
// added later without a case here fails the suite.

// bMark is planted in the content of every kind of B's data.
const bMark = "ZQXBRAVOSECRET"

// B's ids, chosen by B; missing twins of the same shape name nothing.
const (
	bSession = "bravo-s1"     // a self-reported session with events
	bManaged = "bravo-m1"     // a managed run
	bAgent   = "bravo-agent"  // a managed agent with a budget
	bKeyName = "bravo-key"    // an API key
	noSess   = "nosuch-s1"    // missing twin of bSession
	noRun    = "nosuch-m1"    // missing twin of bManaged
	noAgent  = "nosuch-agent" // missing twin of bAgent
)

// twinID is a missing object's id of the same shape as the server-made id.
func twinID(id string) string {
	prefix, _, _ := strings.Cut(id, "-")
	return prefix + "-00000000-0000-7000-8000-000000000000"
}

// tenantB is what B planted and what the server named it.
type tenantB struct {
	org, key string
	ruleID   string
	// userID is B's member, invitation B's pending invitation, grant the
	// OAuth grant B's member gave an MCP host.
	userID, invitation, grant string
	// keyID is B's API key's id.
	keyID string
	// secrets are B's bytes: none may appear in an answer to A unless A's
	// request carried it.
	secrets []string
}

// leak returns the first of B's secrets in answer that request did not
// carry itself, or "".
func (b *tenantB) leak(request, answer string) string {
	for _, s := range b.secrets {
		if strings.Contains(answer, s) && !strings.Contains(request, s) {
			return s
		}
	}
	return ""
}

func TestTenantIsolation(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			orgB := decodeJSON[map[string]string](t, cli(t, vars, "orgs", "create", "Bravo "+bMark, "--json"))["id"]
			keyB := decodeJSON[createdKey](t, cli(t, vars, "keys", "create", "--org", orgB, "--name", bKeyName, "--scopes", "ingest,read,run,admin", "--json"))
			keyA := newKey(t, vars, "ingest,read,run,admin")
			var routes []string
			base, stopServe := serveWithRoutes(t, envOf(vars), &routes)
			var once sync.Once
			stop := func() { once.Do(stopServe) }
			defer stop()

			b := plantB(t, base, orgB, keyB.Key)
			b.secrets = append(b.secrets, keyB.ID, keyB.Prefix, keyB.Key)
			b.keyID = keyB.ID
			store := openStoreOf(t, vars)
			b.plantPeople(t, store)
			as := &asA{t: t, base: base, key: keyA, b: b}

			as.checkRoutes(routes)
			as.checkMetrics()
			as.checkMCP()
			as.checkLive()
			as.checkSPL()
			b.intact(t, base)
			// The Splunk search backends, with serve configured for them.
			stop()
			checkSplunkBackends(t, vars, store, as)
		})
	}
}

// serveWithRoutes is serveInProcess that also hands back serve's routes.
func serveWithRoutes(t *testing.T, env []string, routes *[]string) (string, func()) {
	t.Helper()
	return serveInProcessWith(t, env, func(e *Env) { e.Routes = func(p []string) { *routes = p } })
}

// plantB fills organisation B with data of every kind through the API, as
// B's own key: a self-reported session with events, a managed agent, its
// budget and a managed run, an alert rule, an investigation and its report,
// its key (made by the caller) and the audit entries all of this writes.
func plantB(t *testing.T, base, org, key string) *tenantB {
	t.Helper()
	b := &tenantB{org: org, key: key, secrets: []string{bMark, org, bSession, bManaged, bAgent, bKeyName}}
	must := func(method, path, body string, want int) string {
		t.Helper()
		code, _, out := call(t, method, base+path, key, body)
		if code != want {
			t.Fatalf("B: %s %s: %d %s", method, path, code, out)
		}
		return out
	}
	must("POST", "/api/v1/runs", `{"agent":"bravo-ext","session_id":"`+bSession+`","input":{"note":"`+bMark+`"},"metadata":{"m":"`+bMark+`"}}`, http.StatusCreated)
	calls := ""
	for i := range 4 { // a loop, for the detectors to find
		calls += `,{"session_id":"` + bSession + `","type":"ToolCalled","tool":"lookup_` + bMark + `","call_id":"c` + string(rune('0'+i)) + `","arguments":{"q":"` + bMark + `"}}`
	}
	must("POST", "/api/v1/events", `[{"session_id":"`+bSession+`","type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":5,"tokens_in":1,"tokens_out":1}`+calls+`]`, http.StatusOK)
	must("POST", "/api/v1/runs/"+bSession+"/end", `{"status":"failed","error":"`+bMark+`"}`, http.StatusOK)
	must("POST", "/api/v1/agents", `{"name":"`+bAgent+`","definition":{"system_prompt":"`+bMark+` prompt"}}`, http.StatusCreated)
	must("PUT", "/api/v1/budgets", `{"agent":"`+bAgent+`","period":"day","limit_usd":7.77}`, http.StatusOK)
	var rule struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(must("POST", "/api/v1/alerts/rules", `{"name":"rule `+bMark+`","kinds":["*"],"url":"https://hooks.example.com/`+bMark+`"}`, http.StatusCreated)), &rule); err != nil || rule.ID == "" {
		t.Fatalf("B's rule: %+v %v", rule, err)
	}
	b.ruleID = rule.ID
	b.secrets = append(b.secrets, rule.ID, rule.Secret)
	must("POST", "/api/v1/runs", `{"agent":"`+bAgent+`","session_id":"`+bManaged+`","input":"`+bMark+`"}`, http.StatusCreated)
	var inv struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal([]byte(must("POST", "/api/v1/sessions/"+bSession+"/investigate", "", http.StatusAccepted)), &inv); err != nil || inv.SessionID == "" {
		t.Fatalf("B's investigation: %+v %v", inv, err)
	}
	b.secrets = append(b.secrets, inv.SessionID)
	// Without a model the investigation fails closed and still stores its
	// report with the detectors' findings.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, _ := call(t, "GET", base+"/api/v1/reports/"+bSession, key, "")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's report never appeared (last %d)", code)
		}
		time.Sleep(20 * time.Millisecond) // polling the worker's progress
	}
	var audit agentscope.AuditPage
	if err := json.Unmarshal([]byte(must("GET", "/api/v1/audit?limit=500", "", http.StatusOK)), &audit); err != nil || len(audit.Entries) < 5 {
		t.Fatalf("B's audit log: %d entries, %v", len(audit.Entries), err)
	}
	for _, e := range audit.Entries {
		b.secrets = append(b.secrets, e.ID)
	}
	return b
}

// plantPeople gives B a member and a pending invitation, through the
// store (as sign-in and an emailed invitation would).
func (b *tenantB) plantPeople(t *testing.T, store isolationStore) {
	t.Helper()
	ctx := context.Background()
	u, err := store.CreateUser(ctx, agentscope.User{Email: "bravo-" + strings.ToLower(bMark) + "@example.com", Name: "Bravo " + bMark})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddMember(ctx, b.org, u.ID, agentscope.RoleAdmin, agentscope.ActorOperator); err != nil {
		t.Fatal(err)
	}
	inv, _, err := store.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: b.org, Role: agentscope.RoleMember,
		Email: "invitee-" + strings.ToLower(bMark) + "@example.com", ExpiresAt: time.Now().Add(time.Hour), CreatedBy: "user:" + u.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.userID, b.invitation = u.ID, inv.ID
	b.secrets = append(b.secrets, u.ID, u.Email, inv.ID, inv.Email, strings.ToLower(bMark))
	// An MCP host B's member authorised (what the consent page and the
	// token endpoint make).
	client, err := store.CreateOAuthClient(ctx, agentscope.OAuthClient{Name: "bravo host " + bMark, RedirectURIs: []string{"http://127.0.0.1:9/bravo"}})
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := store.CreateOAuthCode(ctx, agentscope.OAuthCode{Grant: agentscope.OAuthGrant{OrgID: b.org, ClientID: client.ID, Actor: "user:" + u.ID, UserID: u.ID,
		Role: agentscope.RoleAdmin, Scopes: []agentscope.Scope{agentscope.ScopeRead}, Resource: "http://127.0.0.1:9/mcp"},
		RedirectURI: "http://127.0.0.1:9/bravo", CodeChallenge: strings.Repeat("A", 43), ExpiresAt: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := store.ExchangeOAuthCode(ctx, code.Reveal(), time.Minute, time.Hour, func(agentscope.OAuthCode) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	b.grant = tokens.Grant.ID
	b.secrets = append(b.secrets, client.ID, tokens.Grant.ID, tokens.Access.Reveal(), tokens.Refresh.Reveal())
}

// intact checks, as B, that A's attempts changed nothing of B's.
func (b *tenantB) intact(t *testing.T, base string) {
	t.Helper()
	for _, path := range []string{"/api/v1/runs/" + bSession, "/api/v1/agents/" + bAgent, "/api/v1/alerts/rules/" + b.ruleID, "/api/v1/reports/" + bSession} {
		if code, _, body := call(t, "GET", base+path, b.key, ""); code != http.StatusOK || !strings.Contains(body, bMark) && !strings.Contains(body, b.ruleID) {
			t.Errorf("B's %s after A's attempts: %d %s", path, code, body)
		}
	}
	var run agentscope.Run
	_, _, body := call(t, "GET", base+"/api/v1/runs/"+bSession, b.key, "")
	if json.Unmarshal([]byte(body), &run) != nil || run.Status != agentscope.StatusFailed {
		t.Errorf("B's run changed: %s", body)
	}
	var budgets struct{ Budgets []agentscope.BudgetStatus }
	_, _, body = call(t, "GET", base+"/api/v1/budgets?agent="+bAgent, b.key, "")
	if json.Unmarshal([]byte(body), &budgets) != nil || len(budgets.Budgets) != 1 || budgets.Budgets[0].LimitUSD.String() != "7.77" {
		t.Errorf("B's budgets changed: %s", body)
	}
}

// asA makes A's calls and checks their answers.
type asA struct {
	t         *testing.T
	base, key string
	b         *tenantB
}

// check fails on B's bytes in answer.
func (a *asA) check(what, request, answer string) {
	a.t.Helper()
	if s := a.b.leak(request, answer); s != "" {
		a.t.Errorf("%s: the answer to A holds B's %q:\n%.2000s", what, s, answer)
	}
}

// routeCase is what A does with one route: the request aimed at B (path
// and body, with {b} for B's id of the route and {rule} for B's rule),
// and whether B's object must answer as a missing one (twin: the same
// request naming a missing object).
type routeCase struct {
	path, body string
	// missing: B's id answers exactly as a missing one does (404).
	missing bool
	// ui: a web page or fragment, with A's signed-in browser.
	ui bool
	// skip says why the route is not called (it is still counted).
	skip string
	// write: the call may change A's own data; run after the reads.
	write bool
	// status is what a missing object answers, when not 404 (a batch of
	// events answers 400 with each event's not_found).
	status int
}

// routeCases has a case for every route serve has: the suite fails on a
// route without one.
var routeCases = map[string]routeCase{
	// JSON API: B's objects by id.
	"GET /api/v1/runs/{session_id}":                  {path: "/api/v1/runs/{s}", missing: true},
	"GET /api/v1/sessions/{session_id}/events":       {path: "/api/v1/sessions/{s}/events", missing: true},
	"GET /api/v1/sessions/{session_id}/otlp":         {path: "/api/v1/sessions/{s}/otlp", missing: true},
	"GET /api/v1/sessions/{session_id}/live":         {path: "/api/v1/sessions/{s}/live", missing: true},
	"GET /api/v1/sessions/{session_id}/tokens":       {path: "/api/v1/sessions/{m}/tokens", missing: true},
	"GET /api/v1/sessions/{session_id}/findings":     {path: "/api/v1/sessions/{s}/findings", missing: true},
	"GET /api/v1/reports/{session_id}":               {path: "/api/v1/reports/{s}", missing: true},
	"GET /api/v1/agents/{name}":                      {path: "/api/v1/agents/{a}", missing: true},
	"GET /api/v1/alerts/rules/{id}":                  {path: "/api/v1/alerts/rules/{rule}", missing: true},
	"POST /api/v1/runs/{session_id}/end":             {path: "/api/v1/runs/{s}/end", body: `{"status":"completed"}`, missing: true, write: true},
	"POST /api/v1/runs/{session_id}/cancel":          {path: "/api/v1/runs/{m}/cancel", missing: true, write: true},
	"POST /api/v1/sessions/{session_id}/investigate": {path: "/api/v1/sessions/{s}/investigate", missing: true, write: true},
	"PUT /api/v1/agents/{name}":                      {path: "/api/v1/agents/{a}", body: `{"definition":{"system_prompt":"alpha"}}`, missing: true, write: true},
	"PUT /api/v1/budgets":                            {path: "/api/v1/budgets", body: `{"agent":"{a}","period":"day","limit_usd":1}`, missing: true, write: true},
	"PUT /api/v1/alerts/rules/{id}":                  {path: "/api/v1/alerts/rules/{rule}", body: `{"name":"alpha","kinds":["*"]}`, missing: true, write: true},
	"DELETE /api/v1/alerts/rules/{id}":               {path: "/api/v1/alerts/rules/{rule}", missing: true, write: true},
	"DELETE /api/v1/keys/{id}":                       {path: "/api/v1/keys/{key}", missing: true, write: true},
	"PATCH /api/v1/members/{user_id}":                {path: "/api/v1/members/{u}", body: `{"role":"viewer"}`, missing: true, write: true},
	"DELETE /api/v1/members/{user_id}":               {path: "/api/v1/members/{u}", missing: true, write: true},
	"DELETE /api/v1/invitations/{id}":                {path: "/api/v1/invitations/{inv}", missing: true, write: true},
	"DELETE /api/v1/oauth/grants/{id}":               {path: "/api/v1/oauth/grants/{grant}", missing: true, write: true},
	"POST /api/v1/events":                            {path: "/api/v1/events", body: `[{"event_id":"alpha-e1","session_id":"{s}","type":"ToolCalled","tool":"alpha","call_id":"c1"}]`, missing: true, status: http.StatusBadRequest, write: true},
	// OTLP ingest: A records a session of its own; B's data is untouched
	// (checked after the writes). A conversation id equal to another
	// organisation's session id is web's TestOTLPTraces: it is A's own
	// session then, which the suite here would read as B's id leaking.
	"POST /v1/traces": {path: "/v1/traces", write: true, body: `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","name":"chat","startTimeUnixNano":"1764838800000000000","endTimeUnixNano":"1764838801000000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.system","value":{"stringValue":"openai"}},{"key":"gen_ai.request.model","value":{"stringValue":"alpha-model"}},{"key":"gen_ai.conversation.id","value":{"stringValue":"alpha-otlp-1"}},{"key":"gen_ai.agent.name","value":{"stringValue":"alpha-otlp"}}]}]}]}]}`},
	// The LLM gateway: A's calls record into A's own sessions (without
	// an upstream configured here, they answer 503 in the provider's
	// shape); a session header naming another organisation's session is
	// gateway's TestSessionHeaderStaysInItsOrganisation.
	"POST /v1/chat/completions": {path: "/v1/chat/completions", write: true, body: `{"model":"alpha-model","messages":[{"role":"user","content":"alpha"}]}`},
	"POST /v1/responses":        {path: "/v1/responses", write: true, body: `{"model":"alpha-model","input":"alpha"}`},
	"POST /v1/embeddings":       {path: "/v1/embeddings", write: true, body: `{"model":"alpha-model","input":"alpha"}`},
	"POST /v1/messages":         {path: "/v1/messages", write: true, body: `{"model":"alpha-model","max_tokens":5,"messages":[{"role":"user","content":"alpha"}]}`},
	// JSON API: A's lists, searches and creations (none may show B).
	"GET /api/v1/runs":          {path: "/api/v1/runs?limit=200"},
	"GET /api/v1/reports":       {path: "/api/v1/reports"},
	"GET /api/v1/agents":        {path: "/api/v1/agents"},
	"GET /api/v1/budgets":       {path: "/api/v1/budgets?agent={a}"},
	"GET /api/v1/alerts/rules":  {path: "/api/v1/alerts/rules"},
	"GET /api/v1/audit":         {path: "/api/v1/audit?limit=500"},
	"GET /api/v1/billing/usage": {path: "/api/v1/billing/usage"},
	"GET /api/v1/keys":          {path: "/api/v1/keys"},
	"POST /api/v1/keys":         {path: "/api/v1/keys", body: `{"name":"alpha-made","scopes":["read"]}`, write: true},
	"GET /api/v1/members":       {path: "/api/v1/members"},
	"GET /api/v1/invitations":   {path: "/api/v1/invitations"},
	"GET /api/v1/oauth/grants":  {path: "/api/v1/oauth/grants"},
	"POST /api/v1/invitations":  {path: "/api/v1/invitations", body: `{"email":"alpha-invitee@example.com","role":"member"}`, write: true},
	"GET /api/v1/insights":      {path: "/api/v1/insights"},
	"GET /api/v1/splunk/health": {path: "/api/v1/splunk/health"},
	"POST /api/v1/spl":          {path: "/api/v1/spl", body: `{"query":"search ` + bMark + ` OR session_id=` + bSession + ` | head 50"}`},
	"POST /api/v1/runs":         {path: "/api/v1/runs", body: `{"agent":"alpha-new","session_id":"alpha-new-1"}`, write: true},
	"POST /api/v1/agents":       {path: "/api/v1/agents", body: `{"name":"alpha-made","definition":{"system_prompt":"alpha"}}`, write: true},
	"POST /api/v1/alerts/rules": {path: "/api/v1/alerts/rules", body: `{"name":"alpha","kinds":["*"],"url":"https://hooks.example.com/alpha"}`, write: true},
	// Billing through Stripe (off here: each answers 503, billing is not
	// configured). Checkout and the portal name no object: the
	// organisation is the caller's; billing/stripebilling's tests show an
	// organisation's customer is made and used only for itself. The
	// webhook takes no bearer credential: A's call, aimed at B's
	// customer, carries no Stripe signature and changes nothing of B's.
	"POST /api/v1/billing/checkout": {path: "/api/v1/billing/checkout", body: `{"plan":"team"}`, write: true},
	"POST /api/v1/billing/portal":   {path: "/api/v1/billing/portal", write: true},
	"POST /api/v1/billing/webhook": {path: "/api/v1/billing/webhook", write: true,
		body: `{"id":"evt_alpha","type":"customer.subscription.deleted","created":1,"data":{"object":{"id":"sub_b","customer":"cus_b","status":"canceled"}}}`},
	"GET /billing":           {path: "/billing", ui: true},
	"POST /billing/checkout": {path: "/billing/checkout", body: "plan=team", ui: true, write: true},
	"POST /billing/portal":   {path: "/billing/portal", ui: true, write: true},
	// Public: no organisation, nothing of B's.
	"GET /healthz":    {path: "/healthz"},
	"GET /metrics":    {skip: "the instance token's only; checkMetrics scrapes it for B's data and refuses A's key"},
	"GET /readyz":     {path: "/readyz"},
	"GET /ui/static/": {path: "/ui/static/app.css"},
	"GET /login":      {path: "/login"},
	"POST /login":     {skip: "signs in (the suite's browser does)"},
	"POST /logout":    {skip: "signs out"},
	"/mcp":            {skip: "checked tool by tool below"},
	"GET /.well-known/oauth-protected-resource":         {path: "/.well-known/oauth-protected-resource"},
	"GET /.well-known/oauth-protected-resource/mcp":     {path: "/.well-known/oauth-protected-resource/mcp"},
	"GET /.well-known/oauth-authorization-server":       {path: "/.well-known/oauth-authorization-server"},
	"OPTIONS /.well-known/oauth-protected-resource":     {path: "/.well-known/oauth-protected-resource"},
	"OPTIONS /.well-known/oauth-protected-resource/mcp": {path: "/.well-known/oauth-protected-resource/mcp"},
	"OPTIONS /.well-known/oauth-authorization-server":   {path: "/.well-known/oauth-authorization-server"},
	"OPTIONS /oauth/register":                           {path: "/oauth/register"},
	"OPTIONS /oauth/token":                              {path: "/oauth/token"},
	"OPTIONS /oauth/revoke":                             {path: "/oauth/revoke"},
	"POST /oauth/register":                              {path: "/oauth/register", body: `{"redirect_uris":["http://127.0.0.1:9/cb"],"client_name":"alpha"}`, write: true},
	"POST /oauth/token":                                 {path: "/oauth/token", body: `grant_type=refresh_token&refresh_token=nope`},
	"POST /oauth/revoke":                                {path: "/oauth/revoke", body: `token=nope`},
	"GET /oauth/authorize":                              {path: "/oauth/authorize", ui: true},
	"POST /oauth/authorize":                             {skip: "consents for a client the suite has not registered"},
	// The web UI, as A's signed-in owner.
	"GET /{$}":                            {path: "/", ui: true},
	"GET /agents":                         {path: "/agents", ui: true},
	"GET /sessions":                       {path: "/sessions", ui: true},
	"GET /search":                         {path: "/search?q=" + url.QueryEscape("search "+bMark), ui: true},
	"GET /reports":                        {path: "/reports", ui: true},
	"GET /audit":                          {path: "/audit", ui: true},
	"GET /keys":                           {path: "/keys", ui: true},
	"POST /keys":                          {path: "/keys", body: "name=alpha-page&scopes=read", ui: true, write: true},
	"POST /keys/{id}/revoke":              {path: "/keys/{key}/revoke", ui: true, missing: true, write: true},
	"GET /sessions/{session_id}":          {path: "/sessions/{s}", ui: true, missing: true},
	"GET /reports/{session_id}":           {path: "/reports/{s}", ui: true, missing: true},
	"GET /ui/fragments/runs/{session_id}": {path: "/ui/fragments/runs/{s}", ui: true, missing: true},
	"GET /ui/fragments/sessions/{session_id}/timeline": {path: "/ui/fragments/sessions/{s}/timeline", ui: true, missing: true},
	"GET /ui/fragments/reports/{session_id}":           {path: "/ui/fragments/reports/{s}", ui: true, missing: true},
	"GET /ui/fragments/investigations/{session_id}":    {path: "/ui/fragments/investigations/{s}", ui: true, missing: true},
	"GET /ui/api/sessions/{session_id}/events":         {path: "/ui/api/sessions/{s}/events", ui: true, missing: true},
	"GET /ui/live/sessions/{session_id}":               {path: "/ui/live/sessions/{s}", ui: true, missing: true},
	"GET /ui/live/org":                                 {skip: "checked as a websocket in checkLive"},
	"GET /connections":                                 {path: "/connections", ui: true},
	"POST /connections/{id}/revoke":                    {path: "/connections/{grant}/revoke", ui: true, missing: true, write: true},
	"GET /members":                                     {path: "/members", ui: true},
	"POST /members/invite":                             {path: "/members/invite", body: "email=alpha-form@example.com&role=member", ui: true, write: true},
	"POST /members/{user_id}/role":                     {path: "/members/{u}/role", body: "role=viewer", ui: true, missing: true, write: true},
	"POST /members/{user_id}/remove":                   {path: "/members/{u}/remove", ui: true, missing: true, write: true},
	"POST /invitations/{id}/revoke":                    {path: "/invitations/{inv}/revoke", ui: true, missing: true, write: true},
	"POST /org/delete":                                 {path: "/org/delete", ui: true, write: true},
	"POST /orgs/switch":                                {path: "/orgs/switch", body: "org_id={o}", ui: true, missing: true, write: true},
	// Sign-in by email and invitation links: public, a bad link.
	"POST /auth/email":                        {path: "/auth/email", body: "email=alpha-signin@example.com", ui: true},
	"GET /auth/email/confirm":                 {path: "/auth/email/confirm?token=nope", ui: true},
	"POST /auth/email/confirm":                {path: "/auth/email/confirm", body: "token=nope", ui: true},
	"GET /invitations/accept":                 {path: "/invitations/accept?token=nope", ui: true},
	"POST /invitations/accept":                {path: "/invitations/accept", body: "token=nope", ui: true},
	"POST /agents/{name}/runs":                {path: "/agents/{a}/runs", body: "input=alpha", ui: true, missing: true, write: true},
	"POST /agents/{name}/investigate":         {path: "/agents/{a}/investigate", ui: true, missing: true, write: true},
	"POST /sessions/{session_id}/investigate": {path: "/sessions/{s}/investigate", ui: true, missing: true, write: true},
}

// ids maps each placeholder to B's id and its missing twin.
func (a *asA) ids() map[string][2]string {
	b := a.b
	return map[string][2]string{"{s}": {bSession, noSess}, "{m}": {bManaged, noRun}, "{a}": {bAgent, noAgent},
		"{rule}": {b.ruleID, twinID(b.ruleID)}, "{u}": {b.userID, twinID(b.userID)}, "{inv}": {b.invitation, twinID(b.invitation)},
		"{o}": {b.org, twinID(b.org)}, "{grant}": {b.grant, twinID(b.grant)},
		"{key}": {b.keyID, twinID(b.keyID)}}
}

// target fills a case's placeholders with B's ids (twin: the missing ones).
func (a *asA) target(s string, twin bool) string {
	for k, v := range a.ids() {
		id := v[0]
		if twin {
			id = v[1]
		}
		s = strings.ReplaceAll(s, k, id)
	}
	return s
}

// checkMetrics: /metrics describes the whole instance, so an
// organisation's key is refused, and what the instance token reads names
// no organisation, session, agent or recorded text of B's.
func (a *asA) checkMetrics() {
	if code, _, answer := call(a.t, "GET", a.base+"/metrics", a.key, ""); code != http.StatusForbidden {
		a.t.Errorf("GET /metrics with A's key: %d %s, want 403", code, answer)
	}
	code, _, answer := call(a.t, "GET", a.base+"/metrics", "test-token-0123456789", "")
	if code != http.StatusOK {
		a.t.Fatalf("GET /metrics with the instance token: %d %s", code, answer)
	}
	a.check("GET /metrics", "GET /metrics", answer)
}

// untarget replaces the missing twins' ids in an answer with B's, so the
// two answers compare equal when B's object answers as a missing one.
func (a *asA) untarget(s string) string {
	var pairs []string
	for _, v := range a.ids() {
		pairs = append(pairs, v[1], v[0])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

func (a *asA) checkRoutes(routes []string) {
	t := a.t
	if len(routes) < 40 {
		t.Fatalf("serve named %d routes: %v", len(routes), routes)
	}
	for p := range routeCases {
		if !slices.Contains(routes, p) {
			t.Errorf("the isolation suite has a case for %q, which serve does not route: remove it", p)
		}
	}
	browser := a.browser()
	csrf := a.csrf(browser)
	var writes []string
	for _, p := range routes {
		rc, ok := routeCases[p]
		switch {
		case !ok:
			t.Errorf("route %q has no case in the tenant isolation suite: add one to routeCases (cmd/agentscope/isolation_test.go) that calls it with organisation A's credentials against B's data", p)
		case rc.skip != "":
		case rc.write:
			writes = append(writes, p)
		default:
			a.route(p, rc, browser, csrf)
		}
	}
	for _, p := range writes {
		a.route(p, routeCases[p], browser, csrf)
	}
}

// route calls one route as A, aimed at B, and at a missing twin.
func (a *asA) route(pattern string, rc routeCase, browser *http.Client, csrf string) {
	t := a.t
	method, _, hasMethod := strings.Cut(pattern, " ")
	if !hasMethod {
		method = "GET"
	}
	do := func(twin bool) (int, string, string) {
		path, body := a.target(rc.path, twin), a.target(rc.body, twin)
		if rc.ui && method == "POST" {
			body += "&csrf=" + url.QueryEscape(csrf)
		}
		req, _ := http.NewRequest(method, a.base+path, strings.NewReader(body))
		client := http.DefaultClient
		if rc.ui {
			client = browser
			req.Header.Set("Origin", a.base)
			if method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req.Header.Set("Authorization", "Bearer "+a.key)
			if strings.HasPrefix(path, "/oauth/") {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if strings.HasPrefix(path, "/oauth/register") || strings.HasPrefix(path, "/v1/") {
				req.Header.Set("Content-Type", "application/json")
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, method + " " + path + "\n" + body, string(out)
	}
	code, request, answer := do(false)
	a.check(pattern, request, answer)
	if code == http.StatusForbidden {
		t.Errorf("%s: B's object answered 403 to A, which tells A it exists: %s", pattern, answer)
	}
	if !rc.missing {
		// 503: what needs email answers so without AGENTSCOPE_SMTP_URL.
		if code >= 500 && code != http.StatusServiceUnavailable {
			t.Errorf("%s: %d %s", pattern, code, answer)
		}
		return
	}
	twinCode, _, twinAnswer := do(true)
	want := cmp.Or(rc.status, http.StatusNotFound)
	if code != twinCode || code != want && !rc.ui {
		t.Errorf("%s: B's object answers %d, a missing one %d (want both %d):\n%s\n%s", pattern, code, twinCode, want, answer, twinAnswer)
	}
	if !rc.ui && a.untarget(twinAnswer) != answer {
		t.Errorf("%s: B's object answers unlike a missing one:\n B: %s\n missing: %s", pattern, answer, twinAnswer)
	}
}

// browser signs in to the web UI as A's owner (the instance token).
func (a *asA) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", a.base+"/login", strings.NewReader(url.Values{"token": {"test-token-0123456789"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.base)
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("sign in: %d", resp.StatusCode)
	}
	return c
}

// csrf reads the signed-in page's CSRF token.
func (a *asA) csrf(c *http.Client) string {
	resp, err := c.Get(a.base + "/agents")
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		m = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindSubmatch(page)
	}
	if m == nil {
		a.t.Fatalf("no CSRF token on /agents")
	}
	return string(m[1])
}

// toolCase aims one MCP tool at B; missing: B's object answers as a
// missing one (the same isError text but for the id).
type isolationTool struct {
	args    map[string]any
	missing bool
}

// isolationTools has a case for every tool tools/list shows.
var isolationTools = map[string]isolationTool{
	"get_run":               {map[string]any{"session_id": "{s}"}, true},
	"replay_session":        {map[string]any{"session_id": "{s}"}, true},
	"session_findings":      {map[string]any{"session_id": "{s}"}, true},
	"get_report":            {map[string]any{"session_id": "{s}"}, true},
	"update_agent":          {map[string]any{"name": "{a}", "definition": map[string]any{"system_prompt": "alpha"}}, true},
	"set_budget":            {map[string]any{"agent": "{a}", "period": "day", "limit_usd": 1}, true},
	"update_alert_rule":     {map[string]any{"id": "{rule}", "name": "alpha", "kinds": []string{"*"}, "url": ""}, true},
	"delete_alert_rule":     {map[string]any{"id": "{rule}"}, true},
	"end_run":               {map[string]any{"session_id": "{s}", "status": "completed"}, true},
	"cancel_run":            {map[string]any{"session_id": "{m}"}, true},
	"investigate":           {map[string]any{"session_id": "{s}"}, true},
	"record_event":          {map[string]any{"session_id": "{s}", "type": "ToolCalled", "tool": "alpha", "call_id": "c1"}, true},
	"get_budgets":           {map[string]any{"agent": "{a}"}, false},
	"list_runs":             {map[string]any{"limit": 200}, false},
	"list_agents":           {map[string]any{}, false},
	"list_reports":          {map[string]any{}, false},
	"list_alert_rules":      {map[string]any{}, false},
	"run_spl":               {map[string]any{"query": "search " + bMark + " OR session_id=" + bSession + " | head 50"}, false},
	"splunk_context_search": {map[string]any{"query": "search " + bMark + " | head 50"}, false},
	"splunk_insights":       {map[string]any{}, false},
	"splunk_health":         {map[string]any{}, false},
	"start_run":             {map[string]any{"agent": "alpha-tool"}, false},
	"create_agent":          {map[string]any{"name": "alpha-tool-agent", "definition": map[string]any{"system_prompt": "alpha"}}, false},
	"register_agent":        {map[string]any{"name": "alpha-external"}, false},
	"create_alert_rule":     {map[string]any{"name": "alpha", "kinds": []string{"*"}, "url": "https://hooks.example.com/alpha"}, false},
}

// resourceTemplates has a case for every resource template: B's object
// by its URI.
var resourceTemplates = map[string]string{
	"agentscope://sessions/{session_id}": "agentscope://sessions/{s}",
	"agentscope://reports/{session_id}":  "agentscope://reports/{s}",
}

func (a *asA) checkMCP() {
	t := a.t
	ctx := context.Background()
	cs := httpSession(t, a.base, a.key)
	defer cs.Close()
	eachTool(t, cs, isolationTools, "the tenant isolation suite's isolationTools (cmd/agentscope/isolation_test.go)", func(name string, tc isolationTool) {
		call := func(twin bool) (*mcp.CallToolResult, string, string) {
			args := map[string]any{}
			for k, v := range tc.args {
				if s, isString := v.(string); isString {
					v = a.target(s, twin)
				}
				args[k] = v
			}
			req, _ := json.Marshal(args)
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			all, _ := json.Marshal(res)
			return res, string(req), string(all)
		}
		res, req, all := call(false)
		a.check("MCP "+name, req, all)
		if !tc.missing {
			return
		}
		twin, _, _ := call(true)
		text, twinText := toolText(res), a.untarget(toolText(twin))
		if !res.IsError || !twin.IsError || text != twinText {
			t.Errorf("MCP %s: B's object answers unlike a missing one (want both isError, the same text):\n B: %v %s\n missing: %v %s", name, res.IsError, text, twin.IsError, twinText)
		}
	})
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range templates.ResourceTemplates {
		uri, ok := resourceTemplates[rt.URITemplate]
		if !ok {
			t.Errorf("MCP resource template %s has no case in the tenant isolation suite: add one to resourceTemplates (cmd/agentscope/isolation_test.go)", rt.URITemplate)
			continue
		}
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: a.target(uri, false)})
		_, twinErr := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: a.target(uri, true)})
		if err == nil {
			all, _ := json.Marshal(res)
			a.check("resource "+rt.URITemplate, uri, string(all))
			t.Errorf("resource %s: A read B's object", rt.URITemplate)
			continue
		}
		a.check("resource "+rt.URITemplate, a.target(uri, false), err.Error())
		if twinErr == nil || a.untarget(twinErr.Error()) != err.Error() {
			t.Errorf("resource %s: B's object answers unlike a missing one:\n B: %v\n missing: %v", rt.URITemplate, err, twinErr)
		}
	}
	resources, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(resources)
	a.check("resources/list", "", string(all))
	a.checkPrompts(cs)
}

// isolationPrompts has a case for every prompt: its arguments aimed at B,
// and whether B's object must answer as a missing one.
var isolationPrompts = map[string]struct {
	args    map[string]string
	missing bool
}{
	"investigate_session": {map[string]string{"session_id": "{s}"}, true},
	"cost_report":         {map[string]string{"agent": "{a}"}, false},
}

// checkPrompts gets every prompt with B's ids, and asks each prompt
// argument's and resource template's completion for B's names (they list
// the caller's sessions and agents): nothing of B's may come back.
func (a *asA) checkPrompts(cs *mcp.ClientSession) {
	t, ctx := a.t, context.Background()
	prompts, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prompts.Prompts {
		pc, ok := isolationPrompts[p.Name]
		if !ok {
			t.Errorf("MCP prompt %s has no case in the tenant isolation suite: add one to isolationPrompts (cmd/agentscope/isolation_test.go)", p.Name)
			continue
		}
		get := func(twin bool) (string, string) {
			args := map[string]string{}
			for k, v := range pc.args {
				args[k] = a.target(v, twin)
			}
			res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: p.Name, Arguments: args})
			if err != nil {
				return fmt.Sprint(args), "error: " + err.Error()
			}
			all, _ := json.Marshal(res)
			return fmt.Sprint(args), string(all)
		}
		req, answer := get(false)
		a.check("prompt "+p.Name, req, answer)
		if pc.missing {
			if _, twin := get(true); !strings.HasPrefix(answer, "error: ") || a.untarget(twin) != answer {
				t.Errorf("prompt %s: B's object answers unlike a missing one:\n B: %s\n missing: %s", p.Name, answer, twin)
			}
		}
		for _, arg := range p.Arguments {
			for _, prefix := range []string{"", "bravo", "b"} {
				res, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: p.Name},
					Argument: mcp.CompleteParamsArgument{Name: arg.Name, Value: prefix}})
				if err != nil {
					continue // a prompt argument without completion
				}
				all, _ := json.Marshal(res)
				a.check("completion of "+p.Name+"."+arg.Name+" from "+strconv.Quote(prefix), prefix, string(all))
			}
		}
	}
	for template := range resourceTemplates {
		for _, prefix := range []string{"", "bravo"} {
			res, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/resource", URI: template},
				Argument: mcp.CompleteParamsArgument{Name: "session_id", Value: prefix}})
			if err == nil {
				all, _ := json.Marshal(res)
				a.check("completion of "+template, prefix, string(all))
			}
		}
	}
}

// checkLive: B's session's websocket refuses A as a missing session's
// does, and A's organisation feed, open while B records, carries nothing
// of B's up to A's own next run.
func (a *asA) checkLive() {
	t := a.t
	ws := "ws" + strings.TrimPrefix(a.base, "http")
	for _, sid := range []string{bSession, noSess} {
		_, resp, err := websocket.DefaultDialer.Dial(ws+"/api/v1/sessions/"+sid+"/live", http.Header{"Authorization": {"Bearer " + a.key}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("A's websocket to %s: %v %v, want 404", sid, err, resp)
		}
	}
	browser := a.browser()
	u, _ := url.Parse(a.base)
	hdr := http.Header{"Origin": {a.base}}
	for _, c := range browser.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(ws+"/ui/live/org", hdr)
	if err != nil {
		t.Fatalf("A's organisation feed: %v %v", err, resp)
	}
	defer conn.Close()
	read := func() string {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("A's feed: %v", err)
		}
		return string(msg)
	}
	for !strings.Contains(read(), `"type":"ready"`) {
	}
	if code, _, body := call(t, "POST", a.base+"/api/v1/runs", a.b.key, `{"agent":"bravo-ext","session_id":"bravo-live","input":"`+bMark+`"}`); code != http.StatusCreated {
		t.Fatalf("B's live run: %d %s", code, body)
	}
	if code, _, body := call(t, "POST", a.base+"/api/v1/runs", a.key, `{"agent":"alpha-live","session_id":"alpha-sentinel"}`); code != http.StatusCreated {
		t.Fatalf("A's sentinel run: %d %s", code, body)
	}
	a.b.secrets = append(a.b.secrets, "bravo-live")
	for {
		msg := read()
		a.check("A's organisation feed", "", msg)
		if strings.Contains(msg, "alpha-sentinel") {
			break
		}
	}
}

// splQueries ask for B's marker, ids and organisation in several ways.
func (a *asA) splQueries() []string {
	return []string{
		"search " + bMark,
		"search *" + bMark + "*",
		"search session_id=" + bSession,
		"search org_id=" + a.b.org,
		"search * | stats count by org_id, session_id, agent",
		"search * | table _raw",
	}
}

// checkSPL: the embedded engine, asked by A for B's marker, ids and
// organisation in several ways, answers nothing of B's.
func (a *asA) checkSPL() {
	for _, q := range append(a.splQueries(), "| makeresults | eval x=\""+bSession+"\"") {
		body, _ := json.Marshal(map[string]string{"query": q})
		code, _, answer := call(a.t, "POST", a.base+"/api/v1/spl", a.key, string(body))
		a.check("SPL "+q, q, answer)
		if code >= 500 {
			a.t.Errorf("SPL %q: %d %s", q, code, answer)
		}
	}
}
