package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

func TestFixturesAreValidEvents(t *testing.T) {
	t.Parallel()
	for _, c := range detectorCases() {
		for i := range c.b.evs {
			ev := c.b.evs[i]
			if err := agentscope.ValidateEvent(&ev); err != nil {
				t.Errorf("%s: event %s (%s): %v", c.name, ev.EventID, ev.Type, err)
			}
		}
	}
}

// TestDetectors: each fixture raises exactly one finding of its kind,
// naming exactly the events of the pattern; clean runs raise nothing.
func TestDetectors(t *testing.T) {
	t.Parallel()
	covered := map[Kind]bool{}
	for _, c := range detectorCases() {
		t.Run(c.name, func(t *testing.T) {
			fs, err := Run(c.b.id, c.b.evs, c.base, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if c.kind == "" {
				if len(fs) != 0 {
					t.Fatalf("clean session: %d findings, want none:\n%s", len(fs), dump(fs))
				}
				return
			}
			var got []Finding
			for _, f := range fs {
				if f.Kind == c.kind {
					got = append(got, f)
				}
			}
			if len(got) != 1 {
				t.Fatalf("%d %s findings, want 1:\n%s", len(got), c.kind, dump(fs))
			}
			f := got[0]
			if !slices.Equal(f.EventIDs, c.want) {
				t.Errorf("event_ids %v, want %v\n%s", f.EventIDs, c.want, dump(got))
			}
			if len(f.Seqs) != len(f.EventIDs) {
				t.Fatalf("%d seqs for %d event ids", len(f.Seqs), len(f.EventIDs))
			}
			for i, id := range f.EventIDs {
				if want := fmt.Sprintf("%s-%03d", c.b.id, f.Seqs[i]); id != want {
					t.Errorf("seq %d does not belong to %s", f.Seqs[i], id)
				}
			}
			if !f.Severity.Valid() || f.Title == "" || !strings.HasSuffix(f.Detail, ".") || f.SPL == "" {
				t.Errorf("incomplete finding: %+v", f)
			}
			covered[c.kind] = true
		})
	}
	t.Run("all kinds covered", func(t *testing.T) {
		for _, k := range Kinds() {
			if !covered[k] {
				t.Errorf("no fixture for %s", k)
			}
		}
	})
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s %q %v\n    %s\n", f.Kind, f.Severity, f.Title, f.Seqs, f.Detail)
	}
	return b.String()
}

// TestDeterministic: the same input gives byte-identical output.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, c := range detectorCases() {
		a, _ := Run(c.b.id, c.b.evs, c.base, c.cfg)
		b, _ := Run(c.b.id, c.b.evs, c.base, c.cfg)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s: two runs differ:\n%s\n%s", c.name, ja, jb)
		}
	}
}

// TestLiveMatchesRun: fed in batches of any size, Live raises the
// findings Run raises, each once; a batch delivered again raises nothing.
func TestLiveMatchesRun(t *testing.T) {
	t.Parallel()
	for _, c := range detectorCases() {
		want, err := Run(c.b.id, c.b.evs, c.base, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 2, 7, 32, len(c.b.evs)} {
			l, err := NewLive(c.b.id, c.base, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []Finding
			for i := 0; i < len(c.b.evs); i += size {
				batch := c.b.evs[i:min(i+size, len(c.b.evs))]
				got = append(got, l.Observe(batch)...)
				if again := l.Observe(batch); len(again) != 0 {
					t.Errorf("%s/%d: a repeated batch raised %d findings", c.name, size, len(again))
				}
			}
			var idle []Finding
			if c.cfg.Running {
				idle = l.CheckIdle(c.cfg.Now)
				got = append(got, idle...)
			}
			sortFindings(got)
			jg, _ := json.Marshal(got)
			jw, _ := json.Marshal(want)
			if string(jg) != string(jw) {
				t.Errorf("%s in batches of %d:\nlive %s\nrun  %s", c.name, size, jg, jw)
			}
			if all, _ := json.Marshal(l.Findings()); string(all) != string(jw) {
				t.Errorf("%s/%d: Findings() = %s", c.name, size, all)
			}
			if len(idle) > 0 {
				if again := l.CheckIdle(c.cfg.Now.Add(time.Hour)); len(again) != 0 {
					t.Errorf("%s/%d: a silence was reported twice", c.name, size)
				}
			}
		}
	}
}

// TestLiveIdle: CheckIdle reports an open silence once, and the event that
// ends it raises no second stall.
func TestLiveIdle(t *testing.T) {
	t.Parallel()
	b := managedRun("idle", runOpts{v: 3, open: true})
	l, err := NewLive(b.id, managedBase, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if fs := l.Observe(b.evs); len(fs) != 0 {
		t.Fatalf("clean prefix: %s", dump(fs))
	}
	if fs := l.CheckIdle(b.ts.Add(4 * time.Minute)); len(fs) != 0 {
		t.Fatalf("4 minutes of silence: %s", dump(fs))
	}
	fs := l.CheckIdle(b.ts.Add(16 * time.Minute))
	if len(fs) != 1 || fs[0].Kind != KindStall || fs[0].Severity != SeverityHigh || !slices.Equal(fs[0].EventIDs, []string{b.lastID()}) {
		t.Fatalf("16 minutes of silence: %s", dump(fs))
	}
	b.toolCall(17*time.Minute, "calc", `{"expr":"1+1"}`, 10, "")
	if fs := l.Observe(b.evs); len(fs) != 0 {
		t.Errorf("the event ending a reported silence raised %s", dump(fs))
	}
	b.toolCall(6*time.Minute, "calc", `{"expr":"1+2"}`, 10, "")
	if fs := l.Observe(b.evs); len(fs) != 1 || fs[0].Kind != KindStall {
		t.Errorf("a new silence: %s", dump(fs))
	}
}

// TestBaselineLeavesOutTheSession: a session in its own baseline is
// compared with the others only.
func TestBaselineLeavesOutTheSession(t *testing.T) {
	t.Parallel()
	var c detectorCase
	for _, dc := range detectorCases() {
		if dc.name == "cost_spike" {
			c = dc
		}
	}
	var sessions [][]agentscope.Event
	for i := range 12 {
		sessions = append(sessions, managedRun(fmt.Sprintf("base-m-%02d", i), runOpts{v: i}).evs)
	}
	sessions = append(sessions, c.b.evs)
	fs, err := Run(c.b.id, c.b.evs, BuildBaseline(sessions), c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(fs, KindCostSpike); n != 1 {
		t.Errorf("%d cost spikes with the session in its baseline, want 1:\n%s", n, dump(fs))
	}
	// Another session is compared with the whole baseline, spike included.
	clean := managedRun("clean-m", runOpts{v: 12})
	if fs, _ := Run(clean.id, clean.evs, BuildBaseline(sessions), Config{}); len(fs) != 0 {
		t.Errorf("clean run: %s", dump(fs))
	}
}

func TestTooSmallBaseline(t *testing.T) {
	t.Parallel()
	small := baselineOf(DefaultMinBaselineSessions-1, func(i int) *builder {
		return managedRun(fmt.Sprintf("small-%d", i), runOpts{v: i})
	})
	for _, c := range detectorCases() {
		if c.kind != KindCostSpike && c.kind != KindSchemaDrift {
			continue
		}
		fs, err := Run(c.b.id, c.b.evs, small, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if n := count(fs, c.kind); n != 0 {
			t.Errorf("%s with %d baseline sessions: %d findings, want none", c.name, small.Sessions(), n)
		}
	}
}

// TestBudgetLevels: crossing the ratio and then the limit are two
// findings; a hard cap reached is critical.
func TestBudgetLevels(t *testing.T) {
	t.Parallel()
	b := newBuilder("budget-levels", t0)
	b.add(0, agentscope.Event{Type: agentscope.SessionStarted, Agent: "planner"})
	near := b.cost("0.85")
	b.cost("0.10")
	reached := b.cost("0.05")
	b.cost("0.50")
	budget := agentscope.BudgetStatus{AgentCostBudget: agentscope.AgentCostBudget{Period: agentscope.PeriodWeek, LimitUSD: *usd("1"), HardCap: true}}
	fs, err := Run(b.id, b.evs, Baseline{}, Config{Budgets: []agentscope.BudgetStatus{budget}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Severity != SeverityCritical || fs[0].EventIDs[0] != reached ||
		fs[1].Severity != SeverityMedium || fs[1].EventIDs[0] != near {
		t.Fatalf("findings:\n%s", dump(fs))
	}
	if want := "With this session's $1, the agent has spent $1 of its $1 week budget (100%), as of seq 4. The budget is a hard cap: the agent's runs stop."; fs[0].Detail != want {
		t.Errorf("detail %q\nwant   %q", fs[0].Detail, want)
	}
	if MaxSeverity(fs) != SeverityCritical || MaxSeverity(nil) != "" {
		t.Errorf("MaxSeverity")
	}
}

func count(fs []Finding, k Kind) int {
	n := 0
	for _, f := range fs {
		if f.Kind == k {
			n++
		}
	}
	return n
}

func TestFindingJSON(t *testing.T) {
	t.Parallel()
	c := detectorCases()
	var fs []Finding
	for _, dc := range c {
		if dc.name == "loop_tool" {
			fs, _ = Run(dc.b.id, dc.b.evs, dc.base, dc.cfg)
		}
	}
	b, err := json.Marshal(fs[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"detail", "event_ids", "kind", "seqs", "severity", "spl", "title"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	want := `{"kind":"loop","severity":"high","title":"Repeated tool call: search","detail":"Tool search was called 3 times in a row with the same arguments (seq 14, 16, 18).","event_ids":["loop-tool-014","loop-tool-016","loop-tool-018"],"seqs":[14,16,18],"spl":"index=\"agentscope\" sourcetype=\"agentscope:events\" session_id=\"loop-tool\" type=\"ToolCalled\" | where tool=\"search\" | table _time seq event_id tool call_id arguments.*"}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{LoopRepeat: -1},
		{LoopRepeat: 1},
		{RetryStormWindow: -time.Second},
		{ToolErrorRate: 1.5},
		{BudgetRatio: -0.1},
		{Index: "Not An Index"},
		{Budgets: []agentscope.BudgetStatus{{SpentUSD: -1}}},
	} {
		if _, err := Run("s1", nil, Baseline{}, cfg); agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", cfg, err)
		}
	}
	if _, err := NewLive("bad id!", Baseline{}, Config{}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("bad session id: %v", err)
	}
	if fs, err := Run("s1", nil, Baseline{}, Config{}); err != nil || len(fs) != 0 {
		t.Errorf("empty session: %v %v", fs, err)
	}
}

func TestSeverityRank(t *testing.T) {
	t.Parallel()
	order := []Severity{"", "bogus", SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
	for i := 2; i < len(order); i++ {
		if order[i].Rank() <= order[i-1].Rank() || !order[i].Valid() {
			t.Errorf("%q ranks %d after %q %d", order[i], order[i].Rank(), order[i-1], order[i-1].Rank())
		}
	}
	fs := []Finding{{Severity: SeverityMedium}, {Severity: SeverityHigh}, {Severity: SeverityLow}}
	if got := MaxSeverity(fs); got != SeverityHigh {
		t.Errorf("MaxSeverity = %q", got)
	}
}

// TestDetectorFinding: a finding reads the same in an investigation
// report.
func TestDetectorFinding(t *testing.T) {
	t.Parallel()
	for _, c := range detectorCases() {
		fs, _ := Run(c.b.id, c.b.evs, c.base, c.cfg)
		for _, f := range fs {
			a, _ := json.Marshal(f)
			b, _ := json.Marshal(f.DetectorFinding())
			if string(a) != string(b) {
				t.Errorf("%s:\n%s\n%s", c.name, a, b)
			}
		}
	}
}

// TestEvidenceCap: a finding names at most MaxEvidence events, the most
// recent.
func TestEvidenceCap(t *testing.T) {
	t.Parallel()
	var l evidenceList
	for i := range 3*MaxEvidence + 7 {
		l.add(&agentscope.Event{EventID: fmt.Sprint(i), Seq: int64(i)})
	}
	got := l.last()
	if len(got) != MaxEvidence || got[0].seq != 2*MaxEvidence+7 || got[MaxEvidence-1].seq != 3*MaxEvidence+6 {
		t.Fatalf("kept %d refs from %d to %d", len(got), got[0].seq, got[len(got)-1].seq)
	}
	for i := 1; i < len(got); i++ {
		if got[i].seq != got[i-1].seq+1 {
			t.Fatalf("out of order at %d", i)
		}
	}
	f := newFinding(KindCostSpike, SeverityLow, "t", "d.", "q", got...)
	if len(f.EventIDs) != MaxEvidence || f.EventIDs[0] != fmt.Sprint(2*MaxEvidence+7) {
		t.Errorf("finding evidence %v", f.EventIDs)
	}
}
