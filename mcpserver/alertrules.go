package mcpserver

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// AlertRules is what the alert rule tools call (package alerts' Service
// implements it), with the caller's organisation in ctx.
type AlertRules interface {
	CreateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	UpdateAlertRule(ctx context.Context, id string, r agentscope.AlertRule) (agentscope.AlertRule, error)
	ListAlertRules(ctx context.Context) ([]agentscope.AlertRule, error)
	DeleteAlertRule(ctx context.Context, id string) error
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
	service.AlertRuleInput
}

// DeletedOutput confirms a deletion.
type DeletedOutput struct {
	Deleted string `json:"deleted"`
}

// addAlertRules adds the alert rule tools, served by rules.
func (s *Server) addAlertRules(rules AlertRules) {
	addTool(s, &mcp.Tool{
		Name:  "create_alert_rule",
		Title: "Create an alert rule",
		Description: "Create a rule that sends a webhook (Slack-compatible or JSON, signed with HMAC-SHA256 in X-AgentScope-Signature) and records an Alert event when a detector finding, an investigation's risk level, a budget threshold or (plan_limit) the organisation's usage at 80% or 100% of a plan limit matches. " +
			"The signing secret is returned once, here.",
		Annotations: &mcp.ToolAnnotations{Title: "Create an alert rule", DestructiveHint: ptr(false), OpenWorldHint: ptr(true)},
	}, func(ctx context.Context, in service.AlertRuleInput) (agentscope.AlertRule, error) {
		return rules.CreateAlertRule(ctx, in.Rule())
	})
	addTool(s, &mcp.Tool{
		Name:        "list_alert_rules",
		Title:       "List alert rules",
		Description: "List the organisation's alert rules (without secrets; webhook URLs shown as scheme and host).",
		Annotations: &mcp.ToolAnnotations{Title: "List alert rules", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, _ struct{}) (AlertRulesOutput, error) {
		rs, err := rules.ListAlertRules(ctx)
		return AlertRulesOutput{Rules: rs}, err
	})
	addTool(s, &mcp.Tool{
		Name:        "update_alert_rule",
		Title:       "Update an alert rule",
		Description: "Replace an alert rule's settings; the secret is kept unless a new one is given.",
		Annotations: &mcp.ToolAnnotations{Title: "Update an alert rule", DestructiveHint: ptr(true), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in UpdateAlertRuleInput) (agentscope.AlertRule, error) {
		return rules.UpdateAlertRule(ctx, in.ID, in.AlertRuleInput.Rule())
	})
	addTool(s, &mcp.Tool{
		Name:        "delete_alert_rule",
		Title:       "Delete an alert rule",
		Description: "Delete an alert rule; its pending webhook deliveries are cancelled.",
		Annotations: &mcp.ToolAnnotations{Title: "Delete an alert rule", DestructiveHint: ptr(true), IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in AlertRuleIDInput) (DeletedOutput, error) {
		return DeletedOutput{Deleted: in.ID}, rules.DeleteAlertRule(ctx, in.ID)
	})
}
