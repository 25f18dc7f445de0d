package alerts

import (
	"slices"

	"github.com/agentscope/agentscope"
)

// Severity grades a signal: a detector finding's severity or an
// investigation's risk level, the same four words (agentscope.RiskLevel).
type Severity = agentscope.RiskLevel

// Severities, lowest first.
const (
	SeverityLow      = agentscope.RiskLow
	SeverityMedium   = agentscope.RiskMedium
	SeverityHigh     = agentscope.RiskHigh
	SeverityCritical = agentscope.RiskCritical
)

// Signal is something that happened that rules may alert on: a detector's
// finding, an investigation's risk level, a budget threshold reached, or a
// plan limit's.
type Signal struct {
	OrgID     string `json:"org_id"`
	SessionID string `json:"session_id,omitempty"`
	Agent     string `json:"agent,omitempty"`
	// Kind is a detector kind (agentscope.AlertDetectorKinds),
	// agentscope.AlertKindRisk, agentscope.AlertKindBudget or
	// agentscope.AlertKindPlanLimit.
	Kind string `json:"kind"`
	// Severity is a detector finding's severity.
	Severity Severity `json:"severity,omitempty"`
	// RiskLevel is an investigation report's risk level (AlertKindRisk).
	RiskLevel Severity `json:"risk_level,omitempty"`
	// BudgetPercent is how much of a budget is spent, in percent
	// (AlertKindBudget, budget_proximity).
	BudgetPercent float64 `json:"budget_percent,omitempty"`
	Title         string  `json:"title"`
	Detail        string  `json:"detail,omitempty"`
	// Key identifies the occurrence: a rule alerts once per organisation,
	// session, kind and key (see NewAlert). Empty means one alert per
	// severity (or, for budgets, per threshold).
	Key        string `json:"key,omitempty"`
	ReportURL  string `json:"report_url,omitempty"`
	SessionURL string `json:"session_url,omitempty"`
	// PlanLimit is what a plan-limit signal reports (AlertKindPlanLimit).
	PlanLimit *PlanLimit `json:"plan_limit,omitempty"`
}

// level is what MinSeverity is compared with.
func (s Signal) level() Severity {
	if s.Kind == agentscope.AlertKindRisk {
		return s.RiskLevel
	}
	return s.Severity
}

// Match returns the rules, in their order, that s matches (see
// agentscope.AlertRule for the conditions).
func Match(rules []agentscope.AlertRule, s Signal) []agentscope.AlertRule {
	var out []agentscope.AlertRule
	for _, r := range rules {
		if matches(r, s) {
			out = append(out, r)
		}
	}
	return out
}

// matches reports whether rule r matches s.
func matches(r agentscope.AlertRule, s Signal) bool {
	if !r.Enabled || r.OrgID != s.OrgID || s.Kind == "" {
		return false
	}
	if len(r.Agents) > 0 && !slices.Contains(r.Agents, s.Agent) {
		return false
	}
	if !slices.Contains(r.Kinds, s.Kind) && !slices.Contains(r.Kinds, agentscope.AlertKindAny) {
		return false
	}
	if s.Kind == agentscope.AlertKindBudget {
		return r.BudgetPercent > 0 && s.BudgetPercent >= float64(r.BudgetPercent)
	}
	if r.BudgetPercent > 0 && s.BudgetPercent > 0 && s.BudgetPercent < float64(r.BudgetPercent) {
		return false
	}
	return r.MinSeverity == "" || s.level().Rank() >= r.MinSeverity.Rank()
}
