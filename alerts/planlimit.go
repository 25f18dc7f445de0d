package alerts

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/agentscope/agentscope"
)

// Plan-limit signals: an organisation's usage reaching 80 % and 100 % of
// each of its plan's limits (agentscope.BillingUsage), which the billing
// job hands to RaisePlanLimitAlerts.

// PlanLimit is what a plan-limit signal reports (AlertKindPlanLimit).
// Numbers are exact decimals, as agentscope.LimitUsage's (dollars for
// managed_run_usd_per_month).
type PlanLimit struct {
	// Name is the limit: events_per_month, seats, api_keys or
	// managed_run_usd_per_month.
	Name    string      `json:"name"`
	Used    json.Number `json:"used"`
	Limit   json.Number `json:"limit"`
	Percent float64     `json:"percent"`
	// Threshold is the percentage of Limit reached: 80 or 100.
	Threshold int `json:"threshold"`
	// Plan is the organisation's plan and Period the billing period
	// ("2006-01") the usage is of.
	Plan   string `json:"plan"`
	Period string `json:"period"`
}

// PlanLimitThresholds are the percentages of a limit that raise a
// plan-limit signal, with the signal's severity.
var PlanLimitThresholds = []struct {
	Percent  int
	Severity Severity
}{{80, SeverityMedium}, {100, SeverityHigh}}

// PlanLimitSessionID is the session an organisation's plan-limit alerts of
// period are recorded in: one per billing period, made by the first.
func PlanLimitSessionID(period string) string { return "billing-" + period }

// PlanLimitAgent is the agent of the plan-limit alerts' sessions.
const PlanLimitAgent = "agentscope-billing"

// PlanLimitSignals are the signals of u, the usage of the organisation
// named orgName (its id when empty): one per limit and threshold reached,
// keyed by limit, period and threshold so a rule alerts once for each in a
// billing period. Unlimited limits, unused ones and billing off signal
// nothing.
func PlanLimitSignals(orgName string, u agentscope.BillingUsage) []Signal {
	if !u.Enabled {
		return nil
	}
	if orgName == "" {
		orgName = u.OrgID
	}
	sid := PlanLimitSessionID(u.Period)
	var out []Signal
	for _, l := range u.Limits {
		if l.Limit == nil {
			continue
		}
		used, ok1 := new(big.Rat).SetString(string(l.Used))
		limit, ok2 := new(big.Rat).SetString(string(*l.Limit))
		if !ok1 || !ok2 || used.Sign() <= 0 {
			continue
		}
		pct := 0.0
		if l.Percent != nil {
			pct = *l.Percent
		}
		for _, th := range PlanLimitThresholds {
			// used/limit >= th, exactly: no float rounds 80 of 100 below.
			if new(big.Rat).Mul(used, big.NewRat(100, 1)).Cmp(new(big.Rat).Mul(limit, big.NewRat(int64(th.Percent), 1))) < 0 {
				continue
			}
			pl := &PlanLimit{Name: l.Name, Used: l.Used, Limit: *l.Limit, Percent: pct, Threshold: th.Percent, Plan: u.Plan, Period: u.Period}
			out = append(out, Signal{OrgID: u.OrgID, SessionID: sid, Kind: agentscope.AlertKindPlanLimit, Severity: th.Severity,
				Title: fmt.Sprintf("Organisation %s has used %s of its plan's %s (%s of %s) in %s",
					orgName, shownPercent(pct), l.Name, shownAmount(l.Name, l.Used), shownAmount(l.Name, *l.Limit), u.Period),
				Detail:    planLimitDetail(u, l.Name, th.Percent),
				Key:       fmt.Sprintf("%s|%s|%d", l.Name, u.Period, th.Percent),
				PlanLimit: pl})
		}
	}
	return out
}

// planLimitDetail says what reaching threshold of limit means and what to
// do about it.
func planLimitDetail(u agentscope.BillingUsage, limit string, threshold int) string {
	var what string
	switch limit {
	case "events_per_month":
		what = "events past the limit are refused at ingest"
		if u.OveragePercent > 0 {
			what = fmt.Sprintf("events past the limit and its %d%% overage allowance are refused at ingest", u.OveragePercent)
		}
	case "seats":
		what = "invitations past the limit (members and pending invitations) are refused"
	case "api_keys":
		what = "new API keys past the limit are refused"
	case "managed_run_usd_per_month":
		what = "managed runs are refused once their spend reaches the limit"
	default:
		what = "what goes past the limit is refused"
	}
	reached := "is close to its limit"
	if threshold >= 100 {
		reached = "has reached its limit"
	}
	return fmt.Sprintf("Plan %s %s for %s: %s until the period ends (%s) or the plan changes. Owners upgrade on the Billing page; the operator can move the organisation (agentscope billing set-plan).",
		cmpOr(u.PlanName, u.Plan), reached, u.Period, what, u.PeriodEnd.Format("2006-01-02 15:04 MST"))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// shownPercent is a usage percentage rounded down ("82%"): 99.9 % is not
// shown as the 100 % it has not reached.
func shownPercent(p float64) string {
	return fmt.Sprintf("%.0f%%", math.Floor(p))
}

// shownAmount is an amount of limit for people: counts with thousands
// separators (82,000), dollars with a $ ($4.5).
func shownAmount(limit string, n json.Number) string {
	s := string(n)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 && whole[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	if strings.HasSuffix(limit, "_usd_per_month") {
		return "$" + b.String()
	}
	return b.String()
}
