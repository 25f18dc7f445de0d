package runtime_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/runtime/runtimetest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// The runtime tests' harness is package runtimetest's, under the names
// these tests use.

const org = runtimetest.Org

// backend is a database the runtime tests run against; where the
// databases differ, a test branches on its name.
type backend struct {
	name string
	b    runtimetest.Backend
}

func backends() []backend {
	var out []backend
	for _, b := range runtimetest.Backends() {
		out = append(out, backend{b.Name, b})
	}
	return out
}

// openStore opens a new handle (its own connections, as another process
// would) on the database dsn of backend name, and returns the runtime
// options that go with it.
func openStore(name, dsn string) (*sqlstore.Store, func(*runtime.Options), func(), error) {
	return runtimetest.OpenStore(name, dsn)
}

// fresh returns a new, empty database: a file path or a Postgres URL.
func (b backend) fresh(t testing.TB) string { return b.b.Fresh(t) }

// prepare makes a fresh database and returns a function that opens a new
// handle on it for a test.
func (b backend) prepare(t testing.TB) runtimetest.Opener { return b.b.Prepare(t) }

func (b backend) opener(dsn string) runtimetest.Opener { return b.b.Opener(dsn) }

// node is one AgentScope process's runtime parts over a shared database.
type node struct {
	*runtimetest.Node
	store *sqlstore.Store
	hub   *recorder.MemHub
	rec   *recorder.Recorder
	svc   *service.Service
	rt    *runtime.Runtime
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
func fastRiver(c *river.Config) { runtimetest.FastRiver(c) }

// newNode builds a runtime on a new handle of the database open gives.
func newNode(t testing.TB, open runtimetest.Opener, c config) *node {
	t.Helper()
	n := runtimetest.NewNode(t, open, runtimetest.Config{Workers: c.workers, LLM: c.llm, APIKey: c.apiKey, Searcher: c.searcher, Opts: c.opts, River: c.river})
	return &node{Node: n, store: n.Store, hub: n.Hub, rec: n.Rec, svc: n.Svc, rt: n.RT}
}

func committers(st *sqlstore.Store) int { return runtimetest.Committers(st) }

func (n *node) ctx() context.Context { return n.Ctx() }

// createAgent stores a managed agent.
func (n *node) createAgent(t testing.TB, name string, spec runtime.Spec) {
	t.Helper()
	n.CreateAgent(t, name, spec)
}

// start starts a run and fails the test if it is refused.
func (n *node) start(t testing.TB, agent, sid, input string) agentscope.Run {
	t.Helper()
	return n.StartRun(t, agent, sid, input)
}

// wait polls until the run reaches an end state or the deadline passes.
func (n *node) wait(t testing.TB, sid string, within time.Duration) agentscope.Run {
	t.Helper()
	return n.Wait(t, sid, within)
}

// events returns the session's events.
func (n *node) events(t testing.TB, sid string) []agentscope.Event {
	t.Helper()
	return n.Events(t, sid)
}

// eventually polls cond until it holds, failing the test after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	runtimetest.Eventually(t, within, what, cond)
}

func types(evs []agentscope.Event) string { return runtimetest.Types(evs) }

func find(evs []agentscope.Event, typ agentscope.EventType) []agentscope.Event {
	return runtimetest.Find(evs, typ)
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

func usd(s string) agentscope.USD { return runtimetest.USD(s) }

func attr(ev agentscope.Event, k string) string { return runtimetest.Attr(ev, k) }
