package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/identity"
	"github.com/agentscope/agentscope/internal/ratelimit"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// stepClock is a clock the test moves.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRateLimitPerKey: each API key has its own bucket, counted after
// authentication on the API, the live websocket and /mcp alike; past it a
// request is answered 429 with Retry-After and a JSON error naming the
// setting; the bucket refills with time; the instance token is not limited
// unless its own setting says so; a refused credential spends nothing.
func TestRateLimitPerKey(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rl.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	org, err := st.CreateOrg(ctx, "Acme", agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	mint := func() string {
		_, c, err := st.CreateAPIKey(ctx, agentscope.APIKey{OrgID: org.ID, Name: "k", Scopes: []agentscope.Scope{agentscope.ScopeRead}, CreatedBy: agentscope.ActorOperator})
		if err != nil {
			t.Fatal(err)
		}
		return c.Reveal()
	}
	auth, err := identity.New(st, identity.Options{InstanceTokens: map[string]string{token: org.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	defer rec.Close()
	clk := &stepClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	mcp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := httptest.NewServer(web.New(service.New(rec, service.Options{}), web.Options{Tokens: map[string]string{token: org.ID}, Auth: auth, MCP: mcp, LivePoll: time.Hour,
		RateLimits: web.RateLimits{Callers: ratelimit.Limit{Rate: 0.5, Burst: 3}, Now: clk.Now}}))
	defer srv.Close()

	send := func(bearer, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	a, b := mint(), mint()
	// The burst, over the three doors.
	for _, path := range []string{"/api/v1/runs", "/mcp", "/api/v1/sessions/s-1/live"} {
		if resp := send(a, path); resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusUnauthorized {
			t.Fatalf("%s within the burst: %d", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/api/v1/runs", "/mcp", "/api/v1/sessions/s-1/live"} {
		var e apiError
		code := doAs(t, a, http.MethodGet, srv.URL+path, "", &e)
		if code != http.StatusTooManyRequests || e.Error.Code != "rate_limited" {
			t.Errorf("%s past the burst: %d %+v, want 429 rate_limited", path, code, e)
		}
		if resp := send(a, path); resp.Header.Get("Retry-After") != "2" {
			t.Errorf("%s: Retry-After %q, want 2 (one token at 0.5/s)", path, resp.Header.Get("Retry-After"))
		}
	}
	if resp := send(b, "/api/v1/runs"); resp.StatusCode != http.StatusOK {
		t.Errorf("another key, limited by the first's flood: %d", resp.StatusCode)
	}
	for range 50 {
		if resp := send(token, "/api/v1/runs"); resp.StatusCode != http.StatusOK {
			t.Fatalf("instance token limited without AGENTSCOPE_INSTANCE_RATE_LIMIT: %d", resp.StatusCode)
		}
	}
	for range 20 {
		if resp := send("ask_bogus_credential", "/api/v1/runs"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad credential: %d", resp.StatusCode)
		}
	}
	clk.Advance(2 * time.Second)
	if resp := send(a, "/api/v1/runs"); resp.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: %d", resp.StatusCode)
	}
	if resp := send(a, "/api/v1/runs"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a second request within one token's refill: %d", resp.StatusCode)
	}
}

// TestRouterListsEveryRoute: the router names every pattern registered on
// it, by New and by the Route methods alike, for suites that walk them.
func TestRouterListsEveryRoute(t *testing.T) {
	f := uiSetupWith(t, func(o *web.Options) {
		o.MCP = http.NotFoundHandler()
	})
	h := web.New(f.svc, f.opts)
	h.RouteSearch()
	got := strings.Join(h.Mux().Patterns(), "\n")
	for _, want := range []string{"/mcp", "GET /api/v1/audit", "GET /audit", "POST /api/v1/spl", "GET /api/v1/sessions/{session_id}/live", "GET /{$}"} {
		if !strings.Contains("\n"+got+"\n", "\n"+want+"\n") {
			t.Errorf("Patterns lacks %q:\n%s", want, got)
		}
	}
}
