package splunkbridge_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/splunkbridge"
)

const restToken = "rest-token-SECRET"

// fakeSplunk speaks the parts of Splunk's management REST API the client
// uses: export, the jobs API, server info, and Splunk's error bodies. What
// a request does depends on words in its search.
type fakeSplunk struct {
	mu        sync.Mutex
	searches  []map[string]string // the forms received
	polls     int
	cancelled chan string   // sids cancelled
	stopped   chan struct{} // closed when a client stops reading an endless export
	polled    chan struct{} // receives on every poll of a slow job
}

func newFakeSplunk() *fakeSplunk {
	return &fakeSplunk{cancelled: make(chan string, 4), stopped: make(chan struct{}), polled: make(chan struct{}, 100)}
}

func (f *fakeSplunk) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/search/jobs/export", f.export)
	mux.HandleFunc("POST /services/search/jobs", f.createJob)
	mux.HandleFunc("GET /services/search/jobs/{sid}", f.jobStatus)
	mux.HandleFunc("GET /services/search/jobs/{sid}/results", f.jobResults)
	mux.HandleFunc("POST /services/search/jobs/{sid}/control", f.control)
	mux.HandleFunc("GET /services/server/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"entry":[{"name":"server-info","content":{"version":"9.3.1","serverName":"idx-1","build":"abc"}}]}`)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+restToken {
			writeJSON(w, 401, `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}`)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (f *fakeSplunk) record(r *http.Request) map[string]string {
	_ = r.ParseForm()
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	f.mu.Lock()
	f.searches = append(f.searches, form)
	f.mu.Unlock()
	return form
}

func (f *fakeSplunk) lastForm() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.searches[len(f.searches)-1]
}

func (f *fakeSplunk) export(w http.ResponseWriter, r *http.Request) {
	form := f.record(r)
	q := form["search"]
	switch {
	case form["output_mode"] != "json":
		writeJSON(w, 400, `{"messages":[{"type":"ERROR","text":"output_mode must be json"}]}`)
	case strings.Contains(q, "syntaxerror"):
		writeJSON(w, 400, `{"messages":[{"type":"ERROR","text":"Error in 'search' command: Unable to parse the search: unbalanced parentheses."}]}`)
	case strings.Contains(q, "fatalstream"):
		w.WriteHeader(200)
		fmt.Fprintln(w, `{"preview":false,"offset":0,"result":{"a":"1"}}`)
		fmt.Fprintln(w, `{"preview":false,"messages":[{"type":"INFO","text":"fine"},{"type":"FATAL","text":"Search auto-canceled"}]}`)
	case strings.Contains(q, "endless"):
		w.WriteHeader(200)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "{\"preview\":false,\"offset\":%d,\"result\":{\"n\":\"%d\"}}\n", i, i); err != nil {
				close(f.stopped)
				return
			}
			w.(http.Flusher).Flush()
			if r.Context().Err() != nil {
				close(f.stopped)
				return
			}
		}
	case strings.Contains(q, "down"):
		writeJSON(w, 503, `{"messages":[{"type":"ERROR","text":"Search head is restarting"}]}`)
	default:
		w.WriteHeader(200)
		fmt.Fprintln(w, `{"preview":true,"offset":0,"result":{"agent":"preview-only","count":"1"}}`)
		fmt.Fprintln(w, `{"preview":false,"offset":0,"result":{"agent":"planner","count":"12","tags":["a","b"]}}`)
		fmt.Fprintln(w, `{"preview":false,"offset":1,"result":{"agent":"coder","count":"3","extra":"x"}}`)
		fmt.Fprintln(w, `{"preview":false,"offset":2,"lastrow":true,"result":{"agent":"critic","count":"1"}}`)
		fmt.Fprintln(w, `{"preview":false,"offset":3,"result":{"agent":"after-last-row"}}`)
	}
}

func (f *fakeSplunk) createJob(w http.ResponseWriter, r *http.Request) {
	form := f.record(r)
	if form["exec_mode"] != "normal" {
		writeJSON(w, 400, `{"messages":[{"type":"ERROR","text":"exec_mode"}]}`)
		return
	}
	sid := "1730462400.42"
	switch q := form["search"]; {
	case strings.Contains(q, "failjob"):
		sid = "fail.1"
	case strings.Contains(q, "slowjob"):
		sid = "slow.1"
	}
	writeJSON(w, 201, fmt.Sprintf(`{"sid":%q}`, sid))
}

func (f *fakeSplunk) jobStatus(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.polls++
	polls := f.polls
	f.mu.Unlock()
	switch sid := r.PathValue("sid"); {
	case sid == "fail.1":
		writeJSON(w, 200, `{"entry":[{"content":{"dispatchState":"FAILED","isDone":true,"isFailed":true,"messages":[{"type":"FATAL","text":"Error in 'stats' command: The argument 'bogus' is invalid."}]}}]}`)
	case sid == "slow.1":
		writeJSON(w, 200, `{"entry":[{"content":{"dispatchState":"RUNNING","isDone":false}}]}`)
		f.polled <- struct{}{}
	case polls < 3:
		writeJSON(w, 200, `{"entry":[{"content":{"dispatchState":"RUNNING","isDone":false,"isFailed":false}}]}`)
	default:
		writeJSON(w, 200, `{"entry":[{"content":{"dispatchState":"DONE","isDone":true,"isFailed":false}}]}`)
	}
}

func (f *fakeSplunk) jobResults(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("output_mode") != "json" || r.URL.Query().Get("count") != "2" {
		writeJSON(w, 400, `{"messages":[{"type":"ERROR","text":"bad results query"}]}`)
		return
	}
	writeJSON(w, 200, `{"preview":false,"init_offset":0,"messages":[],"fields":[{"name":"tool"},{"name":"calls"}],`+
		`"results":[{"calls":"40","tool":"search"},{"tool":"fetch","calls":"2"},{"tool":"beyond-limit","calls":"1"}]}`)
}

func (f *fakeSplunk) control(w http.ResponseWriter, r *http.Request) {
	form := f.record(r)
	if form["action"] == "cancel" {
		f.cancelled <- r.PathValue("sid")
	}
	writeJSON(w, 200, `{"messages":[{"type":"INFO","text":"Search job cancelled."}]}`)
}

func newRESTClient(t *testing.T, url string, mod func(*splunkbridge.RESTConfig)) *splunkbridge.RESTClient {
	t.Helper()
	cfg := splunkbridge.RESTConfig{URL: url, Token: restToken, PollInterval: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := splunkbridge.NewRESTClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startFakeSplunk serves the fake over TLS, as Splunk's management port
// does, and returns it with the path of a CA file that trusts it.
func startFakeSplunk(t *testing.T) (*fakeSplunk, *httptest.Server, string) {
	fake := newFakeSplunk()
	srv := httptest.NewTLSServer(fake.handler())
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "splunk-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return fake, srv, ca
}

func TestRESTExport(t *testing.T) {
	t.Parallel()
	fake, srv, ca := startFakeSplunk(t)
	c := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.CAFile = ca })
	ctx := context.Background()

	rows, err := c.Export(ctx, "index=agentscope | stats count by agent", splunkbridge.TimeRange{Earliest: "-24h", Latest: "now"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0]["agent"] != "planner" || rows[2]["agent"] != "critic" {
		t.Fatalf("rows %v: want the three final rows, without previews or rows after lastrow", rows)
	}
	if tags, _ := rows[0]["tags"].([]any); len(tags) != 2 {
		t.Errorf("multivalue field decoded as %#v", rows[0]["tags"])
	}
	form := fake.lastForm()
	if form["search"] != "search index=agentscope | stats count by agent" || form["earliest_time"] != "-24h" || form["latest_time"] != "now" || form["output_mode"] != "json" {
		t.Errorf("form sent: %v", form)
	}
	for q, want := range map[string]string{"| makeresults": "| makeresults", "search x": "search x", "SEARCH x": "SEARCH x", "searchx": "search searchx"} {
		if _, err := c.Export(ctx, q, splunkbridge.TimeRange{}, 1); err != nil {
			t.Fatal(err)
		}
		if got := fake.lastForm(); got["search"] != want {
			t.Errorf("query %q sent as %q, want %q", q, got["search"], want)
		}
		if _, ok := fake.lastForm()["earliest_time"]; ok {
			t.Errorf("empty time range sent earliest_time")
		}
	}
	if rows, err := c.Export(ctx, "x", splunkbridge.TimeRange{}, 2); err != nil || len(rows) != 2 {
		t.Errorf("limit 2: %d rows, %v", len(rows), err)
	}
	// ISO 8601 bounds go as epoch seconds, the one form Splunk reads one
	// way only: a date or a time without an offset is UTC, as the embedded
	// engine reads it. Relative modifiers and epochs go as given.
	for _, tc := range []struct{ earliest, latest, wantE, wantL string }{
		{"2026-12-05", "2026-12-05T01:30:00", "1796428800", "1796434200"},
		{"2026-12-05T01:00:00+01:00", "2026-12-05T00:00:00.25Z", "1796428800", "1796428800.250000"},
		{"-7d@d", "1764892800", "-7d@d", "1764892800"},
	} {
		if _, err := c.Export(ctx, "x", splunkbridge.TimeRange{Earliest: tc.earliest, Latest: tc.latest}, 1); err != nil {
			t.Fatal(err)
		}
		if f := fake.lastForm(); f["earliest_time"] != tc.wantE || f["latest_time"] != tc.wantL {
			t.Errorf("%q..%q sent as %q..%q, want %q..%q", tc.earliest, tc.latest, f["earliest_time"], f["latest_time"], tc.wantE, tc.wantL)
		}
	}
}

func TestRESTExportStopsAtLimit(t *testing.T) {
	t.Parallel()
	fake, srv, ca := startFakeSplunk(t)
	c := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.CAFile = ca })
	rows, err := c.Export(context.Background(), "endless", splunkbridge.TimeRange{}, 5)
	if err != nil || len(rows) != 5 || rows[4]["n"] != "4" {
		t.Fatalf("rows %v, err %v", rows, err)
	}
	select {
	case <-fake.stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the server kept streaming: the client did not stop reading after the limit")
	}
}

func TestRESTErrors(t *testing.T) {
	t.Parallel()
	_, srv, ca := startFakeSplunk(t)
	c := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.CAFile = ca })
	ctx := context.Background()
	for _, tc := range []struct {
		query, text, code string
		status            int
	}{
		{"syntaxerror", "Unable to parse the search", agentscope.EINVALID, 400},
		{"fatalstream", "Search auto-canceled", agentscope.EINVALID, 0},
		{"down", "Splunk is unavailable", agentscope.EUNAVAILABLE, 503},
	} {
		_, err := c.Export(ctx, tc.query, splunkbridge.TimeRange{}, 10)
		var se *splunkbridge.SplunkError
		if !errors.As(err, &se) || se.Status != tc.status {
			t.Errorf("%s: error %v, want a SplunkError with status %d", tc.query, err, tc.status)
			continue
		}
		if agentscope.ErrorCode(err) != tc.code || !strings.Contains(err.Error()+agentscope.ErrorMessage(err), tc.text) {
			t.Errorf("%s: %v (code %s, message %q)", tc.query, err, agentscope.ErrorCode(err), agentscope.ErrorMessage(err))
		}
	}
	bad := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.CAFile, cfg.Token = ca, "wrong-SECRET" })
	_, err := bad.Export(ctx, "x", splunkbridge.TimeRange{}, 1)
	if agentscope.ErrorCode(err) != agentscope.EUNAVAILABLE || !strings.Contains(err.Error(), "call not properly authenticated") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("bad token: %v", err)
	}
}

func TestRESTTLSVerification(t *testing.T) {
	t.Parallel()
	_, srv, _ := startFakeSplunk(t)
	ctx := context.Background()
	// Verification is on by default: a self-signed server is refused.
	_, err := newRESTClient(t, srv.URL, nil).ServerInfo(ctx)
	if err == nil || !strings.Contains(err.Error(), "certificate") || agentscope.ErrorCode(err) != agentscope.EUNAVAILABLE || strings.Contains(err.Error(), restToken) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	info, err := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.InsecureSkipVerify = true }).ServerInfo(ctx)
	if err != nil || info.Version != "9.3.1" || info.ServerName != "idx-1" {
		t.Fatalf("insecure opt-in: %+v, %v", info, err)
	}
	if _, err := splunkbridge.NewRESTClient(splunkbridge.RESTConfig{URL: srv.URL, Token: restToken, CAFile: "/nonexistent.pem"}); err == nil {
		t.Error("a missing CA file was accepted")
	}
	for _, cfg := range []splunkbridge.RESTConfig{{URL: "splunk:8089", Token: "t"}, {URL: "https://splunk:8089"}, {URL: "https://splunk:8089", Token: "a b"}} {
		if _, err := splunkbridge.NewRESTClient(cfg); err == nil {
			t.Errorf("NewRESTClient accepted %+v", cfg)
		}
	}
}

func TestRESTSearchJob(t *testing.T) {
	t.Parallel()
	fake, srv, ca := startFakeSplunk(t)
	c := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.CAFile = ca })
	ctx := context.Background()
	res, err := c.SearchJob(ctx, "index=agentscope | stats count AS calls by tool", splunkbridge.TimeRange{Earliest: "-7d"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Fields, ",") != "tool,calls" || len(res.Results) != 2 || res.Results[1]["tool"] != "fetch" || res.Backend != "splunk-rest" {
		t.Fatalf("result %+v", res)
	}
	if form := fake.lastForm(); form["earliest_time"] != "-7d" {
		t.Errorf("job form %v", form)
	}
	select {
	case sid := <-fake.cancelled:
		t.Errorf("a finished job %s was cancelled", sid)
	default:
	}

	_, err = c.SearchJob(ctx, "failjob", splunkbridge.TimeRange{}, 2)
	if agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), "The argument 'bogus' is invalid") {
		t.Errorf("failed job: %v", err)
	}
	if sid := <-fake.cancelled; sid != "fail.1" {
		t.Errorf("cancelled %s after a failure", sid)
	}
}

func TestRESTSearchJobCancelledWithContext(t *testing.T) {
	t.Parallel()
	fake, srv, ca := startFakeSplunk(t)
	c := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.CAFile = ca })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.SearchJob(ctx, "slowjob", splunkbridge.TimeRange{}, 2)
		errc <- err
	}()
	<-fake.polled
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	select {
	case sid := <-fake.cancelled:
		if sid != "slow.1" {
			t.Errorf("cancelled %s", sid)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the job was not cancelled in Splunk when the context ended")
	}
}

func TestRESTSearcherScopes(t *testing.T) {
	t.Parallel()
	fake, srv, ca := startFakeSplunk(t)
	c := newRESTClient(t, srv.URL, func(cfg *splunkbridge.RESTConfig) { cfg.CAFile = ca })
	var s agentscope.Searcher = c
	res, err := s.Search(context.Background(), "acme", agentscope.SearchQuery{Query: "type=ToolReturned | stats count by agent"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.lastForm()["search"]; got != "search org_id::acme (type=ToolReturned) | stats count by agent" {
		t.Errorf("sent %q", got)
	}
	if res.Backend != "splunk-rest" || strings.Join(res.Fields, ",") != "agent,count,tags,extra" || len(res.Results) != 3 {
		t.Errorf("result %+v", res)
	}
	if _, err := s.Search(context.Background(), "acme", agentscope.SearchQuery{Query: "x) OR (org_id::other"}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("hostile query: %v", err)
	}
	b, _ := json.Marshal(res)
	if !strings.Contains(string(b), `"backend":"splunk-rest"`) {
		t.Errorf("JSON %s", b)
	}
}
