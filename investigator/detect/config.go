package detect

import (
	"time"

	"github.com/agentscope/agentscope"
)

// Defaults of Config.
const (
	DefaultLoopRepeat          = 3
	DefaultRetryStormCount     = 5
	DefaultRetryStormWindow    = 60 * time.Second
	DefaultCostSpikeFactor     = 3.0
	DefaultMinBaselineSessions = 5
	DefaultLatencyP95          = 30 * time.Second
	DefaultLatencyMinCalls     = 5
	DefaultToolErrorRate       = 0.25
	DefaultToolErrorMinCalls   = 4
	DefaultStallGap            = 5 * time.Minute
	DefaultBudgetRatio         = 0.8
)

// Config tunes the detectors. Zero values mean the defaults above; negative
// values, and ratios outside their range, are refused.
type Config struct {
	// Index is the Splunk index the findings' SPL searches; empty means the
	// role's default indexes.
	Index string

	// LoopRepeat is how many identical consecutive tool calls (same tool,
	// same arguments up to key order) or model requests (same provider,
	// model, input and attributes) make a loop. Default 3.
	LoopRepeat int

	// RetryStormCount failures of one tool or one provider within
	// RetryStormWindow make a retry storm. Defaults 5 and 60 s.
	RetryStormCount  int
	RetryStormWindow time.Duration

	// ExpectedProvider and ExpectedModel are the run's configured model,
	// if known; a call served by another is a provider switch. Empty: the
	// session's first call sets the expectation.
	ExpectedProvider, ExpectedModel string

	// A session costs too much when its cost exceeds
	// max(p95, CostSpikeFactor × median) of the baseline's session costs.
	// With fewer than MinBaselineSessions baseline sessions, cost and schema
	// comparisons are not made. Defaults 3 and 5.
	CostSpikeFactor     float64
	MinBaselineSessions int

	// LatencyP95 is the SLO for the 95th percentile (nearest rank) of
	// ModelCompleted duration_ms, checked once the session has
	// LatencyMinCalls model calls. Defaults 30 s and 5.
	LatencyP95      time.Duration
	LatencyMinCalls int

	// A tool's error rate (failed ToolReturned over all its ToolReturned)
	// above ToolErrorRate, once it has ToolErrorMinCalls returns, is a
	// finding. Defaults 0.25 and 4.
	ToolErrorRate     float64
	ToolErrorMinCalls int

	// StallGap is the longest silence allowed while the session is
	// running. Default 5 min.
	StallGap time.Duration

	// Budgets are the agent's cost budgets with their period's spend. Their
	// SpentUSD must exclude this session's costs: the detector adds the
	// session's CostRecorded amounts as it reads them (subtract
	// Run.CostUSD from a status read after the session recorded costs).
	// Reaching BudgetRatio of a limit is a finding. Default ratio 0.8.
	Budgets     []agentscope.BudgetStatus
	BudgetRatio float64

	// Running says the session has not ended; Run then also reports a
	// stall between its last event and Now. Live uses CheckIdle instead.
	Running bool
	Now     time.Time
}

// withDefaults validates c and fills in its zero values.
func (c Config) withDefaults() (Config, error) {
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"loop_repeat", &c.LoopRepeat, DefaultLoopRepeat},
		{"retry_storm_count", &c.RetryStormCount, DefaultRetryStormCount},
		{"min_baseline_sessions", &c.MinBaselineSessions, DefaultMinBaselineSessions},
		{"latency_min_calls", &c.LatencyMinCalls, DefaultLatencyMinCalls},
		{"tool_error_min_calls", &c.ToolErrorMinCalls, DefaultToolErrorMinCalls},
	}
	for _, f := range ints {
		if *f.v < 0 {
			return c, agentscope.FieldErrorf(f.name, "must be >= 0 (0 means %d), got %d", f.def, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"retry_storm_window", &c.RetryStormWindow, DefaultRetryStormWindow},
		{"latency_p95", &c.LatencyP95, DefaultLatencyP95},
		{"stall_gap", &c.StallGap, DefaultStallGap},
	}
	for _, f := range durs {
		if *f.v < 0 {
			return c, agentscope.FieldErrorf(f.name, "must be >= 0 (0 means %s), got %s", f.def, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	floats := []struct {
		name     string
		v        *float64
		def, max float64
	}{
		{"cost_spike_factor", &c.CostSpikeFactor, DefaultCostSpikeFactor, 1e6},
		{"tool_error_rate", &c.ToolErrorRate, DefaultToolErrorRate, 1},
		{"budget_ratio", &c.BudgetRatio, DefaultBudgetRatio, 1},
	}
	for _, f := range floats {
		if !(*f.v >= 0 && *f.v <= f.max) { // also refuses NaN
			return c, agentscope.FieldErrorf(f.name, "must be between 0 and %g (0 means %g), got %g", f.max, f.def, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.LoopRepeat < 2 {
		return c, agentscope.FieldErrorf("loop_repeat", "must be at least 2, got %d", c.LoopRepeat)
	}
	for _, b := range c.Budgets {
		if b.LimitUSD < 0 || b.SpentUSD < 0 {
			return c, agentscope.FieldErrorf("budgets", "the %s budget has a negative limit or spend", b.Period)
		}
	}
	return c, nil
}
