package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

const org = "org-test"

// backend is a database the runtime tests run against; where the
// databases differ, a test branches on its name.
type backend struct {
	name string
	// fresh returns a new, empty database: a file path or a Postgres URL.
	fresh func(t testing.TB) string
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "runtime.db") }},
		{"postgres", func(t testing.TB) string { return pgtest.URL(t) }},
	}
}

// testSecretKey seals alert secrets in the tests' stores; the agentscope
// processes they spawn on the same database get it as
// AGENTSCOPE_SECRET_KEY, as every process sharing a database must.
var testSecretKey = bytes.Repeat([]byte{0x5a}, sqlstore.SecretKeyLen)

// openStore opens a new handle (its own connections, as another process
// would) on the database dsn of backend name, and returns the runtime
// options that go with it.
func openStore(name, dsn string) (*sqlstore.Store, func(*runtime.Options), func(), error) {
	if name == "sqlite" {
		s, err := sqlite.Open(context.Background(), dsn, sqlstore.Options{SecretKey: testSecretKey})
		if err != nil {
			return nil, nil, nil, err
		}
		return s.Store, func(*runtime.Options) {}, func() { s.Close() }, nil
	}
	s, err := postgres.Open(context.Background(), dsn, sqlstore.Options{SecretKey: testSecretKey})
	if err != nil {
		return nil, nil, nil, err
	}
	return s.Store, func(o *runtime.Options) { o.Pool = s.Pool() }, func() { s.Close() }, nil
}

// prepare makes a fresh database and returns a function that opens a new
// handle on it for a test.
func (b backend) prepare(t testing.TB) func(t testing.TB) (*sqlstore.Store, func(*runtime.Options)) {
	dsn := b.fresh(t)
	return b.opener(dsn)
}

func (b backend) opener(dsn string) func(t testing.TB) (*sqlstore.Store, func(*runtime.Options)) {
	return func(t testing.TB) (*sqlstore.Store, func(*runtime.Options)) {
		s, withPool, closeFn, err := openStore(b.name, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeFn)
		return s, withPool
	}
}

// node is one AgentScope process's runtime parts over a shared database.
type node struct {
	store *sqlstore.Store
	hub   *recorder.MemHub
	rec   *recorder.Recorder
	svc   *service.Service
	rt    *runtime.Runtime
	// observed is rt, for the recorder's observer (the recorder exists
	// first).
	observed atomic.Pointer[runtime.Runtime]
}

// config is what a test changes from the defaults of newNode.
type config struct {
	workers  int
	llm      *llmtest.Server
	apiKey   string
	searcher agentscope.Searcher
	opts     func(*runtime.Options)
	river    func(*river.Config)
}

// fastRiver makes River notice work and recover quickly in tests.
func fastRiver(c *river.Config) {
	c.FetchPollInterval = 50 * time.Millisecond
	c.TestOnly = true
}

// newNode builds a runtime on a new handle of the database open gives.
func newNode(t testing.TB, open func(testing.TB) (*sqlstore.Store, func(*runtime.Options)), c config) *node {
	t.Helper()
	st, withPool := open(t)
	n := &node{store: st, hub: recorder.NewMemHub()}
	n.rec = recorder.New(st, recorder.Options{Hub: n.hub, Committers: committers(st), Observers: []func(string, []agentscope.Event){
		func(org string, evs []agentscope.Event) {
			if rt := n.observed.Load(); rt != nil {
				rt.Observe(org, evs)
			}
		}}})
	t.Cleanup(func() { n.rec.Close() })
	n.svc = service.New(n.rec, nil)
	opts := runtime.Options{
		Store: st, Recorder: n.rec, Service: n.svc, Searcher: c.searcher, Workers: c.workers,
		RetryBackoff: func(int) time.Duration { return 10 * time.Millisecond },
		Getenv:       func(string) string { return "" },
		River: func(rc *river.Config) {
			fastRiver(rc)
			if c.river != nil {
				c.river(rc)
			}
		},
	}
	if c.llm != nil {
		opts.LLM = runtime.LLMConfig{BaseURL: c.llm.URL, APIKey: c.apiKey}
		if opts.LLM.APIKey == "" {
			opts.LLM.APIKey = "test-key"
		}
	}
	withPool(&opts)
	if c.opts != nil {
		c.opts(&opts)
	}
	rt, err := runtime.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	n.rt = rt
	n.observed.Store(rt)
	n.svc.SetLauncher(rt)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("close runtime: %v", err)
		}
	})
	return n
}

func committers(st *sqlstore.Store) int {
	if st.Dialect().Name == "postgres" {
		return 4
	}
	return 1
}

func (n *node) ctx() context.Context { return agentscope.WithOrg(context.Background(), org) }

// createAgent stores a managed agent.
func (n *node) createAgent(t testing.TB, name string, spec runtime.Spec) {
	t.Helper()
	b, _ := json.Marshal(spec)
	if _, err := n.rt.CreateAgent(n.ctx(), name, b); err != nil {
		t.Fatal(err)
	}
}

// start starts a run and fails the test if it is refused.
func (n *node) start(t testing.TB, agent, sid, input string) agentscope.Run {
	t.Helper()
	in, _ := json.Marshal(input)
	run, err := n.svc.StartRun(n.ctx(), service.StartRunInput{Agent: agent, SessionID: sid, Input: in})
	if err != nil {
		t.Fatalf("start_run %s: %v", sid, err)
	}
	return run
}

// wait polls until the run reaches an end state or the deadline passes.
func (n *node) wait(t testing.TB, sid string, within time.Duration) agentscope.Run {
	t.Helper()
	return n.waitFor(t, sid, within, func(r agentscope.Run) bool { return r.Status.Terminal() })
}

func (n *node) waitFor(t testing.TB, sid string, within time.Duration, cond func(agentscope.Run) bool) agentscope.Run {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		run, err := n.store.GetRun(context.Background(), org, sid)
		if err == nil && cond(run) {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: condition not met within %s (last: %+v, %v)", sid, within, run, err)
		}
		<-tick.C
	}
}

// eventually polls cond until it holds, failing the test after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		<-tick.C
	}
}

// events returns the session's events.
func (n *node) events(t testing.TB, sid string) []agentscope.Event {
	t.Helper()
	evs, err := n.store.ListEvents(context.Background(), org, sid, agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// types lists the events' types.
func types(evs []agentscope.Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, " ")
}

func find(evs []agentscope.Event, typ agentscope.EventType) []agentscope.Event {
	var out []agentscope.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// storeSearcher answers SPL searches of the form "type=<EventType>" from
// the store's event log, scoped to the organisation it is given: a small
// stand-in for the embedded SPL engine (spl) over real data.
type storeSearcher struct {
	store *sqlstore.Store
	mu    sync.Mutex
	orgs  []string
}

var typeTerm = regexp.MustCompile(`type=(\w+)`)

func (s *storeSearcher) Search(ctx context.Context, orgID string, q agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	s.mu.Lock()
	s.orgs = append(s.orgs, orgID)
	s.mu.Unlock()
	m := typeTerm.FindStringSubmatch(q.Query)
	if m == nil {
		return nil, agentscope.Errorf(agentscope.EINVALID, "this test engine only answers type=<EventType>")
	}
	rows := []map[string]any{}
	err := s.store.ScanEvents(ctx, orgID, agentscope.EventQuery{Types: []agentscope.EventType{agentscope.EventType(m[1])}}, func(evs []agentscope.Event) (bool, error) {
		for _, ev := range evs {
			rows = append(rows, map[string]any{"type": string(ev.Type), "session_id": ev.SessionID, "seq": ev.Seq})
			if len(rows) == q.Limit {
				return false, nil
			}
		}
		return true, nil
	})
	return &agentscope.SearchResult{Results: rows}, err
}

func usd(s string) agentscope.USD {
	u, err := agentscope.ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return u
}

func attr(ev agentscope.Event, k string) string { return fmt.Sprint(ev.Attributes[k]) }
