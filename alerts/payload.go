package alerts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// Payload is the body of a json-format delivery.
type Payload struct {
	// Type is always "agentscope.alert".
	Type          string    `json:"type"`
	ID            string    `json:"id"`
	At            time.Time `json:"at"`
	OrgID         string    `json:"org_id"`
	RuleID        string    `json:"rule_id"`
	RuleName      string    `json:"rule_name"`
	SessionID     string    `json:"session_id,omitempty"`
	Agent         string    `json:"agent,omitempty"`
	Kind          string    `json:"kind"`
	Severity      Severity  `json:"severity,omitempty"`
	RiskLevel     Severity  `json:"risk_level,omitempty"`
	BudgetPercent float64   `json:"budget_percent,omitempty"`
	Title         string    `json:"title"`
	Detail        string    `json:"detail,omitempty"`
	ReportURL     string    `json:"report_url,omitempty"`
	SessionURL    string    `json:"session_url,omitempty"`
	// PlanLimit is a plan_limit alert's limit, usage and threshold.
	PlanLimit *PlanLimit `json:"plan_limit,omitempty"`
}

// PayloadType is Payload.Type.
const PayloadType = "agentscope.alert"

// Body renders a's delivery body in format f.
func Body(f agentscope.AlertFormat, a Alert) ([]byte, error) {
	switch f {
	case agentscope.AlertFormatJSON, "":
		s := a.Signal
		return json.Marshal(Payload{
			Type: PayloadType, ID: a.ID, At: a.At, OrgID: a.OrgID, RuleID: a.RuleID, RuleName: a.RuleName,
			SessionID: s.SessionID, Agent: s.Agent, Kind: s.Kind, Severity: s.Severity, RiskLevel: s.RiskLevel,
			BudgetPercent: s.BudgetPercent, Title: s.Title, Detail: s.Detail, ReportURL: s.ReportURL, SessionURL: s.SessionURL,
			PlanLimit: s.PlanLimit,
		})
	case agentscope.AlertFormatSlack:
		return json.Marshal(slackMessage(a))
	}
	return nil, fmt.Errorf("unknown alert format %q", f)
}

// Slack's limits (Block Kit): section text 3000 characters, a field 2000,
// header 150; we stay under them.
const (
	slackTextMax   = 2900
	slackFieldMax  = 1900
	slackHeaderMax = 150
)

type slackText struct {
	Type string `json:"type"` // "mrkdwn" or "plain_text"
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackBody struct {
	// Text is the notification's fallback and preview.
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

// slackMessage renders a as a Slack incoming-webhook message: a header, the
// detail, the facts as fields, and the links and rule as context.
func slackMessage(a Alert) slackBody {
	s := a.Signal
	grade := s.level()
	head := s.Title
	if head == "" {
		head = s.Kind
	}
	fallback := head
	if grade != "" {
		fallback = "[" + strings.ToUpper(string(grade)) + "] " + head
	}
	if s.Agent != "" {
		fallback += " (agent " + s.Agent + ")"
	}
	body := slackBody{Text: slackEscape(truncate(fallback, slackTextMax))}
	body.Blocks = append(body.Blocks, slackBlock{Type: "header", Text: &slackText{"plain_text", truncate("AgentScope alert: "+head, slackHeaderMax)}})
	if s.Detail != "" {
		body.Blocks = append(body.Blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn", slackEscape(truncate(s.Detail, slackTextMax))}})
	}
	var fields []slackText
	field := func(name, value string) {
		if value != "" {
			fields = append(fields, slackText{"mrkdwn", "*" + name + "*\n" + slackEscape(truncate(value, slackFieldMax))})
		}
	}
	field("Kind", s.Kind)
	field("Severity", string(s.Severity))
	field("Risk level", string(s.RiskLevel))
	if s.BudgetPercent > 0 {
		field("Budget spent", strconv.FormatFloat(s.BudgetPercent, 'f', -1, 64)+"%")
	}
	if pl := s.PlanLimit; pl != nil {
		field("Limit", pl.Name)
		field("Used", shownAmount(pl.Name, pl.Used)+" of "+shownAmount(pl.Name, pl.Limit)+" ("+shownPercent(pl.Percent)+")")
		field("Plan", pl.Plan)
		field("Period", pl.Period)
	}
	field("Agent", s.Agent)
	field("Session", s.SessionID)
	body.Blocks = append(body.Blocks, slackBlock{Type: "section", Fields: fields})
	context := []string{"Rule *" + slackEscape(a.RuleName) + "*"}
	if s.ReportURL != "" {
		context = append(context, slackLink(s.ReportURL, "View report"))
	}
	if s.SessionURL != "" {
		context = append(context, slackLink(s.SessionURL, "Open session"))
	}
	body.Blocks = append(body.Blocks, slackBlock{Type: "context", Elements: []slackText{{"mrkdwn", strings.Join(context, " · ")}}})
	return body
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackLink is <url|text>; '|' and '>' in the URL would end it early.
func slackLink(u, text string) string {
	u = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(u)
	return "<" + u + "|" + slackEscape(text) + ">"
}
