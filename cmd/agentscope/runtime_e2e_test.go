package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// cli runs one command in-process and returns its stdout.
func cli(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	var out, errOut strings.Builder
	e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string { return vars[k] }}
	if code := e.Run(context.Background(), args); code != 0 {
		t.Fatalf("agentscope %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

// api calls the HTTP API and decodes the answer into out.
func api(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// TestManagedAgentsEndToEnd drives the runtime through the binary's own
// surfaces: the agents and budgets commands, then `serve --no-worker` with
// a separate `worker` process's part executing a starter agent's run
// queued through the HTTP API.
func TestManagedAgentsEndToEnd(t *testing.T) {
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "Nothing unusual.", Usage: llmtest.Usage{PromptTokens: 1200, CachedTokens: 1000, CompletionTokens: 80}}
	})
	t.Setenv("AGENTSCOPE_LLM_BASE_URL", llm.URL)
	t.Setenv("AGENTSCOPE_LLM_API_KEY", "test-key")
	t.Setenv("AGENTSCOPE_LLM_MODEL", "gpt-4.1")
	dir := t.TempDir()
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": dir}

	out := cli(t, vars, "agents", "create", "--name", "triage", "--system-prompt", "You triage.", "--tools", "get_run,replay_session", "--max-steps", "3")
	var created agentscope.Agent
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Kind != agentscope.AgentManaged {
		t.Fatalf("agents create: %s", out)
	}
	cli(t, vars, "agents", "update", "--name", "triage", "--model", "gpt-4.1-mini")
	list := cli(t, vars, "agents", "list")
	for _, want := range []string{"cost-analyst", "reliability", "research", "triage", "gpt-4.1-mini", "get_run,replay_session"} {
		if !strings.Contains(list, want) {
			t.Errorf("agents list lacks %q:\n%s", want, list)
		}
	}
	cli(t, vars, "budgets", "set", "--agent", "research", "--period", "week", "--limit", "1.50", "--hard-cap")
	got := cli(t, vars, "budgets", "list")
	if lines := strings.Split(strings.TrimSpace(got), "\n"); len(lines) != 2 || strings.Join(strings.Fields(lines[1])[:5], " ") != "research week 1.5 true 0" {
		t.Errorf("budgets list:\n%s", got)
	}

	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + dir, "AGENTSCOPE_NO_WORKER=true"})
	defer stop()
	var run agentscope.Run
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","session_id":"http-1","input":"Anything unusual today?"}`, &run); code != 201 || run.Status != agentscope.StatusQueued {
		t.Fatalf("POST /api/v1/runs: %d %+v", code, run)
	}
	// serve has no worker: the run waits for one.
	wctx, wcancel := context.WithCancel(context.Background())
	wdone := make(chan int, 1)
	go func() {
		e := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return vars[k] }}
		wdone <- e.Run(wctx, []string{"worker"})
	}()
	defer func() {
		wcancel()
		if code := <-wdone; code != 0 {
			t.Errorf("worker exited %d", code)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for run.Status != agentscope.StatusCompleted {
		if time.Now().After(deadline) || run.Status.Terminal() {
			t.Fatalf("run %+v", run)
		}
		<-tick.C
		api(t, "GET", base+"/api/v1/runs/http-1", "", &run)
	}
	if run.CostUSD.String() != "0.00154" || string(run.Output) != `"Nothing unusual."` {
		t.Errorf("run %+v", run)
	}

	var agents struct{ Agents []agentscope.Agent }
	if code := api(t, "GET", base+"/api/v1/agents", "", &agents); code != 200 || len(agents.Agents) != 5 {
		t.Errorf("GET /api/v1/agents: %d %d agents", code, len(agents.Agents))
	}
	var a agentscope.Agent
	if code := api(t, "PUT", base+"/api/v1/agents/triage", `{"definition":{"system_prompt":"Triage harder.","tools":["get_run"]}}`, &a); code != 200 || !strings.Contains(string(a.Spec), "Triage harder.") {
		t.Errorf("PUT /api/v1/agents/triage: %d %s", code, a.Spec)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if code := api(t, "POST", base+"/api/v1/agents", `{"name":"x","definition":{"system_prompt":"x","tools":["cancel_run"]}}`, &e); code != 400 || !strings.Contains(e.Error.Message, "cannot be given to an agent") {
		t.Errorf("POST a bad agent: %d %+v", code, e)
	}
	// A tool AgentScope does not have is refused when the agent is saved,
	// naming the tools there are (it used to be accepted and fail every run).
	if code := api(t, "POST", base+"/api/v1/agents", `{"name":"typo","definition":{"system_prompt":"x","tools":["get_run","replay_sesion"]}}`, &e); code != 400 || !strings.Contains(e.Error.Message, `"replay_sesion", which is not one of the tools agents may have`) || !strings.Contains(e.Error.Message, "replay_session") {
		t.Errorf("POST an agent with an unknown tool: %d %+v", code, e)
	}
	var budgets struct{ Budgets []agentscope.BudgetStatus }
	if code := api(t, "PUT", base+"/api/v1/budgets", `{"agent":"research","period":"week","limit_usd":0.001,"hard_cap":true}`, nil); code != 200 {
		t.Errorf("PUT /api/v1/budgets: %d", code)
	}
	if api(t, "GET", base+"/api/v1/budgets?agent=research", "", &budgets); len(budgets.Budgets) != 1 || budgets.Budgets[0].SpentUSD.String() != "0.00154" || !budgets.Budgets[0].Exceeded {
		t.Errorf("GET /api/v1/budgets: %+v", budgets)
	}
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","input":"again"}`, &e); code != 403 || !strings.Contains(e.Error.Message, "hard cap") {
		t.Errorf("run over the cap: %d %+v", code, e)
	}
}

// TestTokenStream follows a run's streamed tokens over server-sent events
// while serve's in-process worker executes it.
func TestTokenStream(t *testing.T) {
	llm := llmtest.New()
	defer llm.Close()
	release := make(chan struct{})
	llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "Hello there world", Hold: release, Usage: llmtest.Usage{PromptTokens: 5, CompletionTokens: 3}}
	})
	t.Setenv("AGENTSCOPE_LLM_BASE_URL", llm.URL)
	t.Setenv("AGENTSCOPE_LLM_API_KEY", "test-key")
	t.Setenv("AGENTSCOPE_LLM_MODEL", "gpt-4.1")
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()})
	defer stop()
	var run agentscope.Run
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","session_id":"tok-1","input":"hi"}`, &run); code != 201 {
		t.Fatalf("POST /api/v1/runs: %d", code)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/sessions/tok-1/tokens", nil)
	req.Header.Set("Authorization", "Bearer test-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tokens: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	close(release) // subscribed: let the model answer
	var text strings.Builder
	buf := make([]byte, 4096)
	var raw strings.Builder
	for !strings.Contains(text.String(), "world") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, raw.String())
		}
		raw.Write(buf[:n])
		text.Reset()
		for _, line := range strings.Split(raw.String(), "\n") {
			var tok struct{ SpanID, Text string }
			if rest, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(rest), &tok) == nil {
				text.WriteString(tok.Text)
			}
		}
	}
	if text.String() != "Hello there world" {
		t.Errorf("streamed %q", text.String())
	}
}

// TestContextSearchUsesEmbeddedEngine: with no Splunk configured, a starter
// agent's splunk_context_search answers from the embedded SPL engine over
// the organisation's own events.
func TestContextSearchUsesEmbeddedEngine(t *testing.T) {
	llm := llmtest.New()
	defer llm.Close()
	llm.Script(
		llmtest.Reply{ToolCalls: []llmtest.ToolCall{{ID: "c1", Name: "splunk_context_search", Arguments: `{"query":"sourcetype=\"agentscope:events\" agent=seed-bot | stats count by type | sort type"}`}},
			Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 5}},
		llmtest.Reply{Content: "Two events.", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 5}},
	)
	t.Setenv("AGENTSCOPE_LLM_BASE_URL", llm.URL)
	t.Setenv("AGENTSCOPE_LLM_API_KEY", "test-key")
	t.Setenv("AGENTSCOPE_LLM_MODEL", "gpt-4.1")
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()})
	defer stop()
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"seed-bot","session_id":"seed"}`, nil); code != 201 {
		t.Fatalf("seed run: %d", code)
	}
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","session_id":"ask","input":"How many events?"}`, nil); code != 201 {
		t.Fatalf("research run: %d", code)
	}
	var run agentscope.Run
	deadline := time.Now().Add(30 * time.Second)
	for !run.Status.Terminal() {
		if time.Now().After(deadline) {
			t.Fatalf("run %+v", run)
		}
		time.Sleep(20 * time.Millisecond) // polling another goroutine's progress over HTTP
		api(t, "GET", base+"/api/v1/runs/ask", "", &run)
	}
	var page struct{ Events []agentscope.Event }
	api(t, "GET", base+"/api/v1/sessions/ask/events?types=ToolReturned", "", &page)
	if run.Status != agentscope.StatusCompleted || len(page.Events) != 1 || page.Events[0].Status != "ok" ||
		!strings.Contains(string(page.Events[0].Result), `"type":"SessionStarted"`) || !strings.Contains(string(page.Events[0].Result), `"count":1`) {
		t.Fatalf("run %s; ToolReturned %+v", run.Status, page.Events)
	}
}

// TestHardCapRefusesSelfReportedRuns: an external agent over a hard-cap
// budget gets no new run, over HTTP or MCP, as set_budget describes; a
// soft budget, or one with room left, still lets it start.
func TestHardCapRefusesSelfReportedRuns(t *testing.T) {
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()})
	defer stop()
	var e struct {
		Error struct{ Code, Message string }
	}
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"ext-bot","session_id":"cap-1"}`, &e); code != 201 {
		t.Fatalf("first run: %d %+v", code, e)
	}
	if code := api(t, "POST", base+"/api/v1/events", `[{"session_id":"cap-1","type":"CostRecorded","amount_usd":0.02,"currency":"USD","source":"test"}]`, nil); code != 200 {
		t.Fatalf("record a priced call: %d", code)
	}
	if code := api(t, "POST", base+"/api/v1/runs/cap-1/end", `{"status":"completed"}`, nil); code != 200 {
		t.Fatalf("end: %d", code)
	}
	for _, budget := range []string{
		`{"agent":"ext-bot","period":"day","limit_usd":0.01}`,               // soft: warns only
		`{"agent":"ext-bot","period":"week","limit_usd":1,"hard_cap":true}`, // room left
	} {
		if code := api(t, "PUT", base+"/api/v1/budgets", budget, nil); code != 200 {
			t.Fatalf("PUT %s: %d", budget, code)
		}
	}
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"ext-bot","session_id":"cap-2"}`, &e); code != 201 {
		t.Fatalf("run under a soft budget and a hard cap with room: %d %+v", code, e)
	}
	if code := api(t, "PUT", base+"/api/v1/budgets", `{"agent":"ext-bot","period":"day","limit_usd":0.01,"hard_cap":true}`, nil); code != 200 {
		t.Fatalf("make the day budget a hard cap: %d", code)
	}
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"ext-bot","session_id":"cap-3"}`, &e); code != 403 || e.Error.Code != "forbidden" ||
		!strings.Contains(e.Error.Message, `agent "ext-bot" has reached its hard cap: spent $0.02 of its $0.01 day budget`) {
		t.Errorf("HTTP run over the cap: %d %+v", code, e)
	}
	cs := httpSession(t, base, "test-token-0123456789")
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "start_run", Arguments: map[string]any{"agent": "ext-bot", "session_id": "cap-4"}})
	if err != nil || !res.IsError || !strings.Contains(fmt.Sprint(res.Content[0].(*mcp.TextContent).Text), "hard cap") {
		t.Errorf("MCP start_run over the cap: %+v, %v", res, err)
	}
	var runs struct{ Runs []agentscope.Run }
	if api(t, "GET", base+"/api/v1/runs?agent=ext-bot", "", &runs); len(runs.Runs) != 2 {
		t.Errorf("%d runs of ext-bot, want the two started before the cap", len(runs.Runs))
	}
	// Another agent is not held to ext-bot's budget.
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"other-bot","session_id":"cap-5"}`, &e); code != 201 {
		t.Errorf("another agent's run: %d %+v", code, e)
	}
}

// TestStartedAt: a run reported after its first events (a proxy's queue,
// another machine's clock) starts when the client says it began, within
// bounds; anything else is refused naming started_at.
func TestStartedAt(t *testing.T) {
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()})
	defer stop()
	began := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Microsecond)
	var run agentscope.Run
	body := fmt.Sprintf(`{"agent":"late-bot","session_id":"late-1","started_at":%q}`, began.Format(time.RFC3339Nano))
	if code := api(t, "POST", base+"/api/v1/runs", body, &run); code != 201 || run.StartedAt == nil || !run.StartedAt.Equal(began) {
		t.Fatalf("POST with started_at: %d %+v", code, run)
	}
	var page struct{ Events []agentscope.Event }
	if code := api(t, "GET", base+"/api/v1/sessions/late-1/events", "", &page); code != 200 || len(page.Events) != 1 ||
		page.Events[0].Type != agentscope.SessionStarted || !page.Events[0].TS.Equal(began) {
		t.Fatalf("events: %d %+v", code, page.Events)
	}
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	for _, tc := range []struct{ at, want string }{
		{time.Now().Add(2 * time.Hour).Format(time.RFC3339), "started_at: is "},
		{time.Now().Add(-2 * time.Hour).Format(time.RFC3339), "more than 1h0m0s ago"},
	} {
		body := fmt.Sprintf(`{"agent":"late-bot","started_at":%q}`, tc.at)
		if code := api(t, "POST", base+"/api/v1/runs", body, &e); code != 400 || !strings.Contains(e.Error.Message, "started_at") || !strings.Contains(e.Error.Message, tc.want) {
			t.Errorf("started_at %s: %d %+v", tc.at, code, e)
		}
	}
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","started_at":"`+began.Format(time.RFC3339)+`"}`, &e); code != 400 || !strings.Contains(e.Error.Message, "managed") || e.Error.Field != "agent" {
		// About the agent: a proxy resends a start refused for its
		// started_at without it, which would launch the managed agent.
		t.Errorf("started_at on a managed agent's run: %d %+v", code, e)
	}
}

// TestBudgetAmountErrors: a budget's limit_usd of the wrong JSON type is
// refused naming the field and the form it takes, once, unescaped.
func TestBudgetAmountErrors(t *testing.T) {
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir()})
	defer stop()
	for _, tc := range []struct{ value, got string }{{`"5"`, "string"}, {`true`, "bool"}, {`{"usd":5}`, "object"}} {
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		code := api(t, "PUT", base+"/api/v1/budgets", `{"agent":"research","period":"day","limit_usd":`+tc.value+`}`, &e)
		want := "want a number of US dollars (e.g. 5 or 0.25), got " + tc.got
		if code != 400 || e.Error.Field != "limit_usd" || !strings.Contains(e.Error.Message, want) || strings.Contains(e.Error.Message, `\`) {
			t.Errorf("limit_usd %s: %d %+v; want 400 on limit_usd saying %q", tc.value, code, e.Error, want)
		}
	}
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	if code := api(t, "PUT", base+"/api/v1/budgets", `{"agent":"research","period":"day","limit_usd":-1}`, &e); code != 400 || !strings.Contains(e.Error.Message, "must be >= 0") {
		t.Errorf("limit_usd -1: %d %+v", code, e.Error)
	}
}

// TestBudgetUnknownAgent: a budget for an agent the organisation does not
// have is refused as not found, naming it, by the CLI, the HTTP API and
// MCP alike, and nothing is kept. (Another organisation's agent answers
// the same: the tenant isolation suite's PUT /api/v1/budgets and
// set_budget.)
func TestBudgetUnknownAgent(t *testing.T) {
	dir := t.TempDir()
	const want = `agent "reserch" not found: a budget is set on an agent of this organisation, a managed one once created or an external one once registered or once it has started a run`
	var out, errOut strings.Builder
	e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string {
		if k == "AGENTSCOPE_DATA_DIR" {
			return dir
		}
		return ""
	}}
	if code := e.Run(context.Background(), []string{"budgets", "set", "--agent", "reserch", "--limit", "5"}); code != 1 || !strings.HasSuffix(errOut.String(), "agentscope budgets: "+want+"\n") || out.Len() != 0 {
		t.Errorf("budgets set: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + dir})
	defer stop()
	var e404 struct {
		Error struct{ Code, Message string }
	}
	if code := api(t, "PUT", base+"/api/v1/budgets", `{"agent":"reserch","period":"day","limit_usd":5}`, &e404); code != 404 || e404.Error.Code != "not_found" || e404.Error.Message != want {
		t.Errorf("PUT /api/v1/budgets: %d %+v", code, e404.Error)
	}
	cs := httpSession(t, base, "test-token-0123456789")
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "set_budget", Arguments: map[string]any{"agent": "reserch", "period": "day", "limit_usd": 5}})
	if err != nil || !res.IsError || res.Content[0].(*mcp.TextContent).Text != want {
		t.Errorf("MCP set_budget: %+v, %v", res, err)
	}
	var budgets struct{ Budgets []agentscope.BudgetStatus }
	if api(t, "GET", base+"/api/v1/budgets", "", &budgets); len(budgets.Budgets) != 0 {
		t.Errorf("budgets kept: %+v", budgets.Budgets)
	}
}

// TestRegisterExternalAgent: an external agent registered through each
// surface (the CLI's agents create --external, POST /api/v1/agents with
// kind external, MCP register_agent) takes a budget before its first run;
// a definition given with it is refused, naming what was given.
func TestRegisterExternalAgent(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errOut strings.Builder
		e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string {
			if k == "AGENTSCOPE_DATA_DIR" {
				return dir
			}
			return ""
		}}
		code := e.Run(context.Background(), args)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("agents", "create", "--name", "cli-bot", "--external")
	var a agentscope.Agent
	if code != 0 || json.Unmarshal([]byte(out), &a) != nil || a.Name != "cli-bot" || a.Kind != agentscope.AgentExternal {
		t.Fatalf("agents create --external: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := run("budgets", "set", "--agent", "cli-bot", "--limit", "5", "--hard-cap"); code != 0 || !strings.Contains(out, "cli-bot") {
		t.Errorf("budgets set on the registered agent: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = run("agents", "create", "--name", "cli-bot2", "--external", "--model", "m", "--system-prompt", "p")
	if code != 2 || out != "" || !strings.Contains(errOut, "--model, --system-prompt: an external agent runs elsewhere and takes no definition") {
		t.Errorf("--external with a definition: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := run("agents", "create", "--name", "cli-bot", "--external"); code != 1 || !strings.Contains(errOut, `agent "cli-bot" already exists`) {
		t.Errorf("registering twice: exit %d, stderr %q", code, errOut)
	}

	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + dir})
	defer stop()
	var got agentscope.Agent
	if code := api(t, "POST", base+"/api/v1/agents", `{"name":"http-bot","kind":"external"}`, &got); code != http.StatusCreated || got.Kind != agentscope.AgentExternal || got.Name != "http-bot" {
		t.Errorf("POST /api/v1/agents kind external: %d %+v", code, got)
	}
	for body, want := range map[string]string{
		`{"name":"http-bot2","kind":"external","definition":{"system_prompt":"p"}}`: "definition",
		`{"name":"http-bot3","kind":"robot"}`:                                       "kind",
	} {
		var e400 struct {
			Error struct{ Code, Message, Field string }
		}
		if code := api(t, "POST", base+"/api/v1/agents", body, &e400); code != http.StatusBadRequest || !strings.Contains(e400.Error.Message, want) {
			t.Errorf("POST %s: %d %+v; want 400 naming %s", body, code, e400.Error, want)
		}
	}
	cs := httpSession(t, base, "test-token-0123456789")
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "register_agent", Arguments: map[string]any{"name": "mcp-bot"}})
	if err != nil || res.IsError {
		t.Fatalf("MCP register_agent: %+v, %v", res, err)
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &got); err != nil || got.Kind != agentscope.AgentExternal || got.Name != "mcp-bot" {
		t.Errorf("register_agent's result: %s", b)
	}
	res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "set_budget", Arguments: map[string]any{"agent": "mcp-bot", "period": "day", "limit_usd": 5, "hard_cap": true}})
	if err != nil || res.IsError {
		t.Errorf("MCP set_budget on the registered agent: %+v, %v", res, err)
	}
	var budgets struct{ Budgets []agentscope.BudgetStatus }
	api(t, "GET", base+"/api/v1/budgets", "", &budgets)
	var names []string
	for _, b := range budgets.Budgets {
		names = append(names, b.Agent)
	}
	if strings.Join(names, ",") != "cli-bot,mcp-bot" {
		t.Errorf("budgets: %v, want cli-bot's and mcp-bot's", names)
	}
}
