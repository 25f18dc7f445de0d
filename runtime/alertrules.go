package runtime

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/mcpserver"
)

// AlertRuleInput is a rule as callers write it: everything but its id,
// organisation and times. Enabled defaults to true.
type AlertRuleInput struct {
	Name          string   `json:"name" jsonschema:"what the rule is for"`
	Enabled       *bool    `json:"enabled,omitempty" jsonschema:"false pauses the rule (default true)"`
	Kinds         []string `json:"kinds" jsonschema:"signals that fire it: detector kinds (loop, retry_storm, provider_switch, cost_spike, latency_slo, tool_error_rate, stall, budget_proximity, schema_drift), risk (an investigation's risk level), budget (spend against a budget), or * for all"`
	MinSeverity   string   `json:"min_severity,omitempty" jsonschema:"lowest severity or risk level that fires it: low, medium, high or critical"`
	BudgetPercent int      `json:"budget_percent,omitempty" jsonschema:"for budget: the percentage of a budget spent that fires it, e.g. 80"`
	Agents        []string `json:"agents,omitempty" jsonschema:"only signals about these agents"`
	URL           string   `json:"url" jsonschema:"the webhook: a Slack incoming-webhook URL or any HTTPS endpoint"`
	Format        string   `json:"format,omitempty" jsonschema:"slack or json (default json)"`
	Secret        string   `json:"secret,omitempty" jsonschema:"HMAC-SHA256 signing secret; generated when empty and shown once"`
}

func (in AlertRuleInput) rule(org string) agentscope.AlertRule {
	enabled := in.Enabled == nil || *in.Enabled
	return agentscope.AlertRule{OrgID: org, Name: in.Name, Enabled: enabled, Kinds: in.Kinds, MinSeverity: alerts.Severity(in.MinSeverity),
		BudgetPercent: in.BudgetPercent, Agents: in.Agents, URL: in.URL, Format: agentscope.AlertFormat(in.Format), Secret: in.Secret}
}

// shown is a rule as listed: without its secret and with the webhook's
// path (which holds Slack's token) hidden.
func shown(r agentscope.AlertRule) agentscope.AlertRule {
	r.Secret = ""
	r.URL = agentscope.RedactURL(r.URL)
	return r
}

// CreateAlertRule stores a new rule and returns it with its secret: the
// only time the secret is shown.
func (rt *Runtime) CreateAlertRule(ctx context.Context, in AlertRuleInput) (agentscope.AlertRule, error) {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	if err := alerts.CheckDestination(in.URL, rt.opts.AlertDelivery.Network); err != nil {
		return agentscope.AlertRule{}, err
	}
	r, err := rt.store.CreateAlertRule(ctx, in.rule(org))
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	rt.forgetRules(org)
	r.URL = agentscope.RedactURL(r.URL)
	return r, nil
}

// UpdateAlertRule replaces a rule; its secret is kept unless a new one is
// given.
func (rt *Runtime) UpdateAlertRule(ctx context.Context, id string, in AlertRuleInput) (agentscope.AlertRule, error) {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	if err := alerts.CheckDestination(in.URL, rt.opts.AlertDelivery.Network); err != nil {
		return agentscope.AlertRule{}, err
	}
	r := in.rule(org)
	r.ID = id
	r, err = rt.store.UpdateAlertRule(ctx, r)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	rt.forgetRules(org)
	return shown(r), nil
}

// ListAlertRules lists the organisation's rules, without secrets.
func (rt *Runtime) ListAlertRules(ctx context.Context) ([]agentscope.AlertRule, error) {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := rt.store.ListAlertRules(ctx, org)
	for i := range rs {
		rs[i] = shown(rs[i])
	}
	return rs, err
}

// GetAlertRule returns one rule, without its secret.
func (rt *Runtime) GetAlertRule(ctx context.Context, id string) (agentscope.AlertRule, error) {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	r, err := rt.store.GetAlertRule(ctx, org, id)
	return shown(r), err
}

// DeleteAlertRule deletes a rule; its pending deliveries are cancelled.
func (rt *Runtime) DeleteAlertRule(ctx context.Context, id string) error {
	org, err := agentscope.OrgFrom(ctx)
	if err != nil {
		return err
	}
	if err := rt.store.DeleteAlertRule(ctx, org, id); err != nil {
		return err
	}
	rt.forgetRules(org)
	return nil
}

// AlertRulesOutput is list_alert_rules' result.
type AlertRulesOutput struct {
	Rules []agentscope.AlertRule `json:"rules"`
}

// AlertRuleIDInput names one rule.
type AlertRuleIDInput struct {
	ID string `json:"id" jsonschema:"the rule's id"`
}

// UpdateAlertRuleInput is update_alert_rule's input.
type UpdateAlertRuleInput struct {
	ID string `json:"id" jsonschema:"the rule's id"`
	AlertRuleInput
}

// DeletedOutput confirms a deletion.
type DeletedOutput struct {
	Deleted string `json:"deleted"`
}

// registerAlertRules adds the alert rule tools.
func (rt *Runtime) registerAlertRules(s *mcpserver.Server) {
	mcpserver.AddTool(s, &mcp.Tool{
		Name:  "create_alert_rule",
		Title: "Create an alert rule",
		Description: "Create a rule that sends a webhook (Slack-compatible or JSON, signed with HMAC-SHA256 in X-AgentScope-Signature) and records an Alert event when a detector finding, an investigation's risk level or a budget threshold matches. " +
			"The signing secret is returned once, here.",
		Annotations: &mcp.ToolAnnotations{Title: "Create an alert rule", DestructiveHint: ptr(false), OpenWorldHint: ptr(true)},
	}, func(ctx context.Context, in AlertRuleInput) (agentscope.AlertRule, error) {
		return rt.CreateAlertRule(ctx, in)
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "list_alert_rules",
		Title:       "List alert rules",
		Description: "List the organisation's alert rules (without secrets; webhook URLs shown as scheme and host).",
		Annotations: &mcp.ToolAnnotations{Title: "List alert rules", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, _ struct{}) (AlertRulesOutput, error) {
		rs, err := rt.ListAlertRules(ctx)
		return AlertRulesOutput{Rules: rs}, err
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "update_alert_rule",
		Title:       "Update an alert rule",
		Description: "Replace an alert rule's settings; the secret is kept unless a new one is given.",
		Annotations: &mcp.ToolAnnotations{Title: "Update an alert rule", DestructiveHint: ptr(true), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in UpdateAlertRuleInput) (agentscope.AlertRule, error) {
		return rt.UpdateAlertRule(ctx, in.ID, in.AlertRuleInput)
	})
	mcpserver.AddTool(s, &mcp.Tool{
		Name:        "delete_alert_rule",
		Title:       "Delete an alert rule",
		Description: "Delete an alert rule; its pending webhook deliveries are cancelled.",
		Annotations: &mcp.ToolAnnotations{Title: "Delete an alert rule", DestructiveHint: ptr(true), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in AlertRuleIDInput) (DeletedOutput, error) {
		return DeletedOutput{Deleted: in.ID}, rt.DeleteAlertRule(ctx, in.ID)
	})
}
