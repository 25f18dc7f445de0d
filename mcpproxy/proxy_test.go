//lint:file-ignore SA1019 sampling (deprecated from MCP 2026-07-28, still in the protocol versions hosts speak) is a server-to-host request the proxy must relay, so the test server asks for it

package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The test binary is also the stdio MCP server the proxy spawns: with
// MCPPROXY_TEST_SERVER=stdio it serves testServer on stdin/stdout.
func TestMain(m *testing.M) {
	if os.Getenv("MCPPROXY_TEST_SERVER") == "stdio" {
		if err := testServer().Run(context.Background(), &mcp.StdioTransport{}); err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(os.Stderr, "test server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type echoIn struct {
	Text string `json:"text"`
}
type echoOut struct {
	Echo string `json:"echo"`
}

// testServer is a go-sdk MCP server with a tool for each thing the proxy
// must pass through: a plain answer, an isError answer, progress, a
// sampling request back to the host, a call that waits to be cancelled;
// plus a resource and a prompt.
func testServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "proxy-test-server", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "echo the text"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
		return nil, echoOut{Echo: in.Text}, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "fail", Description: "always fails"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		return nil, nil, fmt.Errorf("failing on purpose: %s", in.Text)
	})
	mcp.AddTool(s, &mcp.Tool{Name: "progress", Description: "reports progress, then answers"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		if tok := req.Params.GetProgressToken(); tok != nil {
			if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Total: 2, Message: "half"}); err != nil {
				return nil, nil, err
			}
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "sample", Description: "asks the host's model"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10, Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Text}}}})
		if err != nil {
			return nil, nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{res.Content}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "wait", Description: "says it started (progress), then waits until cancelled"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		if tok := req.Params.GetProgressToken(); tok != nil {
			if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 0, Message: "started"}); err != nil {
				return nil, nil, err
			}
		}
		<-ctx.Done()
		return nil, nil, ctx.Err()
	})
	s.AddResource(&mcp.Resource{URI: "test://greeting", Name: "greeting", MIMEType: "text/plain"}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: "test://greeting", MIMEType: "text/plain", Text: "hello"}}}, nil
	})
	s.AddPrompt(&mcp.Prompt{Name: "greet", Arguments: []*mcp.PromptArgument{{Name: "who"}}}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello " + req.Params.Arguments["who"]}}}}, nil
	})
	return s
}

// memSink keeps what the recorder sends.
type memSink struct {
	mu     sync.Mutex
	starts []string // agent names
	inputs []json.RawMessage
	times  []time.Time // the starts' times
	events []wireEvent
	ends   []string // status: error
}

func (s *memSink) StartSession(ctx context.Context, id, agent string, input json.RawMessage, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, agent)
	s.inputs = append(s.inputs, input)
	s.times = append(s.times, at)
	return nil
}

func (s *memSink) Record(ctx context.Context, events []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, raw := range events {
		var ev wireEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return err
		}
		s.events = append(s.events, ev)
	}
	return nil
}

func (s *memSink) EndSession(ctx context.Context, id, status, errText string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ends = append(s.ends, status+": "+errText)
	return nil
}

// hostPipe connects a go-sdk client (the host) to Run: the client's
// transport on one side, Run's hostIn and hostOut on the other.
type hostPipe struct {
	clientT      *mcp.IOTransport
	hostIn       io.Reader
	hostOut      io.Writer
	closeClients func()
	// cancelled is closed once the host has written a
	// notifications/cancelled and Run has read it: go-sdk's client sends
	// it in the background after the call returns, and a session closed
	// before then never sends it.
	cancelled chan struct{}
}

func newHostPipe() *hostPipe {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &hostPipe{hostIn: inR, hostOut: outW, cancelled: make(chan struct{})}
	p.clientT = &mcp.IOTransport{Reader: outR, Writer: &cancelWatch{WriteCloser: inW, seen: p.cancelled}}
	p.closeClients = func() { inW.Close(); outR.Close() }
	return p
}

// cancelWatch closes seen after writing the first frame that holds a
// notifications/cancelled (a pipe's Write returns once it has been read).
type cancelWatch struct {
	io.WriteCloser
	once sync.Once
	seen chan struct{}
}

func (w *cancelWatch) Write(p []byte) (int, error) {
	n, err := w.WriteCloser.Write(p)
	if err == nil && bytes.Contains(p, []byte(`"notifications/cancelled"`)) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// upstreams are the two ways the proxy reaches a server, each started fresh
// for a test. The HTTP one also returns the HTTP methods it was sent.
func stdioUpstream(t *testing.T) Conn {
	t.Helper()
	env := append(os.Environ(), "MCPPROXY_TEST_SERVER=stdio")
	c, err := StartCommand(context.Background(), os.Args[0], []string{"-test.run=^$"}, env, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type methodLog struct {
	mu      sync.Mutex
	methods []string
	headers []http.Header
}

func (l *methodLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.methods = append(l.methods, r.Method)
		l.headers = append(l.headers, r.Header.Clone())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *methodLog) saw(method string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.methods, method)
}

func httpUpstream(t *testing.T, server *mcp.Server, jsonResponse bool) (Conn, *methodLog, *httptest.Server) {
	t.Helper()
	return httpUpstreamWith(t, server, &mcp.StreamableHTTPOptions{JSONResponse: jsonResponse})
}

func httpUpstreamWith(t *testing.T, server *mcp.Server, opts *mcp.StreamableHTTPOptions) (Conn, *methodLog, *httptest.Server) {
	t.Helper()
	log := &methodLog{}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, opts)
	ts := httptest.NewServer(log.wrap(h))
	t.Cleanup(ts.Close)
	c, err := DialStreamable(context.Background(), ts.URL, http.Header{"X-Test": {"yes"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, log, ts
}

// callRecord is what the host saw of a tool call, to compare with what was
// recorded.
type callRecord struct {
	tool   string
	args   map[string]any
	result *mcp.CallToolResult
	err    error
}

// exercise drives the whole surface through the proxy as the host and
// returns the tool calls it made.
func exercise(t *testing.T, ctx context.Context, cs *mcp.ClientSession, progress <-chan *mcp.ProgressNotificationParams, protocol string, cancelCall bool) []callRecord {
	t.Helper()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	if want := []string{"echo", "fail", "progress", "sample", "wait"}; !slices.Equal(names, want) {
		t.Errorf("tools/list through the proxy: %v, want %v", names, want)
	}
	var calls []callRecord
	call := func(tool string, args map[string]any, meta mcp.Meta) *mcp.CallToolResult {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args, Meta: meta})
		calls = append(calls, callRecord{tool: tool, args: args, result: res, err: err})
		if err != nil {
			t.Fatalf("tools/call %s: %v", tool, err)
		}
		return res
	}
	if res := call("echo", map[string]any{"text": "héllo\nworld"}, nil); res.IsError || !reflect.DeepEqual(res.StructuredContent, map[string]any{"echo": "héllo\nworld"}) {
		t.Errorf("echo: %+v", res)
	}
	if res := call("fail", map[string]any{"text": "x"}, nil); !res.IsError {
		t.Errorf("fail: isError false: %+v", res)
	}
	call("progress", map[string]any{"text": "p"}, mcp.Meta{"progressToken": "tok-1"})
	select {
	case p := <-progress:
		if p.ProgressToken != "tok-1" || p.Message != "half" {
			t.Errorf("progress notification: %+v", p)
		}
	case <-ctx.Done():
		t.Fatal("no progress notification reached the host")
	}
	res := call("sample", map[string]any{"text": "ask"}, nil)
	if protocol == "" {
		// From 2026-07-28 a server may not send sampling/createMessage
		// while serving a request (SEP-2322): the go-sdk server answers the
		// tool with isError, which passes through like any answer.
		if !res.IsError {
			t.Errorf("sample at 2026-07-28: want isError, got %+v", res)
		}
	} else if len(res.Content) != 1 || res.Content[0].(*mcp.TextContent).Text != "sampled: ask" {
		b, _ := json.Marshal(res)
		t.Errorf("sample: %s", b)
	}
	if cancelCall {
		// A call the host cancels: the proxy relays notifications/cancelled.
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := cs.CallTool(wctx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{"text": "w"}, Meta: mcp.Meta{"progressToken": "tok-wait"}})
			done <- err
		}()
		// The server has the call once its progress arrives; then the host
		// cancels it.
		select {
		case p := <-progress:
			if p.ProgressToken != "tok-wait" {
				t.Errorf("progress notification: %+v", p)
			}
		case <-ctx.Done():
			t.Fatal("the wait tool never started")
		}
		cancel()
		if err := <-done; err == nil {
			t.Error("the cancelled call returned no error")
		}
		calls = append(calls, callRecord{tool: "wait", args: map[string]any{"text": "w"}, err: context.Canceled})
	}

	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://greeting"})
	if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text != "hello" {
		t.Errorf("resources/read: %+v, %v", rr, err)
	}
	pr, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "greet", Arguments: map[string]string{"who": "ann"}})
	if err != nil || len(pr.Messages) != 1 || pr.Messages[0].Content.(*mcp.TextContent).Text != "hello ann" {
		t.Errorf("prompts/get: %+v, %v", pr, err)
	}
	return calls
}

// checkRecorded compares the recorded events with the calls the host made.
func checkRecorded(t *testing.T, sink *memSink, calls []callRecord) {
	t.Helper()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if !slices.Equal(sink.starts, []string{"proxy-test-host"}) {
		t.Errorf("sessions started: %v, want one for proxy-test-host", sink.starts)
	}
	if len(sink.ends) != 1 || sink.ends[0] != "completed: " {
		t.Errorf("sessions ended: %q, want one completed", sink.ends)
	}
	// The start carries the time the session began, by the clock that
	// stamps the events, so it comes first in time order however late
	// the sink got it.
	for _, ev := range sink.events {
		if len(sink.times) != 1 || ev.TS.Before(sink.times[0]) {
			t.Errorf("session started at %v, after its %s at %v", sink.times, ev.Type, ev.TS)
			break
		}
	}
	called := map[string]wireEvent{}
	returned := map[string]wireEvent{}
	var order []string
	for _, ev := range sink.events {
		switch ev.Type {
		case "ToolCalled":
			called[ev.CallID] = ev
			order = append(order, ev.CallID)
		case "ToolReturned":
			returned[ev.CallID] = ev
		default:
			t.Errorf("unexpected event %s", ev.Type)
		}
		if ev.Attributes["mcp.server"] != "proxy-test-server" {
			t.Errorf("%s %s: attribute mcp.server %v", ev.Type, ev.Tool, ev.Attributes["mcp.server"])
		}
	}
	if len(order) != len(calls) {
		t.Fatalf("recorded %d calls (%v), the host made %d", len(order), order, len(calls))
	}
	for i, c := range calls {
		id := order[i]
		ev := called[id]
		if ev.Tool != c.tool {
			t.Errorf("call %d: recorded tool %s, want %s", i, ev.Tool, c.tool)
		}
		var args map[string]any
		if err := json.Unmarshal(ev.Arguments, &args); err != nil || !reflect.DeepEqual(args, c.args) {
			t.Errorf("call %d (%s): recorded arguments %s, want %v", i, c.tool, ev.Arguments, c.args)
		}
		ret, ok := returned[id]
		if !ok {
			t.Errorf("call %d (%s): no ToolReturned", i, c.tool)
			continue
		}
		if ret.DurationMS == nil || *ret.DurationMS < 0 {
			t.Errorf("call %d (%s): duration %v", i, c.tool, ret.DurationMS)
		}
		if c.result == nil { // cancelled
			if ret.Status != "error" || ret.Error != "cancelled by the client: context canceled" {
				t.Errorf("cancelled call: status %s error %q", ret.Status, ret.Error)
			}
			continue
		}
		want := "ok"
		if c.result.IsError {
			want = "error"
		}
		if ret.Status != want {
			t.Errorf("call %d (%s): status %s, want %s (error %q)", i, c.tool, ret.Status, want, ret.Error)
		}
		var got mcp.CallToolResult
		if err := json.Unmarshal(ret.Result, &got); err != nil {
			t.Errorf("call %d (%s): recorded result %s: %v", i, c.tool, ret.Result, err)
			continue
		}
		gotJSON, _ := json.Marshal(&got)
		wantJSON, _ := json.Marshal(c.result)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("call %d (%s): recorded result %s, the host got %s", i, c.tool, gotJSON, wantJSON)
		}
	}
	if ret := returned[order[1]]; ret.Error != "failing on purpose: x" {
		t.Errorf("the isError call's error text: %q", ret.Error)
	}
}

// runThrough starts Run between a go-sdk client and server, exercises it,
// disconnects the host and returns what was recorded.
func runThrough(t *testing.T, server Conn, protocol string) (*memSink, []callRecord) {
	t.Helper()
	return runThroughWith(t, server, protocol, true)
}

// runThroughWith is runThrough, with or without the call the host cancels.
func runThroughWith(t *testing.T, server Conn, protocol string, cancelCall bool) (*memSink, []callRecord) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sink := &memSink{}
	rec := NewRecorder(sink, RecorderOptions{})
	pipe := newHostPipe()
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, pipe.hostIn, pipe.hostOut, server, Options{Recorder: rec}) }()

	progress := make(chan *mcp.ProgressNotificationParams, 4)
	client := mcp.NewClient(&mcp.Implementation{Name: "proxy-test-host", Version: "1"}, &mcp.ClientOptions{
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			text := req.Params.Messages[0].Content.(*mcp.TextContent).Text
			return &mcp.CreateMessageResult{Model: "test-model", Role: "assistant", Content: &mcp.TextContent{Text: "sampled: " + text}}, nil
		},
		ProgressNotificationHandler: func(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
			select {
			case progress <- req.Params:
			default:
			}
		},
	})
	cs, err := client.Connect(ctx, pipe.clientT, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	calls := exercise(t, ctx, cs, progress, protocol, cancelCall)
	if cancelCall {
		select {
		case <-pipe.cancelled:
		case <-ctx.Done():
			t.Fatal("the host never sent notifications/cancelled")
		}
	}
	cs.Close()
	pipe.closeClients()
	if err := <-runErr; err != nil {
		t.Errorf("Run after the host disconnected: %v", err)
	}
	if st := rec.Close(ctx); st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("recorder: %+v", st)
	}
	return sink, calls
}

func TestProxyStdio(t *testing.T) {
	// "" is the go-sdk client's default, 2026-07-28: server/discover
	// instead of initialize, each request carrying its version in _meta.
	for _, protocol := range []string{"2025-06-18", "2025-11-25", ""} {
		t.Run("protocol="+protocol, func(t *testing.T) {
			sink, calls := runThrough(t, stdioUpstream(t), protocol)
			checkRecorded(t, sink, calls)
		})
	}
}

func TestProxyStreamableHTTP(t *testing.T) {
	for _, jsonResponse := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", jsonResponse), func(t *testing.T) {
			server := testServer()
			conn, log, _ := httpUpstream(t, server, jsonResponse)
			sink, calls := runThrough(t, conn, "2025-11-25")
			checkRecorded(t, sink, calls)
			for _, m := range []string{"POST", "GET", "DELETE"} {
				if !log.saw(m) {
					t.Errorf("the server got no %s (methods: %v)", m, log.methods)
				}
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			for i, h := range log.headers {
				if h.Get("X-Test") != "yes" {
					t.Errorf("request %d (%s) without the --header", i, log.methods[i])
				}
				if i > 0 && h.Get(sessionIDHeader) == "" {
					t.Errorf("request %d (%s) without Mcp-Session-Id", i, log.methods[i])
				}
				if i > 0 && h.Get(protocolVersionHeader) != "2025-11-25" {
					t.Errorf("request %d (%s): MCP-Protocol-Version %q", i, log.methods[i], h.Get(protocolVersionHeader))
				}
			}
		})
	}
}

// MCP 2026-07-28 over HTTP, which only a stateless server serves: no
// session, each request's version in its _meta and in the
// MCP-Protocol-Version header, with Mcp-Method and Mcp-Name.
func TestProxyStreamableHTTP20260728(t *testing.T) {
	conn, log, _ := httpUpstreamWith(t, testServer(), &mcp.StreamableHTTPOptions{Stateless: true})
	// Without the cancelled call: the go-sdk stateless server does not end
	// a tool whose request stream was dropped, so its test server would
	// never close (the proxy relays the cancellation and drops the POST).
	sink, calls := runThroughWith(t, conn, "", false)
	checkRecorded(t, sink, calls)
	log.mu.Lock()
	defer log.mu.Unlock()
	var sawCall bool
	for i, h := range log.headers {
		if log.methods[i] != "POST" {
			continue
		}
		if h.Get(protocolVersionHeader) != "2026-07-28" || h.Get(methodHeader) == "" {
			t.Errorf("POST %d: MCP-Protocol-Version %q, Mcp-Method %q", i, h.Get(protocolVersionHeader), h.Get(methodHeader))
		}
		if h.Get(methodHeader) == "tools/call" {
			sawCall = true
			if h.Get(nameHeader) == "" {
				t.Errorf("POST %d: tools/call without Mcp-Name", i)
			}
		}
	}
	if !sawCall {
		t.Error("no tools/call was POSTed with its Mcp-Method")
	}
}

// A server's message outside any request (here tools/list_changed when a
// tool is added) reaches the host over the GET stream.
func TestProxyStreamableHTTPServerNotification(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server := testServer()
	conn, _, _ := httpUpstream(t, server, false)
	pipe := newHostPipe()
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, pipe.hostIn, pipe.hostOut, conn, Options{}) }()
	changed := make(chan struct{}, 1)
	client := mcp.NewClient(&mcp.Implementation{Name: "h", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	cs, err := client.Connect(ctx, pipe.clientT, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	// The GET stream opens after notifications/initialized; a ping answered
	// proves the session is up, then a new tool is announced. The server
	// sends list_changed to its sessions, on the GET stream when it is
	// open; the notification is retried by adding tools until it arrives
	// or the deadline passes.
	if err := cs.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		mcp.AddTool(server, &mcp.Tool{Name: fmt.Sprintf("added-%d", i)}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return nil, nil, nil
		})
		select {
		case <-changed:
			cs.Close()
			pipe.closeClients()
			if err := <-runErr; err != nil {
				t.Error(err)
			}
			return
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("tools/list_changed never reached the host")
		}
	}
}

// sinkDown is an AgentScope that is not there: every call fails as a
// refused connection does, or hangs until its deadline.
func TestProxySurvivesAgentScopeDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	remote, err := NewRemoteSink("http://"+addr, "as_test_key", nil)
	if err != nil {
		t.Fatal(err)
	}
	hang := &hangingSink{}
	for name, sink := range map[string]Sink{"refused": remote, "hanging": hang} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rec := NewRecorder(sink, RecorderOptions{QueueSize: 2, Timeout: 100 * time.Millisecond})
			pipe := newHostPipe()
			runErr := make(chan error, 1)
			go func() {
				runErr <- Run(ctx, pipe.hostIn, pipe.hostOut, stdioUpstream(t), Options{Recorder: rec, Agent: "a1"})
			}()
			client := mcp.NewClient(&mcp.Implementation{Name: "h", Version: "1"}, nil)
			cs, err := client.Connect(ctx, pipe.clientT, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": fmt.Sprint(i)}})
				if err != nil || res.IsError {
					t.Fatalf("call %d with AgentScope down: %v %+v", i, err, res)
				}
			}
			cs.Close()
			pipe.closeClients()
			if err := <-runErr; err != nil {
				t.Error(err)
			}
			st := rec.Close(ctx)
			if st.Sent != 0 || st.Dropped+st.Failed == 0 {
				t.Errorf("stats with AgentScope down: %+v", st)
			}
		})
	}
}

type hangingSink struct{}

func (hangingSink) StartSession(ctx context.Context, id, agent string, input json.RawMessage, at time.Time) error {
	<-ctx.Done()
	return ctx.Err()
}
func (hangingSink) Record(ctx context.Context, events []json.RawMessage) error {
	<-ctx.Done()
	return ctx.Err()
}
func (hangingSink) EndSession(ctx context.Context, id, status, errText string) error {
	<-ctx.Done()
	return ctx.Err()
}

// The server going away ends Run with ErrServerClosed and the session as
// failed.
func TestProxyServerExits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := StartCommand(ctx, "sh", []string{"-c", `read line; echo '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}'; exit 3`}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	rec := NewRecorder(sink, RecorderOptions{})
	hostIn, hostInW := io.Pipe()
	out := &lockedBuffer{}
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, hostIn, out, c, Options{Recorder: rec}) }()
	fmt.Fprintln(hostInW, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"h","version":"1"}}}`)
	err = <-runErr
	if !errors.Is(err, ErrServerClosed) {
		t.Errorf("Run: %v, want ErrServerClosed", err)
	}
	hostInW.Close()
	rec.Close(ctx)
	if want := `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}` + "\n"; out.String() != want {
		t.Errorf("relayed %q, want the server's line unchanged", out.String())
	}
	if len(sink.ends) != 1 || sink.ends[0][:7] != "failed:" {
		t.Errorf("ends: %q", sink.ends)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
