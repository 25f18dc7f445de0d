package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

const token = "test-token-0123456789"

type fixture struct {
	srv *httptest.Server
	svc *service.Service
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return setupWith(t, web.Options{Tokens: map[string]string{token: "org-1"}, MaxBodyBytes: 1 << 20, LivePoll: time.Hour})
}

// setupWith is setup with the server's options given.
func setupWith(t testing.TB, opts web.Options) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, service.Options{})
	srv := httptest.NewServer(web.New(svc, opts))
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})
	return &fixture{srv: srv, svc: svc}
}

func (f *fixture) do(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return doAs(t, token, method, f.srv.URL+path, body, out)
}

// doAs sends a request with bearer, decodes its JSON answer into out (if
// not nil) and returns its status.
func doAs(t *testing.T, bearer, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}

type apiError struct {
	Error struct {
		Code, Message, Field string
	}
}

func TestRunLifecycle(t *testing.T) {
	f := setup(t)
	var run agentscope.Run
	if code := f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"s1","input":{"q":1}}`, &run); code != 201 || run.Status != "running" {
		t.Fatalf("start: %d %+v", code, run)
	}
	ndjson := `{"session_id":"s1","type":"ModelInvoked","provider":"openai","model":"m","event_id":"a"}
{"session_id":"s1","type":"ModelCompleted","provider":"openai","model":"m"}
not json
{"session_id":"nope","type":"ModelInvoked","provider":"p","model":"m"}
{"session_id":"s1","type":"CostRecorded","amount_usd":0.5}
`
	var rec struct {
		Accepted, Rejected int
		Results            []service.RecordResult
	}
	if code := f.do(t, "POST", "/api/v1/events", ndjson, &rec); code != http.StatusMultiStatus || rec.Accepted != 2 || rec.Rejected != 3 {
		t.Fatalf("record: %d %+v", code, rec)
	}
	wantCodes := []string{"", "invalid", "invalid", "not_found", ""}
	for i, r := range rec.Results {
		if r.Code != wantCodes[i] || r.Index != i {
			t.Errorf("result %d: %+v, want code %q", i, r, wantCodes[i])
		}
	}
	if !strings.Contains(rec.Results[1].Error, "duration_ms") {
		t.Errorf("rejection does not name the field: %q", rec.Results[1].Error)
	}
	// A JSON array works too, and a repeat of event_id "a" is answered as success.
	if code := f.do(t, "POST", "/api/v1/events", `[{"session_id":"s1","type":"ModelInvoked","provider":"openai","model":"m","event_id":"a"}]`, &rec); code != 200 || !rec.Results[0].Duplicate || rec.Results[0].Seq != 2 {
		t.Fatalf("duplicate: %d %+v", code, rec)
	}
	if code := f.do(t, "POST", "/api/v1/runs/s1/end", `{"status":"completed"}`, &run); code != 200 || run.Status != "completed" || run.CostUSD.String() != "0.5" {
		t.Fatalf("end: %d %+v", code, run)
	}
	var page service.ReplayPage
	if code := f.do(t, "GET", "/api/v1/sessions/s1/events?limit=2", "", &page); code != 200 || len(page.Events) != 2 || page.NextCursor != "2" {
		t.Fatalf("replay page 1: %d %+v", code, page)
	}
	var page2 struct {
		Events     []agentscope.Event `json:"events"`
		NextCursor string             `json:"next_cursor"`
	}
	if code := f.do(t, "GET", "/api/v1/sessions/s1/events?cursor=2", "", &page2); code != 200 || len(page2.Events) != 2 || page2.Events[1].Type != agentscope.SessionCompleted || page2.NextCursor != "" {
		t.Fatalf("replay page 2: %d %+v", code, page2)
	}
	var list agentscope.RunPage
	if code := f.do(t, "GET", "/api/v1/runs?status=completed", "", &list); code != 200 || len(list.Runs) != 1 {
		t.Fatalf("list: %d %+v", code, list)
	}
	// since takes a duration as list_reports does: runs of the last hour.
	if code := f.do(t, "GET", "/api/v1/runs?since=1h", "", &list); code != 200 || len(list.Runs) == 0 {
		t.Fatalf("since=1h: %d %+v", code, list)
	}
	if code := f.do(t, "GET", "/api/v1/runs?since="+url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), "", &list); code != 200 || len(list.Runs) != 0 {
		t.Fatalf("since an hour ahead: %d %+v", code, list)
	}
}

func TestAPIErrors(t *testing.T) {
	f := setup(t)
	f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"s1"}`, nil)
	cases := []struct {
		method, path, body string
		status             int
		field, contains    string
	}{
		{"POST", "/api/v1/runs", `{"agent":"bot","session_id":"s 1"}`, 400, "session_id", "must match"},
		{"POST", "/api/v1/runs", `{"agent":"bot","session_id":"s1"}`, 409, "", "already exists"},
		{"POST", "/api/v1/runs", `{"agent":"bot","colour":"red"}`, 400, "", "unknown field"},
		{"POST", "/api/v1/runs", `{`, 400, "", "request body ends inside"},
		{"POST", "/api/v1/runs", `{"agent":5}`, 400, "agent", "want a string, got number"},
		{"POST", "/api/v1/runs", `{"agent":"bot",}`, 400, "", "not valid JSON at byte"},
		{"POST", "/api/v1/runs", ``, 400, "", "empty"},
		{"POST", "/api/v1/runs/s1/end", `{"status":"finished"}`, 400, "status", "completed"},
		{"POST", "/api/v1/runs/s1/end", `{"session_id":"s2","status":"completed"}`, 400, "session_id", "path"},
		{"GET", "/api/v1/runs/nope", ``, 404, "", "not found"},
		{"GET", "/api/v1/runs?limit=x", ``, 400, "limit", "integer"},
		{"GET", "/api/v1/runs?since=yesterday", ``, 400, "since", "a duration such as 24h"},
		{"GET", "/api/v1/runs?since=-5m", ``, 400, "since", "RFC 3339"},
		{"GET", "/api/v1/sessions/s1/events?cursor=abc", ``, 400, "cursor", "cursor"},
		{"GET", "/api/v1/sessions/s1/events?types=Bogus", ``, 400, "types", "unknown"},
		{"POST", "/api/v1/events", ``, 400, "", "empty"},
		{"POST", "/api/v1/events", `[{"type":"SessionStarted","session_id":"s1","agent":"bot"}]`, 400, "", ""},
		{"POST", "/api/v1/events", strings.Repeat("x", 2<<20), 413, "", "larger than"},
	}
	for _, c := range cases {
		var e apiError
		code := f.do(t, c.method, c.path, c.body, &e)
		if code != c.status || e.Error.Field != c.field || !strings.Contains(e.Error.Message, c.contains) {
			t.Errorf("%s %s: %d %+v; want %d field %q containing %q", c.method, c.path, code, e.Error, c.status, c.field, c.contains)
		}
		// Errors speak of the caller's JSON, never of our Go types.
		for _, leak := range []string{"Go ", "Input", "json:", "int64", "struct", `\"`} {
			if strings.Contains(e.Error.Message, leak) {
				t.Errorf("%s %s %s: message %q names %q", c.method, c.path, c.body, e.Error.Message, leak)
			}
		}
	}
}

func TestAuth(t *testing.T) {
	f := setup(t)
	for _, h := range []string{"", "Bearer wrong", "Basic " + token, token} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/runs", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %q: %d", h, resp.StatusCode)
		}
	}
	// RFC 7235: the scheme is case-insensitive.
	for _, h := range []string{"bearer " + token, "BEARER " + token, "Bearer " + token} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/runs", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("Authorization %q: %d, want 200", h, resp.StatusCode)
		}
	}
	resp, err := http.Get(f.srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	// Organisation scoping: a run of another organisation is invisible.
	ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-2"))
	if _, err := f.svc.StartRun(ctx, service.StartRunInput{Agent: "x", SessionID: "other"}); err != nil {
		t.Fatal(err)
	}
	if code := f.do(t, "GET", "/api/v1/runs/other", "", nil); code != 404 {
		t.Errorf("another org's run: %d", code)
	}
}

func dial(t *testing.T, f *fixture, sid string, from int64, origin string) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + fmt.Sprintf("/api/v1/sessions/%s/live?from_seq=%d", sid, from)
	h := http.Header{"Authorization": {"Bearer " + token}}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.DefaultDialer.Dial(u, h)
}

func readEvent(t *testing.T, c *websocket.Conn) agentscope.Event {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ev agentscope.Event
	if err := c.ReadJSON(&ev); err != nil {
		t.Fatalf("read live event: %v", err)
	}
	return ev
}

func record(t *testing.T, f *fixture, sid string, n, from int) {
	t.Helper()
	ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-1"))
	var raws []json.RawMessage
	for i := from; i < from+n; i++ {
		raws = append(raws, json.RawMessage(fmt.Sprintf(`{"type":"ToolCalled","tool":"t","call_id":"c%d","event_id":"e%d"}`, i, i)))
	}
	res, err := f.svc.Record(ctx, sid, raws)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Accepted {
			t.Fatal(r.Error)
		}
	}
}

// TestLiveReconnect: a subscriber gets the backlog, then live events; after
// disconnecting and reconnecting with its last seq it misses nothing and
// receives nothing twice.
func TestLiveReconnect(t *testing.T) {
	f := setup(t)
	f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"live"}`, nil)
	record(t, f, "live", 3, 0) // seq 2..4
	c, _, err := dial(t, f, "live", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for range 4 {
		got = append(got, readEvent(t, c).Seq)
	}
	record(t, f, "live", 3, 3) // seq 5..7, live
	for range 3 {
		got = append(got, readEvent(t, c).Seq)
	}
	c.Close()
	record(t, f, "live", 2, 6) // seq 8..9 while disconnected
	c, _, err = dial(t, f, "live", got[len(got)-1], "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		got = append(got, readEvent(t, c).Seq)
	}
	record(t, f, "live", 1, 8) // seq 10
	got = append(got, readEvent(t, c).Seq)
	for i, seq := range got {
		if seq != int64(i+1) {
			t.Fatalf("received seqs %v: want 1..10 once each", got)
		}
	}
}

func TestLiveRefusals(t *testing.T) {
	f := setup(t)
	f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"live"}`, nil)
	if _, resp, err := dial(t, f, "live", 0, "https://evil.example"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Origin accepted: %v", err)
	}
	if _, resp, err := dial(t, f, "nope", 0, ""); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session: %v", err)
	}
}

// TestIngestRefusesWhatWouldBeLostOrAltered: over POST /api/v1/events, raw
// invalid UTF-8 inside arguments is refused naming the field, and an event_id
// sent again with a different body answers conflict, not "duplicate".
func TestIngestRefusesWhatWouldBeLostOrAltered(t *testing.T) {
	f := setup(t)
	if code := f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"s1"}`, nil); code != 201 {
		t.Fatalf("start: %d", code)
	}
	ndjson := "{\"session_id\":\"s1\",\"type\":\"ToolCalled\",\"tool\":\"t\",\"call_id\":\"c\",\"arguments\":{\"q\":\"\xff\xfe\"}}\n" +
		`{"session_id":"s1","type":"ModelInvoked","provider":"openai","model":"m","event_id":"a"}` + "\n"
	var rec struct {
		Accepted, Rejected int
		Results            []service.RecordResult
	}
	if code := f.do(t, "POST", "/api/v1/events", ndjson, &rec); code != http.StatusMultiStatus || rec.Accepted != 1 || rec.Rejected != 1 {
		t.Fatalf("record: %d %+v", code, rec)
	}
	if r := rec.Results[0]; r.Code != "invalid" || !strings.Contains(r.Error, "arguments") || !strings.Contains(r.Error, "UTF-8") {
		t.Errorf("invalid UTF-8: %+v, want invalid naming arguments", r)
	}
	code := f.do(t, "POST", "/api/v1/events", `{"session_id":"s1","type":"ModelInvoked","provider":"openai","model":"other","event_id":"a"}`, &rec)
	if r := rec.Results[0]; code != http.StatusConflict || r.Code != "conflict" || !strings.Contains(r.Error, `"a"`) {
		t.Errorf("same event_id, other body: %d %+v, want 409 conflict naming the event_id", code, r)
	}
	code = f.do(t, "POST", "/api/v1/events", `{"session_id":"s1","type":"ModelInvoked","provider":"openai","model":"m","event_id":"a"}`, &rec)
	if r := rec.Results[0]; code != http.StatusOK || !r.Duplicate {
		t.Errorf("same event again: %d %+v, want 200 duplicate", code, r)
	}
}

// TestBodiesThatWouldBeAltered: a request body with trailing data after its
// JSON value, or a key sent twice, is refused with 400 naming the problem;
// over POST /api/v1/events such an event is refused on its own, naming the
// field, and the others are kept.
func TestBodiesThatWouldBeAltered(t *testing.T) {
	f := setup(t)
	var e struct {
		Error struct{ Code, Message string }
	}
	if code := f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"s1"} {"agent":"x"}`, &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "trailing data") {
		t.Errorf("trailing data: %d %+v", code, e)
	}
	if code := f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","agent":"other","session_id":"s1"}`, &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, `repeats the key "agent"`) {
		t.Errorf("repeated key: %d %+v", code, e)
	}
	if code := f.do(t, "POST", "/api/v1/runs", `{"agent":"bot","session_id":"s1"}`, nil); code != 201 {
		t.Fatalf("start: %d", code)
	}
	ndjson := `{"session_id":"s1","type":"ToolCalled","tool":"t","call_id":"c","arguments":{"q":1,"q":2}}` + "\n" +
		`{"session_id":"s1","type":"ModelInvoked","provider":"openai","provider":"other","model":"m"}` + "\n" +
		`{"session_id":"s1","type":"ModelInvoked","provider":"openai","model":"m"}` + "\n"
	var rec struct {
		Accepted, Rejected int
		Results            []service.RecordResult
	}
	if code := f.do(t, "POST", "/api/v1/events", ndjson, &rec); code != http.StatusMultiStatus || rec.Accepted != 1 || rec.Rejected != 2 {
		t.Fatalf("record: %d %+v", code, rec)
	}
	for i, want := range []string{`arguments.q`, `provider`} {
		if r := rec.Results[i]; r.Code != "invalid" || !strings.Contains(r.Error, want) || !strings.Contains(r.Error, "repeats the key") {
			t.Errorf("event %d: %+v, want invalid naming %s", i, r, want)
		}
	}
}

// TestRecordBatchLimit: POST /api/v1/events refuses more than
// service.MaxBatchEvents events, as a JSON array or NDJSON, naming the
// limit (record_event has the same cap).
func TestRecordBatchLimit(t *testing.T) {
	f := setup(t)
	n := service.MaxBatchEvents + 1
	for name, body := range map[string]string{
		"array":  "[" + strings.TrimSuffix(strings.Repeat("{},", n), ",") + "]",
		"ndjson": strings.Repeat("{}\n", n),
	} {
		var e apiError
		code := f.do(t, "POST", "/api/v1/events", body, &e)
		if want := fmt.Sprintf("at most %d", service.MaxBatchEvents); code != http.StatusRequestEntityTooLarge || !strings.Contains(e.Error.Message, want) {
			t.Errorf("%s of %d events: %d %+v; want 413 saying %q", name, n, code, e.Error, want)
		}
	}
}

// TestUnknownAPIRoutes: a path no API route takes answers JSON like every
// other API error (it was the router's plain text): 404 naming the
// request, 405 with Allow for a method the path does not take.
func TestUnknownAPIRoutes(t *testing.T) {
	f := setup(t)
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/nope", 404, agentscope.ENOTFOUND, ""},
		{"GET", "/api/v2/runs", 404, agentscope.ENOTFOUND, ""},
		{"DELETE", "/api/v1/runs", 405, agentscope.EINVALID, "GET, HEAD, POST"},
	} {
		var e apiError
		req, _ := http.NewRequest(c.method, f.srv.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if err != nil || resp.StatusCode != c.status || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.path) || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %+v (decode %v, Allow %q); want %d %s naming the path, Allow %q", c.method, c.path, resp.StatusCode, e.Error, err, resp.Header.Get("Allow"), c.status, c.code, c.allow)
		}
	}
}
