package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// limited serves a SQLite-backed server under an http.Server with the
// timeouts given and the body limits of opts.
func limited(t *testing.T, opts web.Options, cfg func(*http.Server), routes ...func(*web.Router)) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, service.Options{})
	opts.Tokens = map[string]string{token: "org-1"}
	if opts.LivePoll == 0 {
		opts.LivePoll = time.Hour
	}
	h := web.New(svc, opts)
	for _, route := range routes {
		route(h.Mux())
	}
	srv := httptest.NewUnstartedServer(h)
	cfg(srv.Config)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})
	return &fixture{srv: srv, svc: svc}
}

// rawConn opens a TCP connection to f's server that fails the test rather
// than hang past 10 s.
func rawConn(t *testing.T, f *fixture) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSlowClientsAreCut: a client that sends its headers slowly
// (slowloris) is disconnected after ReadHeaderTimeout, and one that trickles
// its body is answered 408 after ReadTimeout, each well before the test's
// own 10 s guard.
func TestSlowClientsAreCut(t *testing.T) {
	f := limited(t, web.Options{}, func(s *http.Server) {
		s.ReadHeaderTimeout = 200 * time.Millisecond
		s.ReadTimeout = 400 * time.Millisecond
	})
	start := time.Now()
	c := rawConn(t, f)
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("slow headers: %v after %s, want the server to close the connection", err, time.Since(start))
	}

	c = rawConn(t, f)
	fmt.Fprintf(c, "POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"agent\":", token)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("slow body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow body: %d, want 408", resp.StatusCode)
	}
}

// TestOversizeHeadersRefused: headers past MaxHeaderBytes get 431.
func TestOversizeHeadersRefused(t *testing.T) {
	f := limited(t, web.Options{}, func(s *http.Server) { s.MaxHeaderBytes = 4 << 10 })
	req, _ := http.NewRequest("GET", f.srv.URL+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("16 KiB header: %d, want 431", resp.StatusCode)
	}
}

// TestLiveStreamOutlivesTimeouts: a live websocket is exempt from the
// server's read and write timeouts: it still delivers an event recorded
// after three times both have passed, it takes a message from the client
// after them (the hijacked connection has no read deadline), and it pinged
// the client at its own keep-alive period in the meantime.
func TestLiveStreamOutlivesTimeouts(t *testing.T) {
	f := limited(t, web.Options{StreamKeepAlive: 50 * time.Millisecond}, func(s *http.Server) {
		s.ReadTimeout = 150 * time.Millisecond
		s.WriteTimeout = 150 * time.Millisecond
	})
	// Started through the service: on a loaded machine a plain request can
	// itself take longer than these short timeouts.
	if _, err := f.svc.StartRun(agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-1")), service.StartRunInput{Agent: "bot", SessionID: "s1"}); err != nil {
		t.Fatal(err)
	}
	conn, _, err := dial(t, f, "s1", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pings := 0 // read on this goroutine only, in conn's reads
	conn.SetPingHandler(func(data string) error {
		pings++
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	<-time.After(450 * time.Millisecond) // the subject under test: time passing
	// The server reads client messages only to notice the client leaving:
	// one sent now must not end the stream.
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	record(t, f, "s1", 1, 0)
	if ev := readEvent(t, conn); ev.CallID != "c0" {
		t.Fatalf("event after the timeouts: %+v", ev)
	}
	record(t, f, "s1", 1, 1)
	if ev := readEvent(t, conn); ev.CallID != "c1" {
		t.Fatalf("event after the client's message: %+v", ev)
	}
	if pings < 3 {
		t.Fatalf("%d pings in 450 ms at a 50 ms keep-alive, want at least 3", pings)
	}
}

// TestEventStreamKeepAlive: a text/event-stream response (as the MCP
// endpoint's GET stream) outlives the read and write timeouts, gets an SSE
// comment every keep-alive period while it carries nothing, never inside an
// event written in parts; a plain JSON answer to a client that accepts an
// event stream (an MCP POST) is left as it is.
func TestEventStreamKeepAlive(t *testing.T) {
	f := limited(t, web.Options{StreamKeepAlive: 50 * time.Millisecond}, func(s *http.Server) {
		s.ReadTimeout = 150 * time.Millisecond
		s.WriteTimeout = 150 * time.Millisecond
	}, func(m *web.Router) {
		m.HandleFunc("GET /test/events", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			rc := http.NewResponseController(w)
			fmt.Fprint(w, ": ok\n\n")
			_ = rc.Flush()
			<-time.After(450 * time.Millisecond) // past both timeouts
			fmt.Fprint(w, "data: part")
			_ = rc.Flush()
			<-time.After(200 * time.Millisecond) // keep-alive periods inside an event
			fmt.Fprint(w, "ial\n\n")
			_ = rc.Flush()
		})
		m.HandleFunc("POST /test/json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_ = http.NewResponseController(w).Flush()
			<-time.After(200 * time.Millisecond)
			fmt.Fprint(w, `{"ok":true}`)
		})
	})
	get := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, f.srv.URL+path, nil)
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get("GET", "/test/events")
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("event stream cut after %q: %v", b, err)
	}
	var keepAlives, events int
	for block := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		switch block {
		case ": ok":
		case ": keep-alive":
			keepAlives++
		case "data: partial":
			events++
		default:
			t.Errorf("unexpected block %q in %q", block, b)
		}
	}
	if events != 1 || keepAlives < 3 {
		t.Fatalf("%d events, %d keep-alives in %q: want the event whole and at least 3 keep-alives", events, keepAlives, b)
	}

	resp = get("POST", "/test/json")
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != `{"ok":true}` {
		t.Fatalf("JSON answer: %q %v", b, err)
	}
}

// TestLongHandlerKeepsItsContext: a request whose handler works past
// ReadTimeout after its body was read (an investigation with wait, a long
// search, an MCP tool call) keeps its context and its answer, and its
// context still ends when the client leaves after ReadTimeout has passed —
// a long SPL scan stops when nobody waits for it. (net/http stops watching
// the connection once its read deadline passes, unless it is lifted.)
func TestLongHandlerKeepsItsContext(t *testing.T) {
	left := make(chan error, 1)
	f := limited(t, web.Options{}, func(s *http.Server) { s.ReadTimeout = 150 * time.Millisecond }, func(m *web.Router) {
		m.HandleFunc("POST /test/slow", func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			select {
			case <-time.After(450 * time.Millisecond): // the work, past ReadTimeout
				fmt.Fprintf(w, "done %s", body)
			case <-r.Context().Done():
				http.Error(w, "cancelled", http.StatusServiceUnavailable)
			}
		})
		m.HandleFunc("POST /test/forever", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
				left <- nil
			case <-time.After(10 * time.Second):
				left <- fmt.Errorf("the handler's context did not end when the client left")
			}
		})
	})
	resp, err := http.Post(f.srv.URL+"/test/slow", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "done x" {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond) // leaves past ReadTimeout
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/test/forever", strings.NewReader("x"))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the forever request answered")
	}
	if err := <-left; err != nil {
		t.Fatal(err)
	}
}

// TestBodiesInFlightBounded: while one request holds the in-flight budget
// with a body it is still sending, another is answered 503 with
// Retry-After at once and nothing of it is kept; when the first completes,
// the second goes through on retry.
func TestBodiesInFlightBounded(t *testing.T) {
	f := limited(t, web.Options{MaxBodyBytes: 64 << 10, MaxInflightBytes: 64 << 10}, func(*http.Server) {})
	if code := f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"s1"}`, nil); code != 201 {
		t.Fatalf("start: %d", code)
	}
	body := `{"session_id":"s1","type":"ModelInvoked","provider":"p","model":"m","event_id":"first"}`
	// Expect: 100-continue makes the server say when the handler starts
	// reading the body, that is, once the budget is held.
	c := rawConn(t, f)
	fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", token, 64<<10)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}

	var e apiError
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/events", strings.NewReader(`{"session_id":"s1","type":"ModelInvoked","provider":"p","model":"m","event_id":"second"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES") {
		t.Fatalf("second body while the first holds the budget: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}

	// The first body, padded with blank lines to its announced length.
	fmt.Fprint(c, body+"\n"+strings.Repeat("\n", 64<<10-len(body)-1))
	first, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if first.StatusCode != http.StatusOK {
		t.Fatalf("first: %d", first.StatusCode)
	}
	if code := f.do(t, "POST", "/api/v1/events", `{"session_id":"s1","type":"ModelInvoked","provider":"p","model":"m","event_id":"second"}`, nil); code != http.StatusOK {
		t.Fatalf("second on retry: %d", code)
	}
	var run struct {
		EventCount int64 `json:"event_count"`
	}
	f.do(t, "GET", "/api/v1/runs/s1", "", &run)
	if run.EventCount != 3 {
		t.Fatalf("event_count %d, want 3 (start, first, second once)", run.EventCount)
	}
	// A body over MaxBodyBytes is refused before it is read.
	if code := f.do(t, "POST", "/api/v1/events", strings.Repeat(" ", 65<<10), &e); code != http.StatusRequestEntityTooLarge || !strings.Contains(e.Error.Message, "limit") {
		t.Fatalf("oversize body: %d %+v", code, e)
	}
}

// heldSearch is a search backend whose queries wait for release.
type heldSearch struct {
	entered chan struct{}
	release chan struct{}
}

func (h heldSearch) Search(ctx context.Context, _ string, _ agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	h.entered <- struct{}{}
	select {
	case <-h.release:
		return &agentscope.SearchResult{Results: []map[string]any{{"n": 1}}}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestSearchBusyAnswers503: past the SPL concurrency cap, POST /api/v1/spl
// answers 503 with Retry-After and says which setting caps it; once the
// running query ends, the next is served.
func TestSearchBusyAnswers503(t *testing.T) {
	held := heldSearch{entered: make(chan struct{}, 1), release: make(chan struct{})}
	router, err := search.NewRouter("held", map[string]agentscope.Searcher{"held": held}, search.Limits{MaxPerOrg: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := limited(t, web.Options{}, func(*http.Server) {})
	h := f.srv.Config.Handler.(*web.Server)
	f.svc.Search = service.SearchOptions{Searcher: router}
	h.RouteSearch()
	first := make(chan int, 1)
	go func() { first <- f.do(t, "POST", "/api/v1/spl", `{"query":"search *"}`, nil) }()
	<-held.entered
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/spl", strings.NewReader(`{"query":"search *"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(b), "AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG") {
		t.Fatalf("second query: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	close(held.release)
	if code := <-first; code != http.StatusOK {
		t.Fatalf("first query: %d", code)
	}
	go func() { <-held.entered }()
	if code := f.do(t, "POST", "/api/v1/spl", `{"query":"search *"}`, nil); code != http.StatusOK {
		t.Fatalf("query after the first ended: %d", code)
	}
}

// TestRefusedBodyIsAnswered: a body refused for the in-flight budget (503)
// or for its size (413) is answered at once, before the server reads it,
// with its Content-Length and Connection: close. A client that reads while
// it sends has the answer before it sends the rest of its body; one that
// sends its whole body before it reads (8 MiB, more than socket buffers
// hold unread) sends all of a body refused 503 — the server reads it after
// answering — and then reads the answer, and reads the 413 for a body over
// the limit, which the server leaves unread.
func TestRefusedBodyIsAnswered(t *testing.T) {
	const limit = 8 << 20
	f := limited(t, web.Options{MaxBodyBytes: limit, MaxInflightBytes: limit}, func(*http.Server) {})
	// The whole budget, held by a post that waits for 100 Continue: it
	// comes once the handler holds the budget and reads the body.
	hold := rawConn(t, f)
	fmt.Fprintf(hold, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", token, limit)
	br := bufio.NewReader(hold)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}

	check := func(name string, resp *http.Response, b []byte, status int, setting string) {
		t.Helper()
		var e apiError
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != status || !strings.Contains(e.Error.Message, setting) {
			t.Fatalf("%s: %d %s (%v), want %d naming %s", name, resp.StatusCode, b, err, status, setting)
		}
		if !resp.Close || resp.ContentLength != int64(len(b)) {
			t.Errorf("%s: Connection: close %v, Content-Length %d for %d bytes; want both", name, resp.Close, resp.ContentLength, len(b))
		}
		if status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s: Retry-After %q, want 1", name, resp.Header.Get("Retry-After"))
		}
	}

	// Sends all, then reads.
	sendAll := func(length int) (*http.Response, []byte, error) {
		c := rawConn(t, f)
		fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n", token, length)
		_, sendErr := c.Write(make([]byte, length))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer after sending %d bytes (send: %v): %v", length, sendErr, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("answer body: %v", err)
		}
		return resp, b, sendErr
	}
	resp, b, err := sendAll(limit)
	if err != nil {
		t.Errorf("sending a body refused 503: %v; want the server to read it after answering", err)
	}
	check("503, sent whole", resp, b, http.StatusServiceUnavailable, "AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES")
	resp, b, err = sendAll(limit + 1)
	t.Logf("sending a body refused 413: %v", err) // the server leaves it unread
	check("413, sent whole", resp, b, http.StatusRequestEntityTooLarge, "AGENTSCOPE_HTTP_MAX_BODY_BYTES")

	// Reads before it sends more than 1 KiB: the answer must come first.
	// For the 503 the rest is sent after it, and the server reads it.
	piped := func(length int, sendRest bool) (*http.Response, []byte, error) {
		pr, pw := io.Pipe()
		answered := make(chan struct{})
		sent := make(chan error, 1)
		// A server that waits for the body before it answers fails the
		// test at the deadline: the body ends there, and with it the post.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go func() {
			_, err := pw.Write(make([]byte, 1<<10))
			select {
			case <-answered:
			case <-ctx.Done():
				err = ctx.Err()
			}
			if err == nil && sendRest {
				_, err = pw.Write(make([]byte, length-1<<10))
			}
			if sendRest {
				pw.CloseWithError(err)
			} else {
				pw.CloseWithError(io.ErrUnexpectedEOF)
			}
			sent <- err
		}()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/api/v1/events", pr)
		req.Header.Set("Authorization", "Bearer "+token)
		req.ContentLength = int64(length)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			close(answered)
			t.Fatalf("no answer while the body waits for it: %v", err)
		}
		if !sendRest {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			close(answered)
			if err != nil {
				t.Fatalf("answer body: %v", err)
			}
			return resp, b, <-sent
		}
		// The rest is sent before the answer's body is read: once it is
		// read, the client closes the connection, as the answer says.
		close(answered)
		sendErr := <-sent
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("answer body: %v", err)
		}
		return resp, b, sendErr
	}
	resp, b, err = piped(limit, true)
	if err != nil {
		t.Errorf("sending the rest of a body refused 503 after its answer: %v", err)
	}
	check("503, read first", resp, b, http.StatusServiceUnavailable, "AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES")
	resp, b, _ = piped(limit+1, false)
	check("413, read first", resp, b, http.StatusRequestEntityTooLarge, "AGENTSCOPE_HTTP_MAX_BODY_BYTES")

	// A client that asked Expect: 100-continue is answered 503 instead of
	// 100 Continue, sends no body, and the server does not wait for one:
	// it closes the connection at once rather than at its read timeout.
	c := rawConn(t, f)
	fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", token, limit)
	cr := bufio.NewReader(c)
	resp, err = http.ReadResponse(cr, nil)
	if err != nil {
		t.Fatalf("expect 100-continue: no answer: %v", err)
	}
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	check("503, expect 100-continue", resp, b, http.StatusServiceUnavailable, "AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(cr); err != nil || len(rest) != 0 {
		t.Errorf("expect 100-continue: after the answer %q, %v; want the connection closed at once, the body never asked for", rest, err)
	}
}
