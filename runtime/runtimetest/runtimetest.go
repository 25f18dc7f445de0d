// Package runtimetest runs managed agents in tests: a fresh database on
// each backend (SQLite, and Postgres when AGENTSCOPE_TEST_DATABASE_URL is
// set), and nodes over it — one AgentScope process's recorder, service and
// runtime each, with the MCP tools its agents reach. Nothing below the
// runtime is simulated: the store, River and the recorder are the real ones.
package runtimetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// Org is the organisation nodes act for.
const Org = "org-test"

// SecretKey seals alert secrets in the tests' stores; agentscope processes
// spawned on the same database get it as AGENTSCOPE_SECRET_KEY, as every
// process sharing a database must.
var SecretKey = bytes.Repeat([]byte{0x5a}, sqlstore.SecretKeyLen)

// Backend is a database tests run against; where the databases differ, a
// test branches on its name.
type Backend struct {
	Name string
	// Fresh returns a new, empty database: a file path or a Postgres URL.
	Fresh func(t testing.TB) string
}

// Backends are SQLite and Postgres.
func Backends() []Backend {
	return []Backend{
		{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "runtime.db") }},
		{"postgres", func(t testing.TB) string { return pgtest.URL(t) }},
	}
}

// Opener opens a new handle on a database, closed when the test ends, and
// returns the runtime options that go with it.
type Opener func(t testing.TB) (*sqlstore.Store, func(*runtime.Options))

// Prepare makes a fresh database and returns its Opener.
func (b Backend) Prepare(t testing.TB) Opener { return b.Opener(b.Fresh(t)) }

// Opener returns the Opener of the database dsn.
func (b Backend) Opener(dsn string) Opener {
	return func(t testing.TB) (*sqlstore.Store, func(*runtime.Options)) {
		s, withPool, closeFn, err := OpenStore(b.Name, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeFn)
		return s, withPool
	}
}

// OpenStore opens a new handle (its own connections, as another process
// would) on the database dsn of backend name, and returns the runtime
// options that go with it and how to close it.
func OpenStore(name, dsn string) (*sqlstore.Store, func(*runtime.Options), func(), error) {
	if name == "sqlite" {
		s, err := sqlite.Open(context.Background(), dsn, sqlstore.Options{SecretKey: SecretKey})
		if err != nil {
			return nil, nil, nil, err
		}
		return s.Store, func(*runtime.Options) {}, func() { s.Close() }, nil
	}
	s, err := postgres.Open(context.Background(), dsn, sqlstore.Options{SecretKey: SecretKey})
	if err != nil {
		return nil, nil, nil, err
	}
	return s.Store, func(o *runtime.Options) { o.Pool = s.Pool() }, func() { s.Close() }, nil
}

// Committers is the recorder's committers on st's database.
func Committers(st *sqlstore.Store) int {
	if st.Dialect().Name == "postgres" {
		return 4
	}
	return 1
}

// FastRiver makes River notice work and recover quickly in tests.
func FastRiver(c *river.Config) {
	c.FetchPollInterval = 50 * time.Millisecond
	c.TestOnly = true
}

// Node is one AgentScope process's runtime parts over a shared database.
type Node struct {
	Store *sqlstore.Store
	Hub   *recorder.MemHub
	Rec   *recorder.Recorder
	Svc   *service.Service
	RT    *runtime.Runtime
}

// Config is what a test changes from the defaults of NewNode.
type Config struct {
	Workers  int
	LLM      *llmtest.Server
	APIKey   string
	Searcher agentscope.Searcher
	Opts     func(*runtime.Options)
	River    func(*river.Config)
	// Observers are more observers of the recorder's commits.
	Observers []func(string, []agentscope.Event)
	// Work returns what Start gives the runtime, once the node's parts
	// exist; by default agents reach the runtime's tools beside the core
	// ones, and no built-in kind is executed.
	Work func(n *Node) runtime.Work
}

// NewNode builds and starts a runtime on a new handle of the database open
// gives, as cmd/agentscope wires one: the runtime, then the service that
// launches runs with it, then the organisations' starter agents; the
// test's end closes it.
func NewNode(t testing.TB, open Opener, c Config) *Node {
	t.Helper()
	st, withPool := open(t)
	n := &Node{Store: st, Hub: recorder.NewMemHub()}
	n.Rec = recorder.New(st, recorder.Options{Hub: n.Hub, Committers: Committers(st), Observers: c.Observers})
	t.Cleanup(func() { n.Rec.Close() })
	opts := runtime.Options{
		Store: st, Recorder: n.Rec, Workers: c.Workers,
		RetryBackoff: func(int) time.Duration { return 10 * time.Millisecond },
		Getenv:       func(string) string { return "" },
		River: func(rc *river.Config) {
			FastRiver(rc)
			if c.River != nil {
				c.River(rc)
			}
		},
	}
	if c.LLM != nil {
		opts.LLM = runtime.LLMConfig{BaseURL: c.LLM.URL, APIKey: c.APIKey}
		if opts.LLM.APIKey == "" {
			opts.LLM.APIKey = "test-key"
		}
	}
	withPool(&opts)
	if c.Opts != nil {
		c.Opts(&opts)
	}
	rt, err := runtime.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	n.RT = rt
	n.Svc = service.New(n.Rec, service.Options{Launcher: rt, Agents: st})
	n.Svc.Search.Searcher = c.Searcher
	work := runtime.Work{Tools: func(org string) *mcp.Server {
		return mcpserver.New(n.Svc, mcpserver.Options{Local: agentscope.ManagedAgentPrincipal(org)}).MCP
	}}
	if c.Work != nil {
		work = c.Work(n)
	}
	if err := n.Svc.PrepareOrgs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(context.Background(), work); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("close runtime: %v", err)
		}
	})
	return n
}

// Ctx is a context of the node's organisation.
func (n *Node) Ctx() context.Context {
	return agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal(Org))
}

// CreateAgent stores a managed agent.
func (n *Node) CreateAgent(t testing.TB, name string, spec runtime.Spec) {
	t.Helper()
	b, _ := json.Marshal(spec)
	if _, err := n.Svc.CreateAgent(n.Ctx(), name, b); err != nil {
		t.Fatal(err)
	}
}

// StartRun starts a run and fails the test if it is refused.
func (n *Node) StartRun(t testing.TB, agent, sid, input string) agentscope.Run {
	t.Helper()
	in, _ := json.Marshal(input)
	run, err := n.Svc.StartRun(n.Ctx(), service.StartRunInput{Agent: agent, SessionID: sid, Input: in})
	if err != nil {
		t.Fatalf("start_run %s: %v", sid, err)
	}
	return run
}

// Wait polls until the run reaches an end state or the deadline passes.
func (n *Node) Wait(t testing.TB, sid string, within time.Duration) agentscope.Run {
	t.Helper()
	return n.WaitFor(t, sid, within, func(r agentscope.Run) bool { return r.Status.Terminal() })
}

// WaitFor polls until the run meets cond, failing the test after within.
func (n *Node) WaitFor(t testing.TB, sid string, within time.Duration, cond func(agentscope.Run) bool) agentscope.Run {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		run, err := n.Store.GetRun(context.Background(), Org, sid)
		if err == nil && cond(run) {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: condition not met within %s (last: %+v, %v)", sid, within, run, err)
		}
		<-tick.C
	}
}

// Events returns the session's events.
func (n *Node) Events(t testing.TB, sid string) []agentscope.Event {
	t.Helper()
	evs, err := n.Store.ListEvents(context.Background(), Org, sid, agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Eventually polls cond until it holds, failing the test after within.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
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

// Types lists the events' types.
func Types(evs []agentscope.Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, " ")
}

// Find returns the events of type typ.
func Find(evs []agentscope.Event, typ agentscope.EventType) []agentscope.Event {
	var out []agentscope.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// USD parses an amount, panicking on a bad one.
func USD(s string) agentscope.USD {
	u, err := agentscope.ParseUSD(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Attr is an event attribute as text.
func Attr(ev agentscope.Event, k string) string { return fmt.Sprint(ev.Attributes[k]) }
