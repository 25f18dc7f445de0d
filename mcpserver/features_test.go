package mcpserver_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/mcpserver/mcptest"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// connectWith serves a fresh SQLite-backed server to a client with opts,
// and returns the server too.
func connectWith(t *testing.T, opts *mcp.ClientOptions) (*mcp.ClientSession, *mcpserver.Server) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	srv := mcpserver.New(service.New(rec, nil), mcpserver.Options{LocalOrg: agentscope.DefaultOrgID})
	ct, stt := mcp.NewInMemoryTransports()
	ss, err := srv.MCP.Connect(ctx, stt, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, opts).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		ss.Wait()
		srv.Close()
		rec.Close()
		st.Close()
	})
	return cs, srv
}

// TestPromptsAndCompletion: investigate_session and cost_report are listed
// with their arguments, render for real sessions and agents, refuse bad
// arguments, and completion offers the caller's session ids and agent
// names by prefix.
func TestPromptsAndCompletion(t *testing.T) {
	cs, _ := connectWith(t, nil)
	ctx := context.Background()
	for _, sid := range []string{"alpha-1", "alpha-2", "beta-1"} {
		mcptest.Call(t, cs, "start_run", map[string]any{"agent": "bot-" + sid[:4], "session_id": sid}, nil)
	}
	list, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Prompts {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "cost_report,investigate_session" {
		t.Fatalf("prompts %v", names)
	}
	got, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "investigate_session", Arguments: map[string]string{"session_id": "alpha-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if text := got.Messages[0].Content.(*mcp.TextContent).Text; !strings.Contains(text, "alpha-2") || !strings.Contains(text, "replay_session") {
		t.Errorf("investigate_session: %s", text)
	}
	for args, want := range map[string]string{"nope-9": "not found", "../x": "session_id"} {
		if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "investigate_session", Arguments: map[string]string{"session_id": args}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("investigate_session %s: %v, want %q", args, err, want)
		}
	}
	cost, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "cost_report", Arguments: map[string]string{"agent": "bot-beta", "window": "7d"}})
	if err != nil {
		t.Fatal(err)
	}
	if text := cost.Messages[0].Content.(*mcp.TextContent).Text; !strings.Contains(text, `agent="bot-beta"`) || !strings.Contains(text, `"-7d"`) {
		t.Errorf("cost_report: %s", text)
	}
	for _, bad := range []map[string]string{{"window": "forever"}, {"agent": `x" OR 1=1`}} {
		if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "cost_report", Arguments: bad}); err == nil {
			t.Errorf("cost_report %v accepted", bad)
		}
	}

	complete := func(ref *mcp.CompleteReference, arg, value string) []string {
		t.Helper()
		res, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: ref, Argument: mcp.CompleteParamsArgument{Name: arg, Value: value}})
		if err != nil {
			t.Fatal(err)
		}
		v := res.Completion.Values
		slices.Sort(v)
		return v
	}
	if v := complete(&mcp.CompleteReference{Type: "ref/prompt", Name: "investigate_session"}, "session_id", "alp"); strings.Join(v, ",") != "alpha-1,alpha-2" {
		t.Errorf("session ids for alp: %v", v)
	}
	if v := complete(&mcp.CompleteReference{Type: "ref/resource", URI: "agentscope://sessions/{session_id}"}, "session_id", "b"); strings.Join(v, ",") != "beta-1" {
		t.Errorf("session ids for the template: %v", v)
	}
	if v := complete(&mcp.CompleteReference{Type: "ref/prompt", Name: "cost_report"}, "agent", "bot-a"); strings.Join(v, ",") != "bot-alph" {
		t.Errorf("agents: %v", v)
	}
	if v := complete(&mcp.CompleteReference{Type: "ref/prompt", Name: "cost_report"}, "window", "2"); strings.Join(v, ",") != "24h" {
		t.Errorf("windows: %v", v)
	}
}

// TestResourcesListRecent: resources/list has the organisation's recent
// sessions beside the session template, and they read.
func TestResourcesListRecent(t *testing.T) {
	cs, _ := connectWith(t, nil)
	ctx := context.Background()
	mcptest.Call(t, cs, "start_run", map[string]any{"agent": "bot", "session_id": "listed-1"}, nil)
	res, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range res.Resources {
		uris = append(uris, r.URI)
	}
	if !slices.Contains(uris, "agentscope://sessions/listed-1") {
		t.Fatalf("resources %v", uris)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "agentscope://sessions/listed-1"}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tmpl.ResourceTemplates) == 0 {
		t.Fatalf("templates %v %v", tmpl, err)
	}
}

// TestSubscribeToSession: a subscribed session's commits arrive as
// notifications/resources/updated; unsubscribing stops the watch.
func TestSubscribeToSession(t *testing.T) {
	updated := make(chan string, 16)
	cs, srv := connectWith(t, &mcp.ClientOptions{ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
		updated <- r.Params.URI
	}})
	ctx := context.Background()
	mcptest.Call(t, cs, "start_run", map[string]any{"agent": "bot", "session_id": "live-1"}, nil)
	uri := "agentscope://sessions/live-1"
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
		t.Fatal(err)
	}
	_ = cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "agentscope://sessions/nope"}) // refused: no watch
	mcptest.Call(t, cs, "record_event", map[string]any{"session_id": "live-1", "type": "ToolCalled", "tool": "t", "call_id": "c"}, nil)
	select {
	case got := <-updated:
		if got != uri {
			t.Fatalf("updated %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notifications/resources/updated after a commit")
	}
	if srv.Watching() != 1 {
		t.Fatalf("watching %d", srv.Watching())
	}
	if err := cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
		t.Fatal(err)
	}
	// The server learns of it when the client's listen request is
	// cancelled, after Unsubscribe returns.
	deadline := time.Now().Add(10 * time.Second)
	for srv.Watching() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still watching %d after unsubscribe", srv.Watching())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestProgressAndLogging: a tool call with a progress token gets rising
// progress notifications ending at 1 of 1, before its result; without a
// token none; logging/setLevel is accepted.
func TestProgressAndLogging(t *testing.T) {
	type note struct {
		progress, total float64
	}
	notes := make(chan note, 16)
	cs, _ := connectWith(t, &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		notes <- note{r.Params.Progress, r.Params.Total}
	}})
	ctx := context.Background()
	params := &mcp.CallToolParams{Name: "start_run", Arguments: map[string]any{"agent": "bot", "session_id": "p-1"}}
	params.SetProgressToken("tok-1")
	if _, err := cs.CallTool(ctx, params); err != nil {
		t.Fatal(err)
	}
	var got []note
	for len(got) < 2 {
		select {
		case n := <-notes:
			got = append(got, n)
		case <-time.After(10 * time.Second):
			t.Fatalf("progress notes %v", got)
		}
	}
	if got[0].progress != 0 || got[1].progress != 1 || got[1].total != 1 {
		t.Errorf("progress %v", got)
	}
	mcptest.Call(t, cs, "get_run", map[string]any{"session_id": "p-1"}, nil)
	select {
	case n := <-notes:
		t.Errorf("progress without a token: %v", n)
	default:
	}
	// Logging is deprecated from protocol 2026-07-28 but hosts on
	// 2025-11-25 still send it.
	//lint:ignore SA1019 hosts on 2025-11-25 still send logging/setLevel
	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "warning"}); err != nil {
		t.Errorf("logging/setLevel: %v", err)
	}
}
