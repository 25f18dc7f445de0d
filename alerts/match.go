package alerts

import "slices"

// Signal is something that happened that rules may alert on: a detector's
// finding, an investigation's risk level, or a budget threshold reached.
type Signal struct {
	OrgID     string `json:"org_id"`
	SessionID string `json:"session_id,omitempty"`
	Agent     string `json:"agent,omitempty"`
	// Kind is a detector kind (DetectorKinds), KindRisk or KindBudget.
	Kind string `json:"kind"`
	// Severity is a detector finding's severity.
	Severity Severity `json:"severity,omitempty"`
	// RiskLevel is an investigation report's risk level (KindRisk).
	RiskLevel Severity `json:"risk_level,omitempty"`
	// BudgetPercent is how much of a budget is spent, in percent
	// (KindBudget, budget_proximity).
	BudgetPercent float64 `json:"budget_percent,omitempty"`
	Title         string  `json:"title"`
	Detail        string  `json:"detail,omitempty"`
	// Key identifies the occurrence: a rule alerts once per organisation,
	// session, kind and key (see NewAlert). Empty means one alert per
	// severity (or, for budgets, per threshold).
	Key        string `json:"key,omitempty"`
	ReportURL  string `json:"report_url,omitempty"`
	SessionURL string `json:"session_url,omitempty"`
}

// level is what MinSeverity is compared with.
func (s Signal) level() Severity {
	if s.Kind == KindRisk {
		return s.RiskLevel
	}
	return s.Severity
}

// Match returns the rules, in their order, that s matches (see Rule for the
// conditions).
func Match(rules []Rule, s Signal) []Rule {
	var out []Rule
	for _, r := range rules {
		if r.matches(s) {
			out = append(out, r)
		}
	}
	return out
}

func (r Rule) matches(s Signal) bool {
	if !r.Enabled || r.OrgID != s.OrgID || s.Kind == "" {
		return false
	}
	if len(r.Agents) > 0 && !slices.Contains(r.Agents, s.Agent) {
		return false
	}
	if !slices.Contains(r.Kinds, s.Kind) && !slices.Contains(r.Kinds, KindAny) {
		return false
	}
	if s.Kind == KindBudget {
		return r.BudgetPercent > 0 && s.BudgetPercent >= float64(r.BudgetPercent)
	}
	if r.BudgetPercent > 0 && s.BudgetPercent > 0 && s.BudgetPercent < float64(r.BudgetPercent) {
		return false
	}
	return r.MinSeverity == "" || s.level().Rank() >= r.MinSeverity.Rank()
}
