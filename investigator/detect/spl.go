package detect

import (
	"strconv"

	"github.com/agentscope/agentscope"
)

// The findings' SPL is the session's scoped search (agentscope.SessionQuery)
// followed by fixed text. Values from event data only ever appear inside
// double quotes, escaped, and in where clauses, where a quoted string is a
// literal: never a wildcard, a field name or syntax. Numbers are
// formatted by strconv. Every command used is in the embedded engine's
// subset (docs/spl.md).

// splString returns s as an SPL double-quoted string literal.
func splString(s string) string { return `"` + agentscope.EscapeSPLString(s) + `"` }

func splInt(n int64) string { return strconv.FormatInt(n, 10) }

func (s *session) splToolCalls(tool string) string {
	return s.scope + ` type="ToolCalled" | where tool=` + splString(tool) +
		` | table _time seq event_id tool call_id arguments.*`
}

func (s *session) splModelRequests(provider, model string) string {
	return s.scope + ` type="ModelInvoked" | where provider=` + splString(provider) + ` AND model=` + splString(model) +
		` | table _time seq event_id provider model input input.* attributes.*`
}

func (s *session) splToolFailures(tool string) string {
	return s.scope + ` type="ToolReturned" | where tool=` + splString(tool) + ` AND (status="error" OR isnotnull(error))` +
		` | table _time seq event_id tool call_id status error`
}

func (s *session) splProviderFailures(provider string) string {
	return s.scope + ` type="ModelCompleted" | where provider=` + splString(provider) + ` AND isnotnull(error)` +
		` | table _time seq event_id provider model error`
}

func (s *session) splModelCalls() string {
	return s.scope + ` (type="ModelInvoked" OR type="ModelCompleted" OR type="ProviderSwitched")` +
		` | table _time seq event_id type provider model error`
}

func (s *session) splCosts() string {
	return s.scope + ` type="CostRecorded" | eventstats sum(amount_usd) AS session_cost_usd` +
		` | table _time seq event_id amount_usd session_cost_usd provider model`
}

func (s *session) splSlowCalls(thresholdMS float64) string {
	return s.scope + ` type="ModelCompleted" | eventstats count AS calls perc95(duration_ms) AS p95_ms` +
		` | where duration_ms > ` + strconv.FormatFloat(thresholdMS, 'f', -1, 64) +
		` | table _time seq event_id provider model duration_ms calls p95_ms`
}

func (s *session) splToolReturns(tool string) string {
	return s.scope + ` type="ToolReturned" | where tool=` + splString(tool) +
		` | eval failed=if(status="error" OR isnotnull(error), 1, 0)` +
		` | eventstats count AS calls sum(failed) AS failures` +
		` | table _time seq event_id tool status error calls failures`
}

// splSeqRange lists the events from seq from to seq to; to < 0 means to
// the end.
func (s *session) splSeqRange(from, to int64) string {
	where := ` | where seq >= ` + splInt(from)
	if to >= 0 {
		where += ` AND seq <= ` + splInt(to)
	}
	return s.scope + where + ` | table _time seq event_id type`
}

func (s *session) splEventsOfType(typ string) string {
	return s.scope + ` | where type=` + splString(typ) + ` | table _time seq event_id type attributes.*`
}
