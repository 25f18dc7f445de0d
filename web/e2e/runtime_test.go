package e2e_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// TestManagedRunWithRuntime queues a run of a starter agent from the
// agents page and watches the real runtime execute it — River worker,
// model call to a local OpenAI-compatible server — while the row moves
// queued → running → completed without a reload. The model's answer is
// held until the page shows the run running.
func TestManagedRunWithRuntime(t *testing.T) {
	chromium(t)
	llm := llmtest.New()
	defer llm.Close()
	release := make(chan struct{})
	var once sync.Once
	releaseModel := func() { once.Do(func() { close(release) }) }
	llm.Handle(func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "Refunds are up 4% this week.", Hold: release, Usage: llmtest.Usage{PromptTokens: 900, CompletionTokens: 60}}
	})

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rt.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	rt, err := runtime.New(ctx, runtime.Options{
		Store: st.Store, Recorder: rec, Workers: 1,
		LLM:    runtime.LLMConfig{BaseURL: llm.URL, APIKey: "test-key", Model: "gpt-4.1"},
		Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(rec, service.Options{Launcher: rt, Agents: st})
	if err := svc.PrepareOrgs(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, runtime.Work{Tools: func(org string) *mcp.Server {
		return mcpserver.New(svc, mcpserver.Options{Local: agentscope.ManagedAgentPrincipal(org)}).MCP
	}}); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, svc, web.UIOptions{Budgets: web.BudgetFunc(func(ctx context.Context, org string) ([]agentscope.BudgetStatus, error) {
		return svc.GetBudgets(agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(org)), "")
	})})
	t.Cleanup(func() {
		releaseModel()
		srv.Close()
		rt.Close()
		rec.Close()
		st.Close()
	})

	b := newBrowser(t)
	b.signIn(srv.URL)
	b.do(chromedp.Navigate(srv.URL+"/agents"), chromedp.WaitVisible(chromedp.CSS("#agent-research textarea")))
	b.waitFor("the organisation feed", `document.body.dataset.feedReady === '1'`)
	b.markPage()
	// Note every status the research agent's first row shows.
	eval[chromedp.Void](b, `window.__statuses = [];
		new MutationObserver(() => {
			const s = document.querySelector('tbody[data-runs-for="research"] tr')?.dataset.status;
			if (s && window.__statuses[window.__statuses.length - 1] !== s) window.__statuses.push(s);
		}).observe(document.querySelector('tbody[data-runs-for="research"]'), {subtree: true, childList: true, attributes: true})`)
	b.do(
		chromedp.SendKeys(chromedp.CSS("#agent-research textarea"), "Why did refunds rise?"),
		chromedp.Click(chromedp.CSS("#agent-research button[type=submit]")),
	)
	row := `document.querySelector('tbody[data-runs-for="research"] tr')`
	b.waitFor("the run running (the model call is held)", row+`?.dataset.status === 'running'`)
	b.screenshot("runtime-running")
	releaseModel()
	b.waitFor("the run completed", row+`?.dataset.status === 'completed'`)
	if !b.pageKept() {
		t.Fatal("the page reloaded")
	}
	seen := eval[[]string](b, `window.__statuses`)
	if strings.Join(seen, " → ") != "queued → running → completed" {
		t.Errorf("statuses shown: %v", seen)
	}
	b.screenshot("runtime-completed")
}
