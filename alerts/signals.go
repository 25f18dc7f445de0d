package alerts

import (
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// The signals of what AgentScope finds: detector findings, investigation
// reports and budget spend, as rules match them.

// FindingSignals turns detector findings about session sid of agent into
// signals, each keyed by the first event that shows it.
func FindingSignals(sid, agent string, fs []agentscope.DetectorFinding) []Signal {
	out := make([]Signal, 0, len(fs))
	for _, f := range fs {
		key := f.Kind
		if len(f.EventIDs) > 0 {
			key = f.EventIDs[0]
		}
		out = append(out, Signal{SessionID: sid, Agent: agent, Kind: f.Kind, Severity: Severity(f.Severity),
			Title: f.Title, Detail: f.Detail, Key: key})
	}
	return out
}

// ReportSignals are an investigation report's signals: its risk level and
// the detectors' findings.
func ReportSignals(r agentscope.Report) []Signal {
	detail := r.Summary
	if r.Status == agentscope.ReportFailed {
		detail = "investigation failed: " + r.Error
	}
	sigs := []Signal{{SessionID: r.TargetSessionID, Agent: r.Agent, Kind: agentscope.AlertKindRisk, RiskLevel: Severity(r.RiskLevel),
		Title: fmt.Sprintf("Investigation of %s: %s risk", r.TargetSessionID, r.RiskLevel), Detail: detail, Key: r.SessionID + ":" + string(r.Status)}}
	return append(sigs, FindingSignals(r.TargetSessionID, r.Agent, r.DetectorFindings)...)
}

// BudgetSignals are the agent's budgets' spend levels, one per budget and
// period, keyed so a rule alerts once per period.
func BudgetSignals(agent string, bs []agentscope.BudgetStatus) []Signal {
	var out []Signal
	for _, b := range bs {
		if b.LimitUSD <= 0 {
			continue
		}
		pct := float64(b.SpentUSD) / float64(b.LimitUSD) * 100
		out = append(out, Signal{Agent: agent, Kind: agentscope.AlertKindBudget, BudgetPercent: pct,
			Title:  fmt.Sprintf("%s has spent %.0f%% of its %s budget", agent, pct, b.Period),
			Detail: fmt.Sprintf("$%s of $%s this %s (since %s)", b.SpentUSD, b.LimitUSD, b.Period, b.PeriodStart.Format(time.RFC3339)),
			Key:    fmt.Sprintf("%s|%s|%s", agent, b.Period, b.PeriodStart.Format(time.RFC3339))})
	}
	return out
}
