package ui

import (
	"time"

	"github.com/agentscope/agentscope"
)

// Page is what the frame around every page shows.
type Page struct {
	Title string
	// Nav is the active section: dashboard, agents, sessions, reports, keys or
	// search.
	Nav string
	Org string
	// CSRF is the session's token for forms and the script's POSTs.
	CSRF string
	// Feed, when set, is the organisation feed's cursor at render time: the
	// script follows the feed from exactly there and updates run rows.
	Feed string
	// User is the signed-in person's address; empty for the instance
	// token's session.
	User string
	// Orgs are the person's organisations, for the switcher (shown when
	// there are two or more; the current one is selected).
	Orgs []Option
	// Members links the Members page (served when people are configured).
	Members bool
	// Connections links the Connected MCP hosts page (served when /mcp is
	// an OAuth protected resource).
	Connections bool
	// Billing links the Billing page (owners).
	Billing bool
}

// Option is one choice of a <select>.
type Option struct {
	Value, Label string
	Selected     bool
}

// Notice is a message shown above a panel's content.
type Notice struct {
	// Kind is info, warn or error.
	Kind, Text string
}

// Dashboard is the overview page.
type Dashboard struct {
	Range  string
	Ranges []Option
	// Source says where the numbers come from: the SPL backend's name, or
	// the store when no search backend is configured.
	Source   string
	FromSPL  bool
	Notices  []Notice
	Cards    []AgentCard
	Cost     BarChart
	CostNote string
	Health   HealthPanel
	Problems []ProblemRun
	// Queries are the SPL searches the numbers come from.
	Queries []string
}

// AgentCard is one agent's scorecard.
type AgentCard struct {
	Agent string
	Kind  agentscope.AgentKind
	// Runs counts finished runs in the range; Completed of them succeeded.
	Runs, Completed, Failed int64
	ModelCalls              int64
	P50, P95                float64
	ToolCalls, ToolErrors   int64
	CostRange, CostToday    float64
	Budgets                 []BudgetView
	BudgetsKnown            bool
	Spark                   Sparkline
	Color                   string
}

// SuccessRate is Completed/Runs, or -1 with no finished runs.
func (c AgentCard) SuccessRate() float64 {
	if c.Runs == 0 {
		return -1
	}
	return float64(c.Completed) / float64(c.Runs)
}

// ToolErrorRate is ToolErrors/ToolCalls, or -1 with no tool calls.
func (c AgentCard) ToolErrorRate() float64 {
	if c.ToolCalls == 0 {
		return -1
	}
	return float64(c.ToolErrors) / float64(c.ToolCalls)
}

// BudgetView is a budget with the agent's spend in its current period.
type BudgetView struct {
	agentscope.BudgetStatus
}

// UsedRatio is the share of the limit spent, capped at 1 for the bar.
func (b BudgetView) UsedRatio() float64 {
	if b.LimitUSD <= 0 {
		return 1
	}
	return min(1, float64(b.SpentUSD)/float64(b.LimitUSD))
}

// Level is ok, warn (past 80%) or over.
func (b BudgetView) Level() string {
	switch r := b.UsedRatio(); {
	case b.Exceeded || r >= 1:
		return "over"
	case r >= 0.8:
		return "warn"
	}
	return "ok"
}

// HealthPanel is the Splunk forwarder's state.
type HealthPanel struct {
	// Configured is false when the server has no health source.
	Configured bool
	Error      string
	Report     agentscope.SplunkHealth
	// SearchBackend names the SPL backend, or is empty when none is
	// configured.
	SearchBackend string
	SearchError   string
	// Gateway is the LLM gateway's record of the organisation's calls
	// since the process started; nil when there is no gateway.
	Gateway *GatewayHealth
}

// GatewayHealth counts the calls through the LLM gateway and what of them
// could not be recorded (the calls went through all the same).
type GatewayHealth struct {
	Calls, Recorded, Dropped, Failed, CapCheckErrors int64
	LastError                                        string
}

// ProblemRun is a failed or over-budget run.
type ProblemRun struct {
	Run    agentscope.Run
	Reason string
	At     time.Time
}

// Agents is the agents page.
type Agents struct {
	Agents       []AgentRow
	BudgetsKnown bool
	BudgetsError string
	Now          time.Time
	// Investigations is set when the server has an investigator: each
	// agent offers to investigate its latest run.
	Investigations bool
}

// AgentRow is one agent with its budgets and latest runs.
type AgentRow struct {
	Agent   agentscope.Agent
	Budgets []BudgetView
	Runs    []agentscope.Run
	// Error is the outcome of the last Run form submission for this agent.
	Error string
	Input string
	// InvestigateError is the outcome of a refused Run Splunk
	// Investigation.
	InvestigateError string
}

// Sessions is the session list.
type Sessions struct {
	Agent, Status, Since string
	Agents               []Option
	Statuses             []Option
	Sinces               []Option
	Runs                 []agentscope.Run
	// Cursor is this page's cursor ("" on the first page, where new
	// sessions are inserted live); NextCursor continues the listing.
	Cursor, NextCursor string
	Error              string
	Now                time.Time
}

// Audit is the audit log page: one page of entries, newest first.
type Audit struct {
	Entries []agentscope.AuditEntry
	// Cursor is this page's cursor ("" on the first page); NextCursor
	// continues the listing.
	Cursor, NextCursor string
	Error              string
}

// Replay is a session's timeline page.
type Replay struct {
	Run      agentscope.Run
	SPL      string
	Timeline Timeline
	Events   []EventRow
	// After is the seq this page of the event list starts after; More is
	// set when events follow the page.
	After int64
	More  bool
	// T0 is the session's first event time in Unix microseconds: the
	// origin of every event's offset.
	T0 int64
	// Investigation is the session's investigation panel.
	Investigation ReportPanel
	// Usage is the session's cost and tokens over time; nil when it has
	// neither.
	Usage *UsageCharts
}

// UsageCharts are a session's cost and tokens over time, in buckets of
// one size on one time axis, with a sentence that says what they show for
// readers who do not see the charts.
type UsageCharts struct {
	// Cost is the cumulative USD of CostRecorded events at the end of each
	// bucket; nil when the session cost nothing.
	Cost *LineChart
	// Tokens are the input and output tokens of ModelCompleted events in
	// each bucket, stacked; nil when the session used none.
	Tokens *BarChart
	// Bucket names the bucket size, for example "10-second".
	Bucket  string
	Summary string
}

// Live reports whether events may still arrive.
func (r Replay) Live() bool { return !r.Run.Status.Terminal() }

// Timeline is a session's waterfall and totals.
type Timeline struct {
	Run    agentscope.Run
	Totals Totals
	Bars   []SpanBar
	// Hidden counts spans not drawn (past the drawing cap).
	Hidden int
	// Partial is set when only the session's first events were analysed.
	Partial  bool
	Ticks    []Tick
	SpanMS   float64
	Analysed int
	// T0 is the waterfall's origin in Unix microseconds.
	T0 int64
}

// Totals sum a session.
type Totals struct {
	DurationMS          float64
	TokensIn, TokensOut int64
	Cost                agentscope.USD
	// Computed is the part of Cost computed from the pricing table for
	// self-reported model calls the agent sent no cost for.
	Computed agentscope.USD
	// Unpriced counts finished model calls with no cost, reported or
	// computed: the cost shown leaves them out.
	Unpriced int
	// Pending counts a running self-reported session's finished model
	// calls with no cost yet: they are priced when the session ends if
	// the pricing table knows their model.
	Pending               int
	ModelCalls, ToolCalls int
	Errors                int
	Events                int64
}

// SpanBar is one model turn or tool call on the waterfall.
type SpanBar struct {
	// Kind is model or tool.
	Kind, Label, Detail string
	Depth               int
	LeftPct, WidthPct   float64
	DurationMS          float64
	TokensIn, TokensOut int64
	Cost                agentscope.USD
	// CostComputed marks a cost computed from the pricing table rather
	// than reported.
	CostComputed bool
	Error        string
	// Open marks a span whose end has not been recorded.
	Open           bool
	FromSeq, ToSeq int64
	// OffsetS is the start's offset from the waterfall's origin, formatted.
	OffsetS string
}

// Tick is a label on the waterfall's time axis.
type Tick struct {
	Pct   float64
	Label string
}

// EventRow is one event in the replay list.
type EventRow struct {
	Event agentscope.Event
	// OffsetMS is the time since the session's first event.
	OffsetMS float64
	Summary  string
	JSON     string
	Error    bool
}

// Search is the SPL page.
type Search struct {
	Configured       bool
	Query            string
	Earliest, Latest string
	Ranges           []Option
	Examples         []Example
	Ran              bool
	Result           *SearchResult
	Error            string
	ErrorPos         int
	ErrorLine, Caret string
	ErrorLineNo      int
	Chart            *LineChart
}

// Example is a saved operational search.
type Example struct {
	Name, Description, SPL string
}

// SearchResult is a search's table, formatted.
type SearchResult struct {
	Fields    []string
	Numeric   []bool
	Rows      [][]string
	Total     int
	Shown     int
	Backend   string
	TookMS    float64
	Truncated bool
}
