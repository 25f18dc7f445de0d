package search_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/mcpserver/mcptest"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// blocking is a backend whose queries run until released or cancelled.
type blocking struct {
	entered chan string
	release chan struct{}
}

func (b blocking) Search(ctx context.Context, org string, _ agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	b.entered <- org
	select {
	case <-b.release:
		return &agentscope.SearchResult{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestConcurrencyCapped: past the per-organisation cap a query is refused at
// once as busy, with a retry hint, while another organisation still gets
// in; past the total cap every organisation is refused; a finished query
// frees its slot.
func TestConcurrencyCapped(t *testing.T) {
	b := blocking{entered: make(chan string, 8), release: make(chan struct{})}
	r, err := search.NewRouter("slow", map[string]agentscope.Searcher{"slow": b}, search.Limits{MaxConcurrent: 3, MaxPerOrg: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	run := func(org string) {
		_, err := r.Search(context.Background(), org, agentscope.SearchQuery{Query: "search *"})
		done <- err
	}
	busy := func(org, want string) {
		t.Helper()
		_, err := r.Search(context.Background(), org, agentscope.SearchQuery{Query: "search *"})
		var e *agentscope.Error
		if !errors.As(err, &e) || e.Code != agentscope.EUNAVAILABLE || e.RetryAfter <= 0 || !strings.Contains(e.Message, want) {
			t.Fatalf("%s: %v, want busy naming %s with a retry hint", org, err, want)
		}
	}
	go run("acme")
	go run("acme")
	<-b.entered
	<-b.entered
	busy("acme", "AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG")
	go run("globex")
	if org := <-b.entered; org != "globex" {
		t.Fatalf("entered %s", org)
	}
	busy("initech", "AGENTSCOPE_SPL_MAX_CONCURRENT")
	b.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go run("initech")
	if org := <-b.entered; org != "initech" {
		t.Fatalf("entered %s", org)
	}
	close(b.release)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestQueryCutAtTimeLimit: a query still running at the limit is stopped
// and answered with an error naming the limit and its setting, on a
// backend and on the embedded engine over a store large enough to need
// longer than the limit.
func TestQueryCutAtTimeLimit(t *testing.T) {
	b := blocking{entered: make(chan string, 1), release: make(chan struct{})}
	r, err := search.NewRouter("slow", map[string]agentscope.Searcher{"slow": b}, search.Limits{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Search(context.Background(), "acme", agentscope.SearchQuery{Query: "search *"})
	if agentscope.ErrorCode(err) != agentscope.EUNAVAILABLE || !strings.Contains(err.Error(), "50ms time limit (AGENTSCOPE_SPL_TIMEOUT)") {
		t.Fatalf("slow backend: %v", err)
	}

	st := bigStore(t, 10000)
	r, err = search.NewRouter(search.BackendLocal, map[string]agentscope.Searcher{search.BackendLocal: spl.New(st, spl.Options{})}, search.Limits{Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Search(context.Background(), "acme", agentscope.SearchQuery{Query: `search tool=*zz* | stats count by session_id`})
	if !strings.Contains(fmt.Sprint(err), "time limit") {
		t.Fatalf("embedded engine over 10,000 events with a 1ms limit: %v", err)
	}
}

// counting is a store whose scans count the events they hand out.
type counting struct {
	agentscope.Store
	n       atomic.Int64
	once    sync.Once
	started chan struct{} // closed once 1,000 events were read
}

func (c *counting) ScanEvents(ctx context.Context, org string, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	return c.Store.ScanEvents(ctx, org, q, func(evs []agentscope.Event) (bool, error) {
		if c.n.Add(int64(len(evs))) >= 1000 {
			c.once.Do(func() { close(c.started) })
		}
		return fn(evs)
	})
}

// openSQLite and openPostgres open an empty store of their kind.
func openSQLite(t *testing.T) agentscope.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "big.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t *testing.T) agentscope.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// bigStore is a SQLite store with n tool calls of organisation acme, in
// sessions of 100.
func bigStore(t *testing.T, n int) agentscope.Store {
	t.Helper()
	return fill(t, openSQLite(t), n)
}

// fill appends n tool calls of organisation acme to st, in sessions of 100.
func fill(t *testing.T, st agentscope.Store, n int) agentscope.Store {
	t.Helper()
	ctx := context.Background()
	ts := time.Now().UTC().Add(-time.Hour)
	var reqs []agentscope.AppendRequest
	for s := range n / 100 {
		sid := fmt.Sprintf("big-%d", s)
		evs := make([]agentscope.Event, 100)
		for i := range evs {
			evs[i] = agentscope.Event{Type: agentscope.ToolCalled, TS: ts.Add(time.Duration(s*100+i) * time.Millisecond), Tool: fmt.Sprintf("tool-%d", i%7), CallID: fmt.Sprint(i)}
		}
		reqs = append(reqs, agentscope.AppendRequest{OrgID: "acme", SessionID: sid, Start: &agentscope.Run{SessionID: sid, Agent: "bot", Status: agentscope.StatusRunning}, Events: evs})
	}
	for _, res := range st.Append(ctx, reqs) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	return st
}

// TestClientLeavingStopsTheScan: when the caller's context ends (the
// client left), the embedded engine stops reading at once: at most one more
// batch is read, and it returns within 100 ms on an idle machine. On both
// stores: SQLite pages with a keyset, Postgres streams one statement.
func TestClientLeavingStopsTheScan(t *testing.T) {
	for name, open := range map[string]func(*testing.T) agentscope.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) { testClientLeavingStopsTheScan(t, fill(t, open(t), 10000)) })
	}
}

func testClientLeavingStopsTheScan(t *testing.T, big agentscope.Store) {
	st := &counting{Store: big, started: make(chan struct{})}
	eng := spl.New(st, spl.Options{BatchSize: 500})
	r, err := search.NewRouter(search.BackendLocal, map[string]agentscope.Searcher{search.BackendLocal: eng}, search.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type mark struct {
		n  int64
		at time.Time
	}
	cancelled := make(chan mark, 1)
	go func() {
		<-st.started // the scan is under way
		cancel()
		// Read after the cancel: a scheduler pause between the two would
		// otherwise count events read before it.
		cancelled <- mark{st.n.Load(), time.Now()}
	}()
	_, err = r.Search(ctx, "acme", agentscope.SearchQuery{Query: `search tool=*zz* | stats count by session_id`})
	m := <-cancelled
	took, atCancel := time.Since(m.at), m.n
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want the cancellation", err)
	}
	t.Logf("returned %s after the cancel, %d events read after it", took, st.n.Load()-atCancel)
	// The work after the cancel is bounded by one batch in flight; the wall
	// clock (well under 100 ms on an idle machine, logged above) only by a
	// margin for a loaded one.
	if took > time.Second {
		t.Errorf("the scan went on %s after the client left", took)
	}
	if after := st.n.Load() - atCancel; after > 2*500 {
		t.Errorf("%d events read after the client left", after)
	}
}

// endless is a store whose every scan hands out batches of tool calls
// without end, counting them, until the engine stops taking them: a query
// over it runs until it is cut or cancelled. It never looks at the context
// itself, so only the engine's own checks can stop it.
type endless struct {
	agentscope.Store // nil: the engine reads only ScanEvents here
	read             atomic.Int64
	once             sync.Once
	started          chan struct{}  // closed once 1,000 events were read
	ended            chan time.Time // when each scan returned
	// atDone is read when the scan's context ended: the engine's own
	// cancellation, whenever the caller's reached it.
	atDone atomic.Int64
}

func newEndless() *endless {
	return &endless{started: make(chan struct{}), ended: make(chan time.Time, 8)}
}

func (e *endless) ScanEvents(ctx context.Context, org string, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	defer func() { e.ended <- time.Now() }()
	e.atDone.Store(-1)
	stop := context.AfterFunc(ctx, func() { e.atDone.Store(e.read.Load()) })
	defer stop()
	ts := time.Now().UTC().Add(-time.Hour)
	for b := 0; ; b++ {
		evs := make([]agentscope.Event, q.BatchSize)
		for i := range evs {
			evs[i] = agentscope.Event{Type: agentscope.ToolCalled, SessionID: fmt.Sprintf("s%d", b), Seq: int64(i + 1), TS: ts, Agent: "bot", Tool: "search"}
		}
		if e.read.Add(int64(len(evs))) >= 1000 {
			e.once.Do(func() { close(e.started) })
		}
		if more, err := fn(evs); err != nil || !more {
			return err
		}
	}
}

// endlessRouter is a router over the embedded engine reading st, in
// batches of 500.
func endlessRouter(t *testing.T, st agentscope.Store, l search.Limits) *search.Router {
	t.Helper()
	eng := spl.New(st, spl.Options{BatchSize: 500})
	r, err := search.NewRouter(search.BackendLocal, map[string]agentscope.Searcher{search.BackendLocal: eng}, l)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mcpSession connects an MCP client to a server whose search tools run on
// r, as organisation acme.
func mcpSession(t *testing.T, r *search.Router) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	b := setup(t, nil)
	rec := recorder.New(b.store, recorder.Options{Hub: recorder.NewMemHub()})
	t.Cleanup(func() { rec.Close() })
	srv := mcpserver.New(searchService(rec, r), mcpserver.Options{Local: agentscope.SystemPrincipal("acme")})
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
	return cs
}

// TestRunSPLLimits: over MCP, a query past the concurrency cap and one cut
// at the time limit are tool errors the model can read (busy, retry; the
// limit and its setting), not "internal error"; a cancelled call stops the
// embedded engine's scan at once.
func TestRunSPLLimits(t *testing.T) {
	t.Run("busy", func(t *testing.T) {
		b := blocking{entered: make(chan string, 1), release: make(chan struct{})}
		r, err := search.NewRouter("slow", map[string]agentscope.Searcher{"slow": b}, search.Limits{MaxPerOrg: 1})
		if err != nil {
			t.Fatal(err)
		}
		cs := mcpSession(t, r)
		first := make(chan error, 1)
		go func() {
			_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_spl", Arguments: map[string]any{"query": "search *"}})
			first <- err
		}()
		<-b.entered
		msg := mcptest.CallError(t, cs, "run_spl", map[string]any{"query": "search *"})
		if !strings.Contains(msg, "busy") || !strings.Contains(msg, "retry") || !strings.Contains(msg, "AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG") {
			t.Fatalf("second call: %q, want busy, retry and the setting", msg)
		}
		close(b.release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		go func() { <-b.entered }()
		var a agentscope.SearchResult
		mcptest.Call(t, cs, "run_spl", map[string]any{"query": "search *"}, &a)
	})
	t.Run("time limit", func(t *testing.T) {
		cs := mcpSession(t, endlessRouter(t, newEndless(), search.Limits{Timeout: 50 * time.Millisecond}))
		msg := mcptest.CallError(t, cs, "run_spl", map[string]any{"query": `search tool=*zz* | stats count by session_id`})
		if !strings.Contains(msg, "SPL query exceeded the 50ms time limit (AGENTSCOPE_SPL_TIMEOUT)") {
			t.Fatalf("endless query: %q", msg)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		st := newEndless()
		cs := mcpSession(t, endlessRouter(t, st, search.Limits{}))
		ctx, cancel := context.WithCancel(context.Background())
		called := make(chan error, 1)
		go func() {
			_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_spl", Arguments: map[string]any{"query": `search tool=*zz* | stats count by session_id`}})
			called <- err
		}()
		<-st.started
		atCancel, cancelledAt := st.read.Load(), time.Now()
		cancel()
		if err := <-called; err == nil {
			t.Fatal("the cancelled call answered")
		}
		var ended time.Time
		select {
		case ended = <-st.ended:
		case <-time.After(10 * time.Second):
			t.Fatal("the scan did not stop when the call was cancelled")
		}
		atDone := st.atDone.Load()
		if atDone < 0 {
			t.Fatal("the scan's context never ended")
		}
		after := st.read.Load() - atDone
		t.Logf("the scan stopped %s after the cancel, %d events read after the client's cancel, %d after the scan's context ended",
			ended.Sub(cancelledAt), st.read.Load()-atCancel, after)
		// As in TestClientLeavingStopsTheScan: once the cancellation
		// reaches the engine, the work is bounded by batches; how long
		// the cancellation takes to cross the transport depends on the
		// machine's load, so only a margin bounds the wall clock (well
		// under 100 ms on an idle one, logged above).
		if d := ended.Sub(cancelledAt); d > time.Second {
			t.Errorf("the scan went on %s after the call was cancelled", d)
		}
		if after > 2*500 {
			t.Errorf("%d events read after the scan's context ended", after)
		}
	})
}
