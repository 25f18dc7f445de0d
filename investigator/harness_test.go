package investigator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/client"
	"github.com/agentscope/agentscope/internal/netguard"
	"github.com/agentscope/agentscope/investigator"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/runtime/runtimetest"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// The investigator's tests run it in a node of package runtimetest, under
// the names they use.
const org = runtimetest.Org

var (
	backends   = runtimetest.Backends
	eventually = runtimetest.Eventually
	find       = runtimetest.Find
	types      = runtimetest.Types
	attr       = runtimetest.Attr
	usd        = runtimetest.USD
)

// Binaries the investigator's evidence path spawns: AgentScope itself
// (agentscope mcp) and a Splunk-like MCP server.
var (
	binOnce       sync.Once
	agentscopeBin string
	splunkMCPBin  string
	binErr        error
)

func buildBinaries(t testing.TB) (string, string) {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "investigator-bin")
		if err != nil {
			binErr = err
			return
		}
		agentscopeBin, splunkMCPBin = filepath.Join(dir, "agentscope"), filepath.Join(dir, "splunkmcptest")
		for out, pkg := range map[string]string{agentscopeBin: "../cmd/agentscope", splunkMCPBin: "./internal/splunkmcptest"} {
			if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return agentscopeBin, splunkMCPBin
}

// evidenceKind picks the investigator's MCP server.
type evidenceKind int

const (
	viaAgentScope evidenceKind = iota // agentscope mcp --org …, run_spl
	viaSplunk                         // the Splunk-like server, splunk_run_query
)

// invBundle is a node whose investigator reaches a real stdio MCP process
// over the test's database.
type invBundle struct {
	*runtimetest.Node
	inv     *investigator.Investigator
	alerts  *alerts.Service
	watcher *investigator.Watcher
	llm     *llmtest.Server
}

type invConfig struct {
	auto       bool
	live       bool
	opts       func(*investigator.Options, *investigator.WatchOptions)
	evidence   evidenceKind
	noLLM      bool
	splunkArgs []string // extra flags of the Splunk-like server
}

func newInvestigator(t testing.TB, b runtimetest.Backend, c invConfig) *invBundle {
	t.Helper()
	asBin, splunkBin := buildBinaries(t)
	var dsn, dataDir, dbURL string
	if b.Name == "sqlite" {
		dataDir = t.TempDir()
		dsn = filepath.Join(dataDir, "agentscope.db")
	} else {
		dsn = pgtest.URL(t)
		dataDir, dbURL = t.TempDir(), dsn
	}
	llm := llmtest.New()
	t.Cleanup(llm.Close)
	ib := &invBundle{llm: llm}
	var opts investigator.Options
	wopts := investigator.WatchOptions{AutoInvestigate: c.auto, LiveDetect: c.live}
	switch c.evidence {
	case viaAgentScope:
		pool := &search.OrgMCP{New: func(org string) (*client.Client, error) {
			return client.New(client.Config{Command: asBin, Args: []string{"mcp", "--org", org},
				Env: []string{"AGENTSCOPE_DATA_DIR=" + dataDir, "AGENTSCOPE_DATABASE_URL=" + dbURL, "AGENTSCOPE_NO_WORKER=true", "AGENTSCOPE_LOG_LEVEL=warn",
					"AGENTSCOPE_SECRET_KEY=" + base64.StdEncoding.EncodeToString(runtimetest.SecretKey)},
				InitTimeout: 20 * time.Second, MaxAttempts: 3, BackoffInitial: 50 * time.Millisecond})
		}}
		t.Cleanup(func() { pool.Close() })
		opts.Evidence, opts.EvidenceBackend = pool, search.EvidenceBackendAgentScope
	case viaSplunk:
		cl, err := client.New(client.Config{Command: splunkBin, Args: append([]string{"-db", dsn}, c.splunkArgs...),
			InitTimeout: 20 * time.Second, MaxAttempts: 3, BackoffInitial: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		r, err := search.NewRouter(splunkbridge.BackendSplunkMCP, map[string]agentscope.Searcher{
			splunkbridge.BackendSplunkMCP: splunkbridge.MCPSearcher{Tool: client.NewSearcher(cl, nil).Search}}, search.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		opts.Evidence, opts.EvidenceBackend = r, splunkbridge.BackendSplunkMCP
	}
	if c.opts != nil {
		c.opts(&opts, &wopts)
	}
	ib.watcher = investigator.NewWatcher(wopts)
	cfg := runtimetest.Config{Workers: 2, LLM: llm, Observers: []func(string, []agentscope.Event){ib.watcher.Observe}}
	if c.noLLM {
		cfg.LLM = nil
	}
	network := netguard.Policy{AllowPrivate: true} // the test receivers are on this machine
	var st *sqlstore.Store
	open := func(t testing.TB) (*sqlstore.Store, func(*runtime.Options)) {
		s, withPool := b.Opener(dsn)(t)
		st = s
		return s, withPool
	}
	cfg.Opts = func(o *runtime.Options) {
		o.LLM.Model = "gpt-4.1"
		o.AddWorkers = func(w *river.Workers) error {
			return alerts.AddWorkers(w, alerts.Deps{Rules: st, Network: network, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
		}
	}
	cfg.Work = func(n *runtimetest.Node) runtime.Work {
		al, err := alerts.NewService(alerts.Options{Store: n.Store, River: n.RT.River(), Queue: n.RT.Queue(), Hub: n.Hub, Network: network})
		if err != nil {
			t.Fatal(err)
		}
		ib.alerts = al
		opts.Store, opts.Recorder, opts.Runs, opts.Agents, opts.Alerts = n.Store, n.Rec, n.Svc, n.Svc, al
		inv, err := investigator.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		ib.inv = inv
		return runtime.Work{
			Tools: func(org string) *mcp.Server {
				return mcpserver.New(n.Svc, mcpserver.Options{Local: agentscope.ManagedAgentPrincipal(org), Investigations: inv, AlertRules: al}).MCP
			},
			Kinds: map[string]runtime.Executor{runtime.KindInvestigator: inv},
		}
	}
	ib.Node = runtimetest.NewNode(t, open, cfg)
	ib.watcher.Start(context.Background(), ib.inv)
	t.Cleanup(ib.watcher.Stop)
	return ib
}

// loopingSession records a completed external run in which the agent
// called the same tool with the same arguments four times in a row and
// was then served by another provider without a ProviderSwitched event.
func (ib *invBundle) loopingSession(t testing.TB, sid string) []string {
	t.Helper()
	ctx := ib.Ctx()
	if _, err := ib.Svc.StartRun(ctx, service.StartRunInput{Agent: "support-bot", SessionID: sid, Input: json.RawMessage(`"refund order 42"`)}); err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	add := func(s string) { raws = append(raws, json.RawMessage(s)) }
	add(`{"event_id":"m-1","type":"ModelInvoked","provider":"openai","model":"gpt-4.1"}`)
	add(`{"event_id":"m-2","type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":800,"tokens_in":500,"tokens_out":40}`)
	for i := 1; i <= 4; i++ {
		add(fmt.Sprintf(`{"event_id":"call-%d","type":"ToolCalled","tool":"lookup_order","call_id":"c%d","arguments":{"order":"42"}}`, i, i))
		add(fmt.Sprintf(`{"event_id":"ret-%d","type":"ToolReturned","tool":"lookup_order","call_id":"c%d","duration_ms":30,"status":"ok","result":{"status":"pending"}}`, i, i))
	}
	add(`{"event_id":"m-3","type":"ModelInvoked","provider":"anthropic","model":"claude-sonnet-4"}`)
	add(`{"event_id":"m-4","type":"ModelCompleted","provider":"anthropic","model":"claude-sonnet-4","duration_ms":900,"tokens_in":700,"tokens_out":60}`)
	add(`{"event_id":"cost-1","type":"CostRecorded","amount_usd":0.042}`)
	res, err := ib.Svc.Record(ctx, sid, raws)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res {
		if !r.Accepted {
			t.Fatalf("event %d refused: %+v", r.Index, r)
		}
		ids = append(ids, r.EventID)
	}
	if _, err := ib.Svc.EndRun(ctx, service.EndRunInput{SessionID: sid, Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// reportJSON is a model answer citing one real event and one invented one.
const reportJSON = `{"summary":"The agent looped on lookup_order and was silently moved to another provider.","risk_level":"medium",
"findings":[
 {"title":"Repeated identical tool calls","severity":"high","evidence":["call-2","call-3","call-4"],"explanation":"lookup_order with order 42 four times."},
 {"title":"Made-up finding","severity":"critical","evidence":["call-3","evt-fabricated-9"],"explanation":"cites an event that does not exist"},
 {"title":"No evidence","severity":"low","evidence":[],"explanation":"cites nothing"}],
"recommendations":["Cap identical tool calls at 2.","Pin the provider or record ProviderSwitched."]}`

func (ib *invBundle) investigate(t testing.TB, target string) (agentscope.Run, agentscope.Report) {
	t.Helper()
	run, err := ib.inv.Investigate(ib.Ctx(), target)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != agentscope.StatusQueued || run.Agent != agentscope.InvestigatorAgent {
		t.Fatalf("investigate returned %+v", run)
	}
	run = ib.Wait(t, run.SessionID, 60*time.Second)
	rep, err := ib.inv.GetReport(ib.Ctx(), run.SessionID)
	if err != nil {
		t.Fatalf("report of %s (%s: %s): %v", run.SessionID, run.Status, run.Error, err)
	}
	return run, rep
}

func kinds(r agentscope.Report) string {
	var ks []string
	for _, f := range r.DetectorFindings {
		ks = append(ks, f.Kind)
	}
	return strings.Join(ks, ",")
}
