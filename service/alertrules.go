package service

import "github.com/agentscope/agentscope"

// AlertRuleInput is an alert rule as callers write it (create_alert_rule
// and update_alert_rule, POST and PUT /api/v1/alerts/rules, agentscope
// alerts create): everything but its id, organisation and times. Enabled
// defaults to true. Package alerts' Service keeps the rules.
type AlertRuleInput struct {
	Name          string   `json:"name" jsonschema:"what the rule is for"`
	Enabled       *bool    `json:"enabled,omitempty" jsonschema:"false pauses the rule (default true)"`
	Kinds         []string `json:"kinds" jsonschema:"signals that fire it: detector kinds (loop, retry_storm, provider_switch, cost_spike, latency_slo, tool_error_rate, stall, budget_proximity, schema_drift), risk (an investigation's risk level), budget (spend against a budget), plan_limit (the organisation's usage at 80% (medium) or 100% (high) of a plan limit, once per limit and billing period), or * for all"`
	MinSeverity   string   `json:"min_severity,omitempty" jsonschema:"lowest severity or risk level that fires it: low, medium, high or critical"`
	BudgetPercent int      `json:"budget_percent,omitempty" jsonschema:"for budget: the percentage of a budget spent that fires it, e.g. 80"`
	Agents        []string `json:"agents,omitempty" jsonschema:"only signals about these agents (a rule with agents never matches plan_limit, which is about the organisation)"`
	URL           string   `json:"url" jsonschema:"the webhook: a Slack incoming-webhook URL or any HTTPS endpoint; on update, empty or the redacted form rules are shown with (scheme://host) keeps the current one"`
	Format        string   `json:"format,omitempty" jsonschema:"slack or json (default json)"`
	Secret        string   `json:"secret,omitempty" jsonschema:"HMAC-SHA256 signing secret; generated when empty and shown once"`
}

// Rule is the rule in describes, of no organisation yet.
func (in AlertRuleInput) Rule() agentscope.AlertRule {
	enabled := in.Enabled == nil || *in.Enabled
	return agentscope.AlertRule{Name: in.Name, Enabled: enabled, Kinds: in.Kinds, MinSeverity: agentscope.RiskLevel(in.MinSeverity),
		BudgetPercent: in.BudgetPercent, Agents: in.Agents, URL: in.URL, Format: agentscope.AlertFormat(in.Format), Secret: in.Secret}
}
