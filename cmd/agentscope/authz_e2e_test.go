package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
)

// httpCase is one HTTP endpoint and the action it takes.
type httpCase struct {
	method, path, body string
	action             agentscope.Action
}

// httpCases are the API's endpoints, each with the action the service
// checks. Every session they name was started by the instance token.
var httpCases = []httpCase{
	{"POST", "/api/v1/runs", `{"agent":"matrix"}`, agentscope.ActionRecord},
	{"POST", "/api/v1/events", `[{"session_id":"mx-1","type":"ToolCalled","tool":"x"}]`, agentscope.ActionRecord},
	{"POST", "/api/v1/runs/mx-end/end", `{"status":"completed"}`, agentscope.ActionRecord},
	{"POST", "/api/v1/runs/mx-cancel/cancel", ``, agentscope.ActionRun},
	{"GET", "/api/v1/runs", ``, agentscope.ActionRead},
	{"GET", "/api/v1/runs/mx-1", ``, agentscope.ActionRead},
	{"GET", "/api/v1/sessions/mx-1/events", ``, agentscope.ActionRead},
	{"POST", "/api/v1/spl", `{"query":"search type=SessionStarted | stats count"}`, agentscope.ActionSearch},
	{"GET", "/api/v1/insights", ``, agentscope.ActionSearch},
	{"GET", "/api/v1/splunk/health", ``, agentscope.ActionRead},
	{"POST", "/api/v1/sessions/mx-1/investigate", ``, agentscope.ActionInvestigate},
	{"GET", "/api/v1/sessions/mx-1/findings", ``, agentscope.ActionRead},
	{"GET", "/api/v1/reports", ``, agentscope.ActionRead},
	{"GET", "/api/v1/reports/mx-1", ``, agentscope.ActionRead},
	{"GET", "/api/v1/agents", ``, agentscope.ActionRead},
	{"GET", "/api/v1/agents/research", ``, agentscope.ActionRead},
	{"POST", "/api/v1/agents", `{"name":"mx-agent","definition":{"system_prompt":"hi"}}`, agentscope.ActionManageAgents},
	{"PUT", "/api/v1/agents/research", `{"definition":{"system_prompt":"hi"}}`, agentscope.ActionManageAgents},
	{"GET", "/api/v1/budgets", ``, agentscope.ActionRead},
	{"PUT", "/api/v1/budgets", `{"agent":"research","period":"day","limit_usd":5}`, agentscope.ActionManageBudgets},
	{"GET", "/api/v1/alerts/rules", ``, agentscope.ActionRead},
	{"POST", "/api/v1/alerts/rules", `{"name":"r","kinds":["*"],"url":"https://hooks.example.com/x"}`, agentscope.ActionManageAlerts},
	{"GET", "/api/v1/alerts/rules/rule-x", ``, agentscope.ActionRead},
	{"PUT", "/api/v1/alerts/rules/rule-x", `{"name":"r","kinds":["*"]}`, agentscope.ActionManageAlerts},
	{"DELETE", "/api/v1/alerts/rules/rule-x", ``, agentscope.ActionManageAlerts},
	{"GET", "/api/v1/keys", ``, agentscope.ActionManageKeys},
	{"POST", "/api/v1/keys", `{"name":"mx","scopes":["read"]}`, agentscope.ActionManageKeys},
	{"DELETE", "/api/v1/keys/key-nope", ``, agentscope.ActionManageKeys},
	{"GET", "/api/v1/audit", ``, agentscope.ActionReadAudit},
	{"GET", "/api/v1/billing/usage", ``, agentscope.ActionReadBilling},
}

// toolCase is one MCP tool's arguments and the action it takes.
type toolCase struct {
	args   map[string]any
	action agentscope.Action
}

// toolCases has every tool tools/list shows: a tool added without a case
// fails the test.
var toolCases = map[string]toolCase{
	"start_run":             {map[string]any{"agent": "matrix"}, agentscope.ActionRecord},
	"record_event":          {map[string]any{"session_id": "mx-1", "type": "ToolCalled", "tool": "x"}, agentscope.ActionRecord},
	"end_run":               {map[string]any{"session_id": "mx-end", "status": "completed"}, agentscope.ActionRecord},
	"cancel_run":            {map[string]any{"session_id": "mx-cancel"}, agentscope.ActionRun},
	"list_runs":             {map[string]any{}, agentscope.ActionRead},
	"get_run":               {map[string]any{"session_id": "mx-1"}, agentscope.ActionRead},
	"replay_session":        {map[string]any{"session_id": "mx-1"}, agentscope.ActionRead},
	"run_spl":               {map[string]any{"query": "search type=SessionStarted | stats count"}, agentscope.ActionSearch},
	"splunk_insights":       {map[string]any{}, agentscope.ActionSearch},
	"splunk_health":         {map[string]any{}, agentscope.ActionRead},
	"splunk_context_search": {map[string]any{"query": "search type=SessionStarted | stats count"}, agentscope.ActionSearch},
	"list_agents":           {map[string]any{}, agentscope.ActionRead},
	"create_agent":          {map[string]any{"name": "mx-tool-agent", "definition": map[string]any{"system_prompt": "hi"}}, agentscope.ActionManageAgents},
	"update_agent":          {map[string]any{"name": "research", "definition": map[string]any{"system_prompt": "hi"}}, agentscope.ActionManageAgents},
	"register_agent":        {map[string]any{"name": "mx-external"}, agentscope.ActionManageAgents},
	"get_budgets":           {map[string]any{}, agentscope.ActionRead},
	"set_budget":            {map[string]any{"agent": "research", "period": "day", "limit_usd": 5}, agentscope.ActionManageBudgets},
	"investigate":           {map[string]any{"session_id": "mx-1"}, agentscope.ActionInvestigate},
	"get_report":            {map[string]any{"session_id": "mx-1"}, agentscope.ActionRead},
	"list_reports":          {map[string]any{}, agentscope.ActionRead},
	"session_findings":      {map[string]any{"session_id": "mx-1"}, agentscope.ActionRead},
	"create_alert_rule":     {map[string]any{"name": "r", "kinds": []string{"*"}, "url": "https://hooks.example.com/x"}, agentscope.ActionManageAlerts},
	"list_alert_rules":      {map[string]any{}, agentscope.ActionRead},
	"update_alert_rule":     {map[string]any{"id": "rule-x", "name": "r", "kinds": []string{"*"}, "url": ""}, agentscope.ActionManageAlerts},
	"delete_alert_rule":     {map[string]any{"id": "rule-x"}, agentscope.ActionManageAlerts},
}

// caller is a credential and what the matrix expects of it.
type caller struct {
	name  string
	token string
	scope agentscope.Scope // "" for the instance token, which may do all
}

// allows is the expectation, written out from the issue rather than read
// from agentscope.Permissions: a key may take an action its scope covers,
// admin covers all, the instance token is the owner.
func (c caller) allows(a agentscope.Action) (bool, agentscope.Scope) {
	need := map[agentscope.Action]agentscope.Scope{
		agentscope.ActionRecord: agentscope.ScopeIngest, agentscope.ActionRead: agentscope.ScopeRead, agentscope.ActionSearch: agentscope.ScopeRead,
		agentscope.ActionRun: agentscope.ScopeRun, agentscope.ActionInvestigate: agentscope.ScopeRun,
		agentscope.ActionManageAgents: agentscope.ScopeAdmin, agentscope.ActionManageBudgets: agentscope.ScopeAdmin,
		agentscope.ActionManageAlerts: agentscope.ScopeAdmin, agentscope.ActionManageKeys: agentscope.ScopeAdmin,
		agentscope.ActionReadAudit: agentscope.ScopeAdmin, agentscope.ActionReadBilling: agentscope.ScopeAdmin,
	}[a]
	return c.scope == "" || c.scope == agentscope.ScopeAdmin || c.scope == need, need
}

// TestRoleAndScopeMatrix drives every HTTP endpoint above and every MCP
// tool (go-sdk's client over Streamable HTTP) with a key of each single
// scope and with the instance token, on both stores: an allowed call is
// never refused for its rights; a refused one answers 403 (HTTP) or an
// isError result (MCP) naming the missing scope.
func TestRoleAndScopeMatrix(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			callers := []caller{{"instance", "test-token-0123456789", ""}}
			for _, sc := range agentscope.Scopes {
				callers = append(callers, caller{string(sc) + " key", newKey(t, vars, string(sc)), sc})
			}
			base, stop := serveInProcess(t, envOf(vars))
			defer stop()
			for _, sid := range []string{"mx-1", "mx-end", "mx-cancel"} {
				if code, _, body := call(t, "POST", base+"/api/v1/runs", callers[0].token, `{"agent":"matrix","session_id":"`+sid+`"}`); code != http.StatusCreated {
					t.Fatalf("start %s: %d %s", sid, code, body)
				}
			}

			for _, c := range callers {
				for _, hc := range httpCases {
					code, _, body := call(t, hc.method, base+hc.path, c.token, hc.body)
					ok, need := c.allows(hc.action)
					if ok && (code == http.StatusForbidden || code == http.StatusUnauthorized) {
						t.Errorf("%s: %s %s refused: %d %s", c.name, hc.method, hc.path, code, body)
					}
					if !ok && (code != http.StatusForbidden || !strings.Contains(body, "lacks the "+string(need)+" scope")) {
						t.Errorf("%s: %s %s: want 403 naming the %s scope, got %d %s", c.name, hc.method, hc.path, need, code, body)
					}
				}

				cs := httpSession(t, base, c.token)
				eachTool(t, cs, toolCases, "the matrix", func(name string, tc toolCase) {
					res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: tc.args})
					if err != nil {
						t.Errorf("%s: %s: %v", c.name, name, err)
						return
					}
					text := toolText(res)
					ok, need := c.allows(tc.action)
					if ok && res.IsError && strings.Contains(text, "lacks the") {
						t.Errorf("%s: %s refused: %s", c.name, name, text)
					}
					if !ok && (!res.IsError || !strings.Contains(text, "lacks the "+string(need)+" scope")) {
						t.Errorf("%s: %s: want isError naming the %s scope, got isError=%v %s", c.name, name, need, res.IsError, text)
					}
				})
				cs.Close()
			}
		})
	}
}

// eachTool calls fn with every tool tools/list shows and its case, and
// fails on a tool without a case (a tool added later must get one) and on
// a case for a tool not shown. suite names the table in the errors.
func eachTool[C any](t *testing.T, cs *mcp.ClientSession, cases map[string]C, suite string, fn func(name string, c C)) {
	t.Helper()
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		c, found := cases[tool.Name]
		if !found {
			t.Errorf("tool %s has no case in %s: add one", tool.Name, suite)
			continue
		}
		fn(tool.Name, c)
	}
	for name := range cases {
		if !slices.Contains(names, name) {
			t.Errorf("%s has a case for %s, which tools/list does not show", suite, name)
		}
	}
}

func toolText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	if b.Len() == 0 && res.StructuredContent != nil {
		out, _ := json.Marshal(res.StructuredContent)
		b.Write(out)
	}
	return b.String()
}
