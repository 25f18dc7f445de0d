package runtime_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/mcpserver/mcptest"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
)

// TestRuntimeMCPTools drives the runtime's tools as an MCP client does:
// the starter agents exist, agents are created and updated, budgets set and
// read, and the search tool is scoped to the caller's organisation.
func TestRuntimeMCPTools(t *testing.T) {
	t.Parallel()
	open := backends()[0].prepare(t)
	probe, _ := open(t)
	searcher := &storeSearcher{store: probe}
	n := newNode(t, open, config{searcher: searcher})
	srv := mcpserver.New(n.svc, mcpserver.Options{Local: agentscope.SystemPrincipal(org)})
	ct, st := mcp.NewInMemoryTransports()
	ss, err := srv.MCP.Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	var list mcpserver.AgentsOutput
	mcptest.Call(t, cs, "list_agents", map[string]any{}, &list)
	var names []string
	for _, a := range list.Agents {
		names = append(names, a.Name+":"+string(a.Kind))
	}
	if strings.Join(names, " ") != "cost-analyst:managed investigator:managed reliability:managed research:managed" {
		t.Fatalf("a new organisation's agents: %v", names)
	}
	for _, a := range list.Agents {
		spec, err := runtime.ParseSpec(a.Spec)
		if a.Name == agentscope.InvestigatorAgent {
			if err != nil || spec.Kind != runtime.KindInvestigator || len(spec.SystemPrompt) < 200 {
				t.Errorf("investigator: %+v %v", spec, err)
			}
			continue
		}
		if err != nil || !strings.Contains(strings.Join(spec.Tools, ","), "splunk_context_search") || len(spec.SystemPrompt) < 200 {
			t.Errorf("starter %s: %+v %v", a.Name, spec, err)
		}
	}

	def := map[string]any{"model": "gpt-4.1-mini", "system_prompt": "You triage.", "tools": []string{"get_run"}, "limits": map[string]any{"max_steps": 4, "timeout": "2m"}}
	var created agentscope.Agent
	mcptest.Call(t, cs, "create_agent", map[string]any{"name": "triage", "definition": def}, &created)
	if created.Name != "triage" || created.Kind != agentscope.AgentManaged {
		t.Errorf("created %+v", created)
	}
	if msg := mcptest.CallError(t, cs, "create_agent", map[string]any{"name": "triage", "definition": def}); !strings.Contains(msg, "already exists") {
		t.Errorf("second create: %s", msg)
	}
	for _, denied := range []string{"set_budget", "register_agent"} {
		if msg := mcptest.CallError(t, cs, "create_agent", map[string]any{"name": "bad", "definition": map[string]any{"system_prompt": "x", "tools": []string{denied}}}); !strings.Contains(msg, "cannot be given to an agent") {
			t.Errorf("denied tool %s: %s", denied, msg)
		}
	}
	if msg := mcptest.CallError(t, cs, "create_agent", map[string]any{"name": "bad", "definition": map[string]any{"system_prompt": "x", "api_key": "sk-123"}}); msg == "" {
		t.Error("a definition with an api_key was accepted")
	}
	def["system_prompt"] = "You triage incidents."
	var updated agentscope.Agent
	mcptest.Call(t, cs, "update_agent", map[string]any{"name": "triage", "definition": def}, &updated)
	if spec, _ := runtime.ParseSpec(updated.Spec); spec.SystemPrompt != "You triage incidents." || spec.Limits.MaxSteps != 4 {
		t.Errorf("updated %s", updated.Spec)
	}
	if msg := mcptest.CallError(t, cs, "update_agent", map[string]any{"name": "nobody", "definition": def}); !strings.Contains(msg, "not found") {
		t.Errorf("update unknown: %s", msg)
	}

	var b agentscope.AgentCostBudget
	mcptest.Call(t, cs, "set_budget", map[string]any{"agent": "triage", "period": "week", "limit_usd": 2.5, "hard_cap": true}, &b)
	if b.LimitUSD.String() != "2.5" || !b.HardCap || b.Period != agentscope.PeriodWeek {
		t.Errorf("budget %+v", b)
	}
	if msg := mcptest.CallError(t, cs, "set_budget", map[string]any{"agent": "triage", "period": "year", "limit_usd": 1}); !strings.Contains(msg, "day, week or month") {
		t.Errorf("bad period: %s", msg)
	}
	var budgets mcpserver.BudgetsOutput
	mcptest.Call(t, cs, "get_budgets", map[string]any{}, &budgets)
	if len(budgets.Budgets) != 1 || budgets.Budgets[0].SpentUSD != 0 || budgets.Budgets[0].PeriodStart.Weekday() != time.Monday {
		t.Errorf("budgets %+v", budgets)
	}

	var rows service.ContextSearchOutput
	mcptest.Call(t, cs, "splunk_context_search", map[string]any{"query": "type=SessionStarted"}, &rows)
	if rows.Count != 0 || searcher.orgs[0] != org {
		t.Errorf("search %+v in %v", rows, searcher.orgs)
	}
}

// TestStarters: a new organisation's first start_run finds its starter
// agents; an edited starter survives restarts; an agent of a starter's
// name that existed before is left alone.
func TestStarters(t *testing.T) {
	t.Parallel()
	open := backends()[0].prepare(t)
	n := newNode(t, open, config{})
	fresh := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("fresh-org"))
	run, err := n.svc.StartRun(fresh, service.StartRunInput{Agent: "research", Input: []byte(`"hi"`)})
	if err != nil || !run.Managed || run.Status != agentscope.StatusQueued {
		t.Fatalf("first start_run of research in a new org: %+v %v", run, err)
	}
	if err := n.store.PutAgent(context.Background(), agentscope.Agent{OrgID: "org-3", Name: "reliability", Kind: agentscope.AgentExternal}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.UpdateAgent(n.ctx(), "cost-analyst", []byte(`{"system_prompt":"Edited."}`)); err != nil {
		t.Fatal(err)
	}
	again := newNode(t, open, config{}) // a restart: Start ensures the starters of every known organisation
	a, err := again.svc.GetAgent(n.ctx(), "cost-analyst")
	if err != nil || string(a.Spec) != `{"system_prompt":"Edited."}` {
		t.Errorf("edited starter after restart: %s %v", a.Spec, err)
	}
	org3 := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-3"))
	if r, err := again.svc.GetAgent(org3, "reliability"); err != nil || r.Kind != agentscope.AgentExternal {
		t.Errorf("external reliability agent: %+v %v", r, err)
	}
	if r, err := again.svc.GetAgent(org3, "research"); err != nil || r.Kind != agentscope.AgentManaged {
		t.Errorf("org-3's research starter: %+v %v", r, err)
	}
	if names := service.StarterAgentNames(); strings.Join(names, ",") != "cost-analyst,reliability,research,investigator" {
		t.Errorf("starters %v", names)
	}
}

// TestExternalMCPServerTools gives an agent the tools of another MCP server
// (Streamable HTTP, through package client): calls reach it and are
// recorded; a server that cannot be reached has its listed tools offered
// and each call returns the connection error to the model.
func TestExternalMCPServerTools(t *testing.T) {
	t.Parallel()
	ext := mcp.NewServer(&mcp.Implementation{Name: "ext"}, nil)
	type echoIn struct {
		Text string `json:"text"`
	}
	type echoOut struct {
		Echo string `json:"echo"`
	}
	mcp.AddTool(ext, &mcp.Tool{Name: "echo", Description: "Echo text."}, func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
		return nil, echoOut{Echo: strings.ToUpper(in.Text)}, nil
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return ext }, nil))
	defer hs.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + l.Addr().String() + "/mcp"
	l.Close()

	llm := llmtest.New()
	defer llm.Close()
	llm.Script(
		llmtest.Reply{ToolCalls: []llmtest.ToolCall{{Name: "ext__echo", Arguments: `{"text":"hi"}`}, {Name: "dead__echo", Arguments: `{"text":"hi"}`}}, Usage: llmtest.Usage{PromptTokens: 5, CompletionTokens: 5}},
		llmtest.Reply{Content: "HI", Usage: llmtest.Usage{PromptTokens: 5, CompletionTokens: 1}},
	)
	n := newNode(t, backends()[0].prepare(t), config{workers: 1, llm: llm})
	n.createAgent(t, "ext-user", runtime.Spec{Model: "gpt-4.1", SystemPrompt: "x", MCPServers: []runtime.MCPServerSpec{
		{Name: "ext", URL: hs.URL, Tools: []string{"echo"}},
		{Name: "dead", URL: deadURL, Tools: []string{"echo"}},
	}})
	n.start(t, "ext-user", "x1", "shout hi")
	if run := n.wait(t, "x1", 30*time.Second); run.Status != agentscope.StatusCompleted {
		t.Fatalf("run %s %s", run.Status, run.Error)
	}
	if got := llm.Requests()[0].Tools; strings.Join(got, ",") != "ext__echo,dead__echo" {
		t.Errorf("offered %v", got)
	}
	rets := find(n.events(t, "x1"), agentscope.ToolReturned)
	if len(rets) != 2 || rets[0].Status != "ok" || string(rets[0].Result) != `{"echo":"HI"}` {
		t.Fatalf("ext__echo returned %+v", rets)
	}
	if rets[1].Tool != "dead__echo" || rets[1].Status != "error" || !strings.Contains(rets[1].Error, "tool dead__echo failed") {
		t.Errorf("dead__echo returned %+v", rets[1])
	}
}
