package mcpserver_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
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
	srv := newServer(t)
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
	// Bad arguments are invalid params (-32602), as the MCP specification
	// asks of prompts/get, not code 0.
	invalidParams := func(err error) bool {
		var rpcErr *jsonrpc.Error
		return errors.As(err, &rpcErr) && rpcErr.Code == jsonrpc.CodeInvalidParams
	}
	for args, want := range map[string]string{"nope-9": "not found", "../x": "session_id", "": "session_id: is required"} {
		if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "investigate_session", Arguments: map[string]string{"session_id": args}}); err == nil || !strings.Contains(err.Error(), want) || !invalidParams(err) {
			t.Errorf("investigate_session %q: %v, want %q with code -32602", args, err, want)
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
		if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "cost_report", Arguments: bad}); !invalidParams(err) {
			t.Errorf("cost_report %v: %v, want code -32602", bad, err)
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

// TestResourcesListRecent: resources/list has the organisation's 50 most
// recent sessions and its reports (each investigation its own resource)
// beside the templates, and the sessions read.
func TestResourcesListRecent(t *testing.T) {
	f := newFeatureServer(t)
	cs := f.connect(nil, "")
	ctx := context.Background()
	for i := range maxListed + 5 {
		mcptest.Call(t, cs, "start_run", map[string]any{"agent": "bot", "session_id": fmt.Sprintf("listed-%02d", i)}, nil)
	}
	for _, inv := range []string{"inv-1", "inv-2"} {
		if err := f.st.PutReport(ctx, agentscope.DefaultOrgID, agentscope.Report{SessionID: inv, TargetSessionID: "listed-00", Agent: "bot",
			Status: agentscope.ReportCompleted, RiskLevel: agentscope.RiskHigh}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sessions, reports := 0, map[string]bool{}
	for _, r := range res.Resources {
		switch {
		case strings.HasPrefix(r.URI, "agentscope://sessions/"):
			sessions++
		case strings.HasPrefix(r.URI, "agentscope://reports/"):
			reports[r.URI] = strings.Contains(r.Title, "high")
		}
	}
	last := fmt.Sprintf("agentscope://sessions/listed-%02d", maxListed+4)
	if sessions != maxListed || !slices.ContainsFunc(res.Resources, func(r *mcp.Resource) bool { return r.URI == last }) {
		t.Errorf("%d sessions listed (want the %d most recent, %s among them)", sessions, maxListed, last)
	}
	if len(reports) != 2 || !reports["agentscope://reports/inv-1"] || !reports["agentscope://reports/inv-2"] {
		t.Errorf("reports listed %v", reports)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: last}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tmpl.ResourceTemplates) == 0 {
		t.Fatalf("templates %v %v", tmpl, err)
	}
}

// maxListed is how many sessions, and reports, resources/list shows.
const maxListed = 50

// featureServer is a SQLite-backed server to which several clients can
// connect.
type featureServer struct {
	t     *testing.T
	srv   *mcpserver.Server
	st    *sqlite.Store
	acked map[*mcp.ClientSession]chan struct{}
}

func newFeatureServer(t *testing.T) *featureServer {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	srv := mcpserver.New(service.New(rec, service.Options{}), mcpserver.Options{Local: agentscope.SystemPrincipal(agentscope.DefaultOrgID)})
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})
	return &featureServer{t: t, srv: srv, st: st}
}

// connect connects a client in memory, speaking protocol version (the
// latest when empty).
func (f *featureServer) connect(opts *mcp.ClientOptions, version string) *mcp.ClientSession {
	f.t.Helper()
	ctx := context.Background()
	ct, stt := mcp.NewInMemoryTransports()
	ss, err := f.srv.MCP.Connect(ctx, stt, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "test"}, opts)
	acked := make(chan struct{}, 16)
	c.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "notifications/subscriptions/acknowledged" {
				acked <- struct{}{}
			}
			return next(ctx, method, req)
		}
	})
	cs, err := c.Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		f.t.Fatal(err)
	}
	if f.acked == nil {
		f.acked = map[*mcp.ClientSession]chan struct{}{}
	}
	f.acked[cs] = acked
	f.t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

// subscribe subscribes cs to uri and returns once the server holds the
// subscription: at the answer to resources/subscribe, or, over
// subscriptions/listen (whose Subscribe does not wait), at the server's
// acknowledgement.
func (f *featureServer) subscribe(cs *mcp.ClientSession, uri string) {
	f.t.Helper()
	if err := cs.Subscribe(context.Background(), &mcp.SubscribeParams{URI: uri}); err != nil {
		f.t.Fatal(err)
	}
	if cs.InitializeResult().ProtocolVersion < "2026-07-28" {
		return
	}
	select {
	case <-f.acked[cs]:
	case <-time.After(10 * time.Second):
		f.t.Fatalf("subscribing to %s: no subscriptions/acknowledged", uri)
	}
}

// waitWatchers waits until n goroutines follow subscribed sessions.
func (f *featureServer) waitWatchers(n int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.WaitWatchers(ctx, n); err != nil {
		f.t.Fatal(err)
	}
}

// updates collects notifications/resources/updated.
type updates chan string

func (u updates) handler(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
	u <- r.Params.URI
}

// next returns the next update's URI.
func (u updates) next(t *testing.T) string {
	t.Helper()
	select {
	case got := <-u:
		return got
	case <-time.After(10 * time.Second):
		t.Fatal("no notifications/resources/updated after a commit")
		return ""
	}
}

// TestSubscribeToSession, over the legacy resources/subscribe (protocol
// 2025-11-25, what the official TypeScript clients send) and over
// subscriptions/listen (2026-07-28, go-sdk's default): a subscribed
// session's commits arrive as notifications/resources/updated; sessions of
// no one and other URIs are refused; subscribers share one watch, and
// unsubscribing, or closing the client without unsubscribing, ends it and
// its goroutine.
func TestSubscribeToSession(t *testing.T) {
	for name, version := range map[string]string{"resources-subscribe": "2025-11-25", "subscriptions-listen": ""} {
		t.Run(name, func(t *testing.T) {
			f := newFeatureServer(t)
			ctx := context.Background()
			upd := make(updates, 16)
			cs := f.connect(&mcp.ClientOptions{ResourceUpdatedHandler: upd.handler}, version)
			mcptest.Call(t, cs, "start_run", map[string]any{"agent": "bot", "session_id": "live-1"}, nil)
			uri := "agentscope://sessions/live-1"
			f.subscribe(cs, uri)
			if version != "" {
				// (subscriptions/listen has the same handler, but go-sdk's
				// client does not wait for its answer.)
				for _, bad := range []string{"agentscope://sessions/nope", "agentscope://reports/live-1", "agentscope://sessions/../x"} {
					if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: bad}); err == nil {
						t.Errorf("subscribed to %s", bad)
					}
				}
			}
			mcptest.Call(t, cs, "record_event", map[string]any{"session_id": "live-1", "type": "ToolCalled", "tool": "t", "call_id": "c"}, nil)
			if got := upd.next(t); got != uri {
				t.Fatalf("updated %s", got)
			}
			if f.srv.Watching() != 1 {
				t.Fatalf("watching %d", f.srv.Watching())
			}

			if version != "" {
				// A second subscription of the same client is the same
				// subscription; another client's unsubscribe, of a URI it
				// never subscribed to, changes nothing; another subscriber
				// shares the watch.
				f.subscribe(cs, uri)
				other := f.connect(nil, version)
				if err := other.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
					t.Fatal(err)
				}
				f.subscribe(other, uri)
				if n := f.srv.Watching(); n != 1 {
					t.Fatalf("watching %d with two subscribers", n)
				}
				if err := other.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
					t.Fatal(err)
				}
				mcptest.Call(t, cs, "record_event", map[string]any{"session_id": "live-1", "type": "ToolCalled", "tool": "t", "call_id": "c2"}, nil)
				if got := upd.next(t); got != uri {
					t.Fatalf("updated %s", got)
				}
			}

			// Unsubscribing once ends the watch (over subscriptions/listen the
			// server learns of it when the client cancels its listen
			// request, after Unsubscribe returns).
			if err := cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
				t.Fatal(err)
			}
			f.waitWatchers(0)
			if f.srv.Watching() != 0 {
				t.Fatalf("watching %d after unsubscribe", f.srv.Watching())
			}

			// A client that goes away without unsubscribing frees its watch.
			gone := f.connect(nil, version)
			f.subscribe(gone, uri)
			f.waitWatchers(1)
			gone.Close()
			f.waitWatchers(0)
			if f.srv.Watching() != 0 {
				t.Fatalf("watching %d after the client left", f.srv.Watching())
			}
		})
	}
}

// TestSubscriptionsStayInOrganisation: over Streamable HTTP with two
// organisations' tokens, each holding a session of the same id, a commit
// to one organisation's session notifies only that organisation's
// subscriber; resources/list and completion show each only its own.
func TestSubscriptionsStayInOrganisation(t *testing.T) {
	f := newFeatureServer(t)
	tokens := map[string]string{"token-acme-0123456789": "acme", "token-beta-0123456789": "beta"}
	hs := httptest.NewServer(authenticated(f.srv.HTTPHandler(), func(tok string) (string, bool) { org, ok := tokens[tok]; return org, ok }))
	t.Cleanup(hs.Close)
	ctx := context.Background()
	connect := func(token string, upd updates) *mcp.ClientSession {
		t.Helper()
		tr := &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: &http.Client{Transport: bearer{token}}}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, &mcp.ClientOptions{ResourceUpdatedHandler: upd.handler}).Connect(ctx, tr, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	updA, updB := make(updates, 16), make(updates, 16)
	a, b := connect("token-acme-0123456789", updA), connect("token-beta-0123456789", updB)
	uri, marker := "agentscope://sessions/same-1", "agentscope://sessions/beta-2"
	mcptest.Call(t, b, "start_run", map[string]any{"agent": "beta-only", "session_id": "beta-2"}, nil)
	for _, cs := range []*mcp.ClientSession{a, b} {
		mcptest.Call(t, cs, "start_run", map[string]any{"agent": "bot", "session_id": "same-1"}, nil)
		if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Subscribe(ctx, &mcp.SubscribeParams{URI: marker}); err == nil {
		t.Error("acme subscribed to beta's session")
	}
	if err := b.Subscribe(ctx, &mcp.SubscribeParams{URI: marker}); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Watching(); n != 3 {
		t.Fatalf("watching %d, want one per organisation and session", n)
	}
	mcptest.Call(t, a, "record_event", map[string]any{"session_id": "same-1", "type": "ToolCalled", "tool": "t", "call_id": "c"}, nil)
	if got := updA.next(t); got != uri {
		t.Fatalf("acme updated %s", got)
	}
	// Once acme's watch has ended, all it sent is on beta's stream, before
	// the notification of beta's own commit to its other session.
	if err := a.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
		t.Fatal(err)
	}
	f.waitWatchers(2)
	mcptest.Call(t, b, "record_event", map[string]any{"session_id": "beta-2", "type": "ToolCalled", "tool": "t", "call_id": "c"}, nil)
	if got := updB.next(t); got != marker {
		t.Fatalf("beta was told of %s: acme's commit reached it", got)
	}
	mcptest.Call(t, b, "record_event", map[string]any{"session_id": "same-1", "type": "ToolCalled", "tool": "t", "call_id": "c"}, nil)
	if got := updB.next(t); got != uri {
		t.Fatalf("beta updated %s", got)
	}

	res, err := a.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Resources {
		if strings.Contains(r.URI, "beta-2") {
			t.Errorf("acme lists beta's session %s", r.URI)
		}
	}
	c, err := a.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "investigate_session"}, Argument: mcp.CompleteParamsArgument{Name: "session_id", Value: "beta"}})
	if err != nil || len(c.Completion.Values) != 0 {
		t.Errorf("acme completes beta's sessions: %v %v", c, err)
	}
	c, err = a.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "cost_report"}, Argument: mcp.CompleteParamsArgument{Name: "agent", Value: "beta"}})
	if err != nil || len(c.Completion.Values) != 0 {
		t.Errorf("acme completes beta's agents: %v %v", c, err)
	}
}

// TestProgress: a tool call with a progress token gets progress
// notifications with that token, rising, "started" at 0 and "finished" at 1
// of 1; a call without a token gets none.
func TestProgress(t *testing.T) {
	type note struct {
		token           any
		progress, total float64
	}
	notes := make(chan note, 16)
	cs, _ := connectWith(t, &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
		notes <- note{r.Params.ProgressToken, r.Params.Progress, r.Params.Total}
	}})
	ctx := context.Background()
	call := func(name string, args map[string]any, token any) {
		t.Helper()
		params := &mcp.CallToolParams{Name: name, Arguments: args}
		if token != nil {
			params.SetProgressToken(token)
		}
		if res, err := cs.CallTool(ctx, params); err != nil || res.IsError {
			t.Fatalf("%s: %v %v", name, err, res)
		}
	}
	// expect takes one call's notifications: 0 of 1, then 1 of 1.
	expect := func(token any) {
		t.Helper()
		var got []note
		for len(got) < 2 {
			select {
			case n := <-notes:
				got = append(got, n)
			case <-time.After(10 * time.Second):
				t.Fatalf("progress notes %v", got)
			}
		}
		if got[0] != (note{token, 0, 1}) || got[1] != (note{token, 1, 1}) {
			t.Errorf("progress %v, want 0 then 1 of 1 with token %v", got, token)
		}
	}
	call("start_run", map[string]any{"agent": "bot", "session_id": "p-1"}, "tok-1")
	expect("tok-1")
	// Notifications come in order: had the call without a token been
	// given any, they would come before the next call's.
	call("get_run", map[string]any{"session_id": "p-1"}, nil)
	call("get_run", map[string]any{"session_id": "p-1"}, "tok-2")
	expect("tok-2")
}
