package search_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/client"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/mcpserver/mcptest"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// bundle is a SQLite store with events in two organisations and a router
// over the embedded engine.
type bundle struct {
	store  *sqlite.Store
	router *search.Router
	local  *spl.Engine
}

func setup(t *testing.T, extra map[string]agentscope.Searcher) *bundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ts := time.Now().UTC().Add(-time.Hour)
	for _, org := range []string{"acme", "globex"} {
		for s := range 3 {
			sid := fmt.Sprintf("%s-s%d", org, s)
			n := 2
			if org == "acme" {
				n = 4
			}
			var evs []agentscope.Event
			for i := range n {
				d := float64(100 * (i + 1))
				evs = append(evs, agentscope.Event{EventID: fmt.Sprintf("%s-e%d", sid, i), SessionID: sid, Type: agentscope.ModelCompleted,
					TS: ts.Add(time.Duration(s*10+i) * time.Second), Agent: "bot-" + org, Provider: "openai", Model: "gpt", DurationMS: &d})
			}
			res := st.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: sid, Start: &agentscope.Run{SessionID: sid, Agent: "bot-" + org, Status: agentscope.StatusRunning}, Events: evs}})
			if res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
		}
	}
	local := spl.New(st, spl.Options{})
	backends := map[string]agentscope.Searcher{search.BackendLocal: local}
	for k, v := range extra {
		backends[k] = v
	}
	r, err := search.NewRouter(search.BackendLocal, backends, search.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{store: st, router: r, local: local}
}

func TestLocalAnswersScopedToOrganisation(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	a, err := b.router.Search(ctx, "acme", agentscope.SearchQuery{Query: `sourcetype="agentscope:events" type=ModelCompleted | stats count avg(duration_ms) as avg by agent`})
	if err != nil {
		t.Fatal(err)
	}
	if a.Backend != "local" || a.Query == "" || a.ElapsedMS < 0 {
		t.Fatalf("answer metadata: %+v", a)
	}
	if got := strings.Join(a.Fields, ","); got != "agent,count,avg" {
		t.Fatalf("fields = %s", got)
	}
	if len(a.Results) != 1 || a.Results[0]["agent"] != "bot-acme" || fmt.Sprint(a.Results[0]["count"]) != "12" || fmt.Sprint(a.Results[0]["avg"]) != "250" {
		t.Fatalf("rows = %v", a.Results)
	}
	// Naming the other organisation in the query text finds nothing.
	a, err = b.router.Search(ctx, "acme", agentscope.SearchQuery{Query: `org_id=globex OR agent=bot-globex | stats count`})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Results[0]["count"]) != "0" {
		t.Fatalf("acme saw globex's events: %v", a.Results)
	}
}

func TestRowLimitTruncates(t *testing.T) {
	b := setup(t, nil)
	a, err := b.router.Search(context.Background(), "acme", agentscope.SearchQuery{Query: `type=ModelCompleted | table session_id seq`, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Results) != 5 || !a.Truncated {
		t.Fatalf("rows=%d truncated=%v, want 5 and true", len(a.Results), a.Truncated)
	}
	a, err = b.router.Search(context.Background(), "acme", agentscope.SearchQuery{Query: `type=ModelCompleted | table session_id seq`, Limit: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Results) != 12 || a.Truncated {
		t.Fatalf("rows=%d truncated=%v, want 12 and false", len(a.Results), a.Truncated)
	}
}

func TestBadRequests(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name, org string
		req       agentscope.SearchQuery
		code      string
		want      string
	}{
		{"empty query", "acme", agentscope.SearchQuery{Query: "  "}, agentscope.EINVALID, "query: is required"},
		{"negative limit", "acme", agentscope.SearchQuery{Query: "x", Limit: -1}, agentscope.EINVALID, "row_limit: must be 0 (the default) or more, got -1"},
		{"unknown backend", "acme", agentscope.SearchQuery{Query: "x", Backend: "splunk-rest"}, agentscope.EINVALID, `backend: "splunk-rest" is not configured here; available: local`},
		{"unknown command", "acme", agentscope.SearchQuery{Query: "x | frobnicate"}, agentscope.EINVALID, "frobnicate"},
		{"unbalanced quote", "acme", agentscope.SearchQuery{Query: `agent="x`}, agentscope.EINVALID, "position"},
		{"no organisation", "", agentscope.SearchQuery{Query: "x"}, agentscope.EUNAUTHORIZED, "no organisation"},
		{"huge query", "acme", agentscope.SearchQuery{Query: strings.Repeat("a", 70_000)}, agentscope.EINVALID, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.router.Search(ctx, tc.org, tc.req)
			if agentscope.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (code %s), want %s containing %q", err, agentscope.ErrorCode(err), tc.code, tc.want)
			}
		})
	}
}

// splunkMCP is an in-process Splunk MCP server offering the official
// app's splunk_run_query (rows in structuredContent.results) over
// Streamable HTTP. It records the queries it receives.
type splunkMCP struct {
	mu      sync.Mutex
	queries []string
	fail    string
	url     string
}

func (s *splunkMCP) start(t *testing.T) *client.Client {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "Splunk MCP Server", Version: "1.0"}, nil)
	type in struct {
		Query        string `json:"query"`
		EarliestTime string `json:"earliest_time,omitempty"`
		LatestTime   string `json:"latest_time,omitempty"`
		RowLimit     int    `json:"row_limit,omitempty"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "splunk_run_query", Description: "Run a Splunk search"}, func(ctx context.Context, _ *mcp.CallToolRequest, a in) (*mcp.CallToolResult, map[string]any, error) {
		s.mu.Lock()
		s.queries = append(s.queries, a.Query)
		fail := s.fail
		s.mu.Unlock()
		if fail != "" {
			return nil, nil, errors.New(fail)
		}
		return nil, map[string]any{"results": []any{
			map[string]any{"agent": "bot-acme", "count": "12", "_time": "2026-11-24T00:00:00Z"},
		}}, nil
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	c, err := client.New(client.Config{URL: hs.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *splunkMCP) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func TestSplunkMCPBackendScopesAndRefusesWrites(t *testing.T) {
	fake := &splunkMCP{}
	c := fake.start(t)
	b := setup(t, map[string]agentscope.Searcher{
		splunkbridge.BackendSplunkMCP: splunkbridge.MCPSearcher{Tool: client.NewSearcher(c, nil).Search},
	})
	ctx := context.Background()
	a, err := b.router.Search(ctx, "acme", agentscope.SearchQuery{Query: `type=ModelCompleted | stats count by agent`, Backend: "splunk-mcp", Earliest: "-24h"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Backend != "splunk-mcp" || len(a.Results) != 1 || a.Results[0]["agent"] != "bot-acme" {
		t.Fatalf("answer = %+v", a)
	}
	if got := strings.Join(a.Fields, ","); got != "_time,agent,count" {
		t.Fatalf("fields = %s", got)
	}
	if q := fake.seen(); len(q) != 1 || q[0] != `search org_id::acme (type=ModelCompleted) | stats count by agent` {
		t.Fatalf("Splunk received %q, want the query scoped to acme", q)
	}
	for _, bad := range []string{`* | delete`, `* | collect index=x`, `* | outputlookup x.csv`, `* | sendemail to=a@b`, `* | map search="search x"`, `| rest /services/server/info`, `* [search index=other]`, `* | script python x`} {
		_, err := b.router.Search(ctx, "acme", agentscope.SearchQuery{Query: bad, Backend: "splunk-mcp"})
		if agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("%q: err = %v, want EINVALID", bad, err)
		}
	}
	if q := fake.seen(); len(q) != 1 {
		t.Fatalf("refused queries reached Splunk: %q", q[1:])
	}
	// Splunk's own error reaches the caller as unavailable, with its text.
	fake.mu.Lock()
	fake.fail = "Error in 'search' command: Unable to parse the search"
	fake.mu.Unlock()
	_, err = b.router.Search(ctx, "acme", agentscope.SearchQuery{Query: `x`, Backend: "splunk-mcp"})
	if agentscope.ErrorCode(err) != agentscope.EUNAVAILABLE || !strings.Contains(agentscope.ErrorMessage(err), "Unable to parse the search") {
		t.Fatalf("err = %v (%s)", err, agentscope.ErrorCode(err))
	}
}

// searchService is a service whose search calls (run_spl, splunk_insights,
// splunk_health) run on r.
func searchService(rec *recorder.Recorder, r *search.Router) *service.Service {
	svc := service.New(rec, service.Options{})
	svc.Search = service.SearchOptions{Searcher: r, DefaultBackend: r.Default()}
	return svc
}

func TestTools(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	rec := recorder.New(b.store, recorder.Options{Hub: recorder.NewMemHub()})
	t.Cleanup(func() { rec.Close() })
	health := agentscope.SplunkHealth{Enabled: true, QueueDepth: 7}
	svc := searchService(rec, b.router)
	svc.Search.Health = func(context.Context) agentscope.SplunkHealth { return health }
	srv := mcpserver.New(svc, mcpserver.Options{Local: agentscope.SystemPrincipal("acme")})
	ct, stt := mcp.NewInMemoryTransports()
	ss, err := srv.MCP.Connect(ctx, stt, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })

	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var runSPL *mcp.Tool
	for _, tool := range lt.Tools {
		if tool.Name == "run_spl" {
			runSPL = tool
		}
	}
	if runSPL == nil {
		t.Fatal("run_spl not listed")
	}
	schema, _ := json.Marshal(runSPL.InputSchema)
	for _, arg := range []string{`"query"`, `"earliest_time"`, `"latest_time"`, `"row_limit"`, `"backend"`} {
		if !strings.Contains(string(schema), arg) {
			t.Errorf("run_spl schema lacks %s: %s", arg, schema)
		}
	}
	// The official Splunk MCP adapter finds run_spl as AgentScope's own search tool.
	if _, err := client.FindSearchTool(lt.Tools, nil); err != nil {
		t.Fatalf("client cannot find AgentScope's search tool: %v", err)
	}

	var a agentscope.SearchResult
	mcptest.Call(t, cs, "run_spl", map[string]any{"query": `type=ModelCompleted | stats count by session_id | sort session_id`, "row_limit": 2}, &a)
	if a.Backend != "local" || len(a.Results) != 2 || !a.Truncated || a.Results[0]["session_id"] != "acme-s0" {
		t.Fatalf("run_spl = %+v", a)
	}
	if msg := mcptest.CallError(t, cs, "run_spl", map[string]any{"query": "x | delete"}); !strings.Contains(msg, "delete") {
		t.Fatalf("run_spl with delete: %q", msg)
	}
	// splunk_context_search names its own arguments in its refusals,
	// not run_spl's (earliest_time) that the engine speaks of.
	for arg, want := range map[string]string{"earliest": "earliest: ", "latest": "latest: "} {
		msg := mcptest.CallError(t, cs, "splunk_context_search", map[string]any{"query": "type=ModelCompleted", arg: "yesterday"})
		if !strings.HasPrefix(msg, want) || strings.Contains(msg, "_time") {
			t.Errorf("splunk_context_search with a bad %s: %q", arg, msg)
		}
	}

	var ins service.InsightsOutput
	mcptest.Call(t, cs, "splunk_insights", map[string]any{"name": "model_latency"}, &ins)
	if len(ins.Insights) != 1 || ins.Insights[0].Name != "model_latency" || len(ins.Insights[0].Answer.Results) != 1 {
		t.Fatalf("insights = %+v", ins)
	}
	row := ins.Insights[0].Answer.Results[0]
	if fmt.Sprint(row["calls"]) != "12" || fmt.Sprint(row["p95_ms"]) != "400" {
		t.Fatalf("model_latency row = %v", row)
	}
	mcptest.Call(t, cs, "splunk_insights", map[string]any{}, &ins)
	if len(ins.Insights) != 4 {
		t.Fatalf("all insights: %d", len(ins.Insights))
	}
	if msg := mcptest.CallError(t, cs, "splunk_insights", map[string]any{"name": "nope"}); !strings.Contains(msg, `no insight "nope"`) {
		t.Fatalf("unknown insight: %q", msg)
	}

	var h agentscope.SplunkHealth
	mcptest.Call(t, cs, "splunk_health", map[string]any{}, &h)
	if !h.Enabled || h.QueueDepth != 7 {
		t.Fatalf("health = %+v", h)
	}
}

// TestRunSPLProgress: run_spl called with a progress token tells the
// caller it started, which backend it searches and how many rows came
// back, then that it finished, each with total 1 and rising.
func TestRunSPLProgress(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	rec := recorder.New(b.store, recorder.Options{Hub: recorder.NewMemHub()})
	t.Cleanup(func() { rec.Close() })
	srv := mcpserver.New(searchService(rec, b.router), mcpserver.Options{Local: agentscope.SystemPrincipal("acme")})
	ct, stt := mcp.NewInMemoryTransports()
	ss, err := srv.MCP.Connect(ctx, stt, nil)
	if err != nil {
		t.Fatal(err)
	}
	notes := make(chan *mcp.ProgressNotificationParams, 16)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		notes <- r.Params
	}}).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	params := &mcp.CallToolParams{Name: "run_spl", Arguments: map[string]any{"query": "type=ModelCompleted"}}
	params.SetProgressToken(7)
	if res, err := cs.CallTool(ctx, params); err != nil || res.IsError {
		t.Fatalf("run_spl: %v %v", err, res)
	}
	var got []string
	last := -1.0
	for len(got) == 0 || !strings.HasSuffix(got[len(got)-1], "finished") {
		select {
		case n := <-notes:
			if n.Total != 1 || n.Progress <= last || fmt.Sprint(n.ProgressToken) != "7" {
				t.Fatalf("progress %+v after %v", n, last)
			}
			last = n.Progress
			got = append(got, n.Message)
		case <-time.After(10 * time.Second):
			t.Fatalf("progress so far %q", got)
		}
	}
	if want := "run_spl started|searching on local|12 rows from local|run_spl finished"; strings.Join(got, "|") != want {
		t.Errorf("progress %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestOrgMCPReusesAndReapsServers: one server per organisation, reused
// across searches; one idle past IdleTimeout is stopped, and started again
// when its organisation searches next.
func TestOrgMCPReusesAndReapsServers(t *testing.T) {
	fake := &splunkMCP{}
	fake.start(t)
	var mu sync.Mutex
	started := map[string]int{}
	pool := &search.OrgMCP{IdleTimeout: time.Nanosecond, New: func(org string) (*client.Client, error) {
		mu.Lock()
		started[org]++
		mu.Unlock()
		return client.New(client.Config{URL: fake.url, MaxAttempts: 1})
	}}
	t.Cleanup(func() { pool.Close() })
	ctx := context.Background()
	search1 := func(org string) {
		t.Helper()
		res, err := pool.Search(ctx, org, agentscope.SearchQuery{Query: "x", Limit: 10})
		if err != nil || len(res.Results) != 1 {
			t.Fatalf("search as %s: %v %v", org, res, err)
		}
	}
	search1("acme")
	search1("acme") // reused: the only organisation is never reaped by its own search
	search1("globex")
	search1("acme") // globex's search reaped acme's idle server
	mu.Lock()
	defer mu.Unlock()
	if started["acme"] != 2 || started["globex"] != 1 {
		t.Fatalf("servers started: %v", started)
	}
}
