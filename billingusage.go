package agentscope

import (
	"encoding/json"
	"strings"
	"time"
)

// BillingUsage is an organisation's plan and its usage in the current
// billing period against each of the plan's limits (GET
// /api/v1/billing/usage, agentscope billing usage).
type BillingUsage struct {
	// Enabled is false when billing is off (no plans file, no Stripe):
	// every organisation is unlimited and the rest is empty.
	Enabled bool   `json:"enabled"`
	OrgID   string `json:"org_id"`
	// Plan is the plan's id and PlanName its name.
	Plan     string `json:"plan,omitempty"`
	PlanName string `json:"plan_name,omitempty"`
	// Period names the billing period (its month, "2006-01", UTC), from
	// PeriodStart (inclusive) to PeriodEnd (exclusive).
	Period      string    `json:"period,omitempty"`
	PeriodStart time.Time `json:"period_start,omitzero"`
	PeriodEnd   time.Time `json:"period_end,omitzero"`
	// OveragePercent is how far past events_per_month the plan may go.
	OveragePercent int64 `json:"overage_percent,omitempty"`
	// RetentionDays is how long sessions are kept (nil: for ever).
	RetentionDays *int64 `json:"retention_days,omitempty"`
	// Limits lists events_per_month, seats, api_keys and
	// managed_run_usd_per_month, in that order.
	Limits []LimitUsage `json:"limits,omitempty"`
}

// LimitUsage is the usage of one limit. Numbers are exact decimals
// (dollars for managed_run_usd_per_month).
type LimitUsage struct {
	Name string      `json:"name"`
	Used json.Number `json:"used"`
	// Limit is nil when the plan sets none (unlimited).
	Limit *json.Number `json:"limit,omitempty"`
	// Percent is Used as a percentage of Limit (nil when unlimited), for
	// bars and the 80 % and 100 % alerts.
	Percent *float64 `json:"percent,omitempty"`
}

// OrgPlan is an organisation and its stored plan ("" for the default).
type OrgPlan struct {
	OrgID string
	Plan  string
}

// PrunedSessions is what one retention pass deleted of an organisation:
// whole sessions, and their events.
type PrunedSessions struct {
	Sessions []string
	Events   int64
}

// PublishedPlans are the billing plans as a process published them to
// the database, for every process opening it (billing.Shared).
type PublishedPlans struct {
	// Version goes up by one with each change of the plans; 0 is none
	// published (billing off unless a process has its own plans).
	Version int64
	// Plans is the plans file's JSON, as billing writes it.
	Plans []byte
	// Stripe: the publisher bills through Stripe (a hosted install,
	// whose owners upgrade on the Billing page), not an operator's quotas.
	Stripe bool
	// PublishedBy names the process that published them (its command,
	// host, process id and plans file).
	PublishedBy string
	// UpdatedAt is when.
	UpdatedAt time.Time
}

// LimitAdviceFor is a plan-limit error's advice on getting past the limit
// with ORG_ID, where it stands for the organisation (agentscope billing
// set-plan --org ORG_ID PLAN), replaced by orgID.
func LimitAdviceFor(advice, orgID string) string {
	return strings.ReplaceAll(advice, "ORG_ID", orgID)
}
