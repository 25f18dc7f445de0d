package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/agentscope/agentscope"
)

// EventAlert is the System event type that records an alert in a session's
// timeline (and so in Splunk): which rule fired on what, and where it was
// sent (scheme and host only). It never carries the rule's secret. It may
// be appended after the session ended (an investigation's report about a
// finished run raises alerts on that run).
const EventAlert agentscope.EventType = "Alert"

func init() {
	agentscope.RegisterEventType(EventAlert, agentscope.EventSpec{System: true, AfterEnd: true})
}

// Alert is one rule's notification of one signal: what the webhook receives
// and what the Alert event records.
type Alert struct {
	// ID is derived from the organisation, rule, session, kind and key, so
	// the same occurrence yields the same alert: its event is stored once
	// and Enqueue queues one delivery.
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	RuleID      string    `json:"rule_id"`
	RuleName    string    `json:"rule_name"`
	Destination string    `json:"destination"` // scheme://host of the rule's URL
	Signal      Signal    `json:"signal"`
	At          time.Time `json:"at"`
}

// NewAlert returns the alert of rule r for signal s, raised at at.
func NewAlert(r agentscope.AlertRule, s Signal, at time.Time) Alert {
	key := s.Key
	if key == "" {
		if s.Kind == agentscope.AlertKindBudget {
			key = "pct:" + strconv.Itoa(r.BudgetPercent)
		} else {
			key = "level:" + string(s.level())
		}
	}
	h := sha256.New()
	for _, part := range []string{s.OrgID, r.ID, s.SessionID, s.Kind, key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return Alert{
		ID:          "alert-" + hex.EncodeToString(h.Sum(nil)[:16]),
		OrgID:       s.OrgID,
		RuleID:      r.ID,
		RuleName:    r.Name,
		Destination: agentscope.RedactURL(r.URL),
		Signal:      s,
		At:          at.UTC().Truncate(time.Microsecond),
	}
}

// maxEventDetail bounds the detail an Alert event repeats; the webhook
// receives it whole.
const maxEventDetail = 1000

// Event returns the Alert event of a: its event_id is the alert's id, so
// appending it twice stores it once. SessionID and Agent are left for the
// caller (Append fills them from the session it is appended to), since the
// signal's session may have ended: an investigation's alert can be recorded
// in the investigator's session instead. attributes.target_session_id names
// the signal's session.
func (a Alert) Event() agentscope.Event {
	s := a.Signal
	attrs := map[string]any{
		"alert_id":    a.ID,
		"rule_id":     a.RuleID,
		"rule_name":   a.RuleName,
		"kind":        s.Kind,
		"title":       truncate(s.Title, maxEventDetail),
		"destination": a.Destination,
	}
	optional := map[string]string{
		"severity":          string(s.Severity),
		"risk_level":        string(s.RiskLevel),
		"detail":            truncate(s.Detail, maxEventDetail),
		"target_session_id": s.SessionID,
		"target_agent":      s.Agent,
		"report_url":        s.ReportURL,
	}
	for k, v := range optional {
		if v != "" {
			attrs[k] = v
		}
	}
	if s.BudgetPercent > 0 {
		attrs["budget_percent"] = s.BudgetPercent
	}
	if pl := s.PlanLimit; pl != nil {
		// Attributes are flat: the limit's name, its usage and threshold.
		attrs["plan_limit"], attrs["used"], attrs["limit"], attrs["percent"] = pl.Name, pl.Used, pl.Limit, pl.Percent
		attrs["threshold"], attrs["plan"], attrs["period"] = pl.Threshold, pl.Plan, pl.Period
	}
	return agentscope.Event{EventID: a.ID, Type: EventAlert, TS: a.At, Attributes: attrs}
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
