package web

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

// eventRow is one event as the replay list shows it. web/ui/static/app.js
// summarises events that arrive live with the same rules (summarize).
func eventRow(ev agentscope.Event, t0 time.Time) ui.EventRow {
	b, _ := json.MarshalIndent(ev, "", "  ")
	return ui.EventRow{
		Event:    ev,
		OffsetMS: float64(ev.TS.Sub(t0).Microseconds()) / 1000,
		Summary:  summarize(&ev),
		JSON:     string(b),
		Error:    isErrorEvent(&ev),
	}
}

// isErrorEvent reports an event that records a failure.
func isErrorEvent(ev *agentscope.Event) bool {
	switch {
	case ev.Error != "" && ev.Type != agentscope.BudgetWarning && ev.Type != agentscope.ProviderSwitched && ev.Type != agentscope.RunRetried:
		return true
	case ev.Type == agentscope.ToolReturned && ev.Status == "error",
		ev.Type == agentscope.SessionCompleted && ev.Status == string(agentscope.StatusFailed),
		ev.Type == agentscope.RunFailed, ev.Type == agentscope.BudgetExceeded:
		return true
	}
	return false
}

// eventAlert is alerts.EventAlert (an alert rule's notification, in the
// session it is about or, for plan limits, the organisation's billing
// session), which web does not import.
const eventAlert agentscope.EventType = "Alert"

// summarize is an event's one-line description.
func summarize(ev *agentscope.Event) string {
	var parts []string
	add := func(s ...string) {
		for _, p := range s {
			if p != "" {
				parts = append(parts, p)
			}
		}
	}
	switch ev.Type {
	case agentscope.SessionStarted, agentscope.RunQueued:
		add(ev.Agent, preview(ev.Input))
	case agentscope.ModelInvoked:
		add(join("/", ev.Provider, ev.Model))
	case agentscope.ModelCompleted:
		add(ev.Model)
		if ev.TokensIn != nil || ev.TokensOut != nil {
			add(ui.Tokens(deref(ev.TokensIn)) + "→" + ui.Tokens(deref(ev.TokensOut)) + " tokens")
		}
		if ev.DurationMS != nil {
			add(ui.Millis(*ev.DurationMS))
		}
		add(ev.FinishReason)
	case agentscope.ToolCalled:
		add(ev.Tool, preview(ev.Arguments))
	case agentscope.ToolReturned:
		add(ev.Tool, ev.Status)
		if ev.DurationMS != nil {
			add(ui.Millis(*ev.DurationMS))
		}
	case agentscope.CostRecorded:
		if ev.AmountUSD != nil {
			add(ui.Money(*ev.AmountUSD))
		}
		if src, ok := strings.CutPrefix(ev.Source, service.ComputedSourcePrefix); ok {
			add(ev.Model, "computed from "+src)
		} else {
			add(ev.Model, ev.Source)
		}
	case agentscope.SessionCompleted:
		add(ev.Status, preview(ev.Output))
	case agentscope.ProviderSwitched:
		add("→ " + join("/", ev.Provider, ev.Model))
	case eventAlert:
		add(attr(ev, "severity"), attr(ev, "risk_level"), attr(ev, "title"))
	case agentscope.InvestigationReported:
		if st := attr(ev, "report_status"); st != "" {
			add("report " + st)
		}
		if r := attr(ev, "risk_level"); r != "" {
			add("risk " + r)
		}
	}
	add(ev.Error)
	return strings.Join(parts, " · ")
}

// attr is a string attribute of an event, or "".
func attr(ev *agentscope.Event, key string) string {
	s, _ := ev.Attributes[key].(string)
	return s
}

func join(sep string, s ...string) string {
	var out []string
	for _, p := range s {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// preview shortens a JSON value to a line.
func preview(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	s := string(raw)
	var str string
	if json.Unmarshal(raw, &str) == nil {
		s = str
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}
