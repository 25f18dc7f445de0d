package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/eventtest"
	"github.com/agentscope/agentscope/recorder"
)

// testStore opens the store the settings name until the test ends.
func testStore(t *testing.T, vars map[string]string) appStore {
	t.Helper()
	st, _, _, _, err := openStore(context.Background(), configOf(t, vars), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// seedSessions records sessions the way start_run, record_event and end_run
// do, straight on the store: a completed one carrying every field an agent
// may send, a long running one (more than a page of export and a batch of
// import), and one in another organisation. It returns the store's sessions
// of the default organisation.
func seedSessions(t *testing.T, vars map[string]string) []string {
	t.Helper()
	ctx := context.Background()
	st := testStore(t, vars)
	rec := recorder.New(st, recorder.Options{})
	defer rec.Close()
	other, err := st.CreateOrg(ctx, "Other", agentscope.ActorOperator)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	start := func(org, sid, agent string, input json.RawMessage) {
		t.Helper()
		if _, err := rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sid,
			Start:  &agentscope.Run{Agent: agent, Status: agentscope.StatusRunning, Input: input, CreatedAt: at, StartedAt: &at},
			Events: []agentscope.Event{{EventID: agentscope.NewEventID(), Type: agentscope.SessionStarted, TS: at, Agent: agent, Input: input}},
		}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Second)
	}
	add := func(org, sid string, evs []agentscope.Event, u *agentscope.RunUpdate) {
		t.Helper()
		for i := range evs {
			evs[i].EventID, evs[i].SessionID, evs[i].Agent, evs[i].Seq = agentscope.NewEventID(), "", "", 0
		}
		if _, err := rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sid, Events: evs, Update: u}); err != nil {
			t.Fatal(err)
		}
	}

	start(agentscope.DefaultOrgID, "every-field", "planner", json.RawMessage(`{"task":"naïve \u2028 <b>","n":1.50}`))
	var evs []agentscope.Event
	for _, f := range agentscope.EventFields() {
		if typ := eventtest.TypeWith(f); typ != "" {
			if spec, _ := agentscope.LookupEventType(typ); !spec.System {
				evs = append(evs, eventtest.With(f))
			}
		}
	}
	evs = append(evs, agentscope.Event{Type: agentscope.ToolCalled, TS: at, Tool: "search", CallID: "c1",
		Attributes: map[string]any{"big": json.Number("12345678901234567890"), "ok": true, "s": "é\"\\"}})
	add(agentscope.DefaultOrgID, "every-field", evs, nil)
	add(agentscope.DefaultOrgID, "every-field", []agentscope.Event{{Type: agentscope.SessionCompleted, TS: at, Status: "completed", Output: json.RawMessage(`{"answer":42}`)}},
		&agentscope.RunUpdate{Status: agentscope.StatusCompleted, Output: json.RawMessage(`{"answer":42}`)})

	start(agentscope.DefaultOrgID, "long", "worker", nil)
	evs = nil
	for i := range 1200 {
		evs = append(evs, agentscope.Event{Type: agentscope.ModelInvoked, TS: at.Add(time.Duration(i) * time.Millisecond), Provider: "openai", Model: fmt.Sprintf("m-%d", i)})
	}
	add(agentscope.DefaultOrgID, "long", evs, nil)

	start(other.ID, "elsewhere", "spy", nil)
	return []string{"every-field", "long"}
}

// bodyTS is the ts of a session's last event.
func bodyTS(t *testing.T, evs []agentscope.StoredEvent) time.Time {
	t.Helper()
	var ev agentscope.Event
	if err := json.Unmarshal(evs[len(evs)-1].Body, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.TS
}

// bodies returns a session's stored events as replay reads them.
func bodies(t *testing.T, vars map[string]string, org, sid string) []agentscope.StoredEvent {
	t.Helper()
	evs, err := testStore(t, vars).ListEventBodies(context.Background(), org, sid, agentscope.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestExportImportRoundTrip: on both stores, an export imported into a
// fresh data dir gives every event byte for byte with its seq, the runs
// their agent and end, and an export of the copy the same file; a second
// import changes nothing and says so; another organisation's sessions
// stay out.
func TestExportImportRoundTrip(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			src, dst := varsOf(t, st), varsOf(t, st)
			sessions := seedSessions(t, src)
			file := filepath.Join(t.TempDir(), "export.ndjson")
			out := cli(t, src, "export")
			if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if want := len(bodies(t, src, agentscope.DefaultOrgID, "every-field")) + 1201; len(lines) != want {
				t.Fatalf("export wrote %d lines", len(lines))
			}
			if strings.Contains(out, "elsewhere") {
				t.Error("export of the default organisation holds another organisation's session")
			}

			if got := cli(t, dst, "import", file); got != fmt.Sprintf("imported %d, already present 0, refused 0\n", len(lines)) {
				t.Errorf("import: %q", got)
			}
			for _, sid := range sessions {
				want, got := bodies(t, src, agentscope.DefaultOrgID, sid), bodies(t, dst, agentscope.DefaultOrgID, sid)
				if len(got) != len(want) {
					t.Fatalf("session %s: %d events imported of %d", sid, len(got), len(want))
				}
				for i := range want {
					if got[i].Seq != want[i].Seq || !bytes.Equal(got[i].Body, want[i].Body) {
						t.Errorf("session %s event %d:\n got %d %s\nwant %d %s", sid, i, got[i].Seq, got[i].Body, want[i].Seq, want[i].Body)
					}
				}
			}
			ctx := context.Background()
			s := testStore(t, dst)
			done, err := s.GetRun(ctx, agentscope.DefaultOrgID, "every-field")
			if err != nil || done.Status != agentscope.StatusCompleted || done.Agent != "planner" || string(done.Output) != `{"answer":42}` || done.CostUSD == 0 {
				t.Errorf("imported run: %+v, %v", done, err)
			}
			if orig, err := testStore(t, src).GetRun(ctx, agentscope.DefaultOrgID, "every-field"); err != nil || !orig.CreatedAt.Equal(done.CreatedAt) || !orig.StartedAt.Equal(*done.StartedAt) ||
				done.EndedAt == nil || !done.EndedAt.Equal(bodyTS(t, bodies(t, src, agentscope.DefaultOrgID, "every-field"))) {
				t.Errorf("imported run's times: %+v; the original's %+v", done, orig)
			}
			long, err := s.GetRun(ctx, agentscope.DefaultOrgID, "long")
			if err != nil || long.Status != agentscope.StatusRunning || long.EventCount != 1201 {
				t.Errorf("imported run: %+v, %v", long, err)
			}
			if again := cli(t, dst, "export"); again != out {
				t.Error("an export of the imported store differs from the export it came from")
			}

			// Again, from standard input: nothing changes.
			var stdout, stderr strings.Builder
			e := &Env{Stdin: strings.NewReader(out), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return dst[k] }}
			if code := e.Run(ctx, []string{"import", "-"}); code != 0 || stdout.String() != fmt.Sprintf("imported 0, already present %d, refused 0\n", len(lines)) {
				t.Errorf("re-import: exit %d, %q, %s", code, stdout.String(), stderr.String())
			}
			if again := cli(t, dst, "export"); again != out {
				t.Error("a re-import changed the store")
			}
			// One session, and since a time after every run began: none.
			if one := cli(t, src, "export", "--session", "every-field"); !strings.HasPrefix(out, one) && !strings.HasSuffix(out, one) {
				t.Errorf("export --session is not the session's lines of the full export:\n%s", one)
			}
			if none := cli(t, src, "export", "--since", time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)); none != "" {
				t.Errorf("export --since tomorrow's date: %q", none)
			}
			if none := cli(t, src, "export", "--since", time.Now().UTC().Format(time.RFC3339)); none != "" {
				t.Errorf("export --since now: %q", none)
			}
		})
	}
}

// TestImportReportsBadLines: each bad line is named with its number and
// field, the good ones are imported all the same, and the exit status says
// something was refused; a line the store holds otherwise is refused, not
// written over.
func TestImportReportsBadLines(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	line := func(ev agentscope.Event) string {
		b, err := ev.MarshalCanonical()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	started := func(sid, id string, seq int64) string {
		return line(agentscope.Event{EventID: id, SessionID: sid, Seq: seq, Type: agentscope.SessionStarted, TS: at, Agent: "bot"})
	}
	tool := func(sid string, seq int64) string {
		return line(agentscope.Event{EventID: agentscope.NewEventID(), SessionID: sid, Seq: seq, Type: agentscope.ToolCalled, TS: at, Agent: "bot", Tool: "t", CallID: "c"})
	}
	file := strings.Join([]string{
		started("s", "ev-s1", 1),
		`not json`,
		strings.Replace(tool("s", 2), `"seq":2,`, ``, 1),
		strings.Replace(tool("s", 2), `"tool":"t"`, `"tool":"t","bogus":1`, 1),
		tool("s", 5),
		tool("t", 2),
		tool("s", 2),
	}, "\n") + "\n"
	path := filepath.Join(t.TempDir(), "bad.ndjson")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCommand(vars, "import", path)
	if code != 1 || stdout != "imported 2, already present 0, refused 5\n" {
		t.Errorf("import: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"line 2: not a JSON object",
		"line 3: seq: is required",
		"line 4: bogus: is not a field of ToolCalled events",
		"line 5: seq: 5 does not follow 1",
		"line 6: seq: 2, but session t has 0 events here",
		"5 events refused",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "line 1:") || strings.Contains(stderr, "line 7:") {
		t.Errorf("good lines reported:\n%s", stderr)
	}

	// Another first event of s than the one stored: refused, with the
	// rest of s; the store keeps what it had.
	other := strings.Join([]string{started("s", "ev-other", 1), tool("s", 2)}, "\n")
	if err := os.WriteFile(path, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCommand(vars, "import", path)
	if code != 1 || stdout != "imported 0, already present 0, refused 2\n" ||
		!strings.Contains(stderr, "line 1: session s's event 1 in this store is not this line's event ev-other") ||
		!strings.Contains(stderr, "line 2: session s: skipped after the error above") {
		t.Errorf("conflicting import: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if got := bodies(t, vars, agentscope.DefaultOrgID, "s"); len(got) != 2 || !strings.Contains(string(got[0].Body), "ev-s1") {
		t.Errorf("session s after a conflicting import: %v", got)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import"}, 2, "usage: agentscope import"},
		{[]string{"import", "a", "b"}, 2, "usage: agentscope import"},
		{[]string{"import", filepath.Join(t.TempDir(), "missing")}, 1, "no such file"},
		{[]string{"import", "--org", "org-nope", path}, 1, `organisation "org-nope" not found`},
		{[]string{"export", "--org", "org-nope"}, 1, `organisation "org-nope" not found`},
		{[]string{"export", "--format", "xml"}, 2, `--format "xml" is not ndjson or otlp`},
		{[]string{"export", "--since", "yesterday"}, 2, `--since "yesterday" is not an RFC 3339 time such as 2026-01-31T00:00:00Z, nor a date`},
		{[]string{"export", "--session", "a b"}, 2, "--session: "},
		{[]string{"export", "extra"}, 2, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := runCommand(vars, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("agentscope %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stdout, stderr, c.code, c.want)
		}
	}
}

// TestExportOTLP: --format otlp writes OTLP/JSON logs, a request a line:
// every event once, at its ts, named by its type, in its session's trace,
// with the GenAI attributes and its stored JSON as the body.
func TestExportOTLP(t *testing.T) {
	vars := varsOf(t, stores()[0])
	seedSessions(t, vars)
	lines := strings.Split(strings.TrimSuffix(cli(t, vars, "export"), "\n"), "\n")
	type kv struct {
		Key   string
		Value map[string]any
	}
	type record struct {
		TimeUnixNano, ObservedTimeUnixNano, EventName, TraceID, SpanID, SeverityText string
		SeverityNumber                                                               int
		Body                                                                         map[string]any
		Attributes                                                                   []kv
	}
	var records []record
	otlp := strings.Split(strings.TrimSuffix(cli(t, vars, "export", "--format", "otlp"), "\n"), "\n")
	for _, l := range otlp {
		var req struct {
			ResourceLogs []struct {
				Resource  struct{ Attributes []kv }
				ScopeLogs []struct {
					Scope      struct{ Name, Version string }
					LogRecords []record
				}
			}
		}
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || len(req.ResourceLogs) != 1 || len(req.ResourceLogs[0].ScopeLogs) != 1 {
			t.Fatalf("line %.200s: %v", l, err)
		}
		if a := req.ResourceLogs[0].Resource.Attributes; len(a) != 2 || a[0].Value["stringValue"] != "agentscope" || a[1].Value["stringValue"] != agentscope.DefaultOrgID {
			t.Errorf("resource: %+v", a)
		}
		records = append(records, req.ResourceLogs[0].ScopeLogs[0].LogRecords...)
	}
	if len(records) != len(lines) || len(otlp) != 4 { // every-field, and long in 3 pages
		t.Fatalf("%d records in %d lines for %d events", len(records), len(otlp), len(lines))
	}
	traces := map[string]string{}
	for i, r := range records {
		var ev agentscope.Event
		if err := json.Unmarshal([]byte(lines[i]), &ev); err != nil {
			t.Fatal(err)
		}
		if r.Body["stringValue"] != lines[i] || r.EventName != string(ev.Type) || r.TimeUnixNano != strconv.FormatInt(ev.TS.UnixNano(), 10) || r.ObservedTimeUnixNano == "" {
			t.Fatalf("record %d: %+v for %s", i, r, lines[i])
		}
		if len(r.TraceID) != 32 || (traces[ev.SessionID] != "" && traces[ev.SessionID] != r.TraceID) {
			t.Errorf("record %d: trace id %q (session %s had %q)", i, r.TraceID, ev.SessionID, traces[ev.SessionID])
		}
		traces[ev.SessionID] = r.TraceID
		attrs := map[string]map[string]any{}
		for _, a := range r.Attributes {
			attrs[a.Key] = a.Value
		}
		if attrs["gen_ai.conversation.id"]["stringValue"] != ev.SessionID || attrs["agentscope.seq"]["intValue"] != strconv.FormatInt(ev.Seq, 10) {
			t.Errorf("record %d: %v", i, attrs)
		}
		if ev.Type == agentscope.ModelCompleted {
			if attrs["gen_ai.usage.input_tokens"]["intValue"] != "7" || attrs["gen_ai.client.operation.duration"]["doubleValue"] != 0.0125 || attrs["gen_ai.response.model"] == nil {
				t.Errorf("ModelCompleted: %v", attrs)
			}
		}
		if ev.Type == agentscope.ToolCalled && ev.CallID == "c1" && (attrs["ok"]["boolValue"] != true || attrs["s"]["stringValue"] != "é\"\\" || attrs["gen_ai.tool.name"]["stringValue"] != "search") {
			t.Errorf("ToolCalled: %v", attrs)
		}
	}
	if len(traces) != 2 || traces["long"] == traces["every-field"] {
		t.Errorf("trace ids: %v", traces)
	}
	// Import reads NDJSON only, and says so of an OTLP file (found trying
	// it as a new user: "line 1: seq: is required").
	dst := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	var stdout, stderr strings.Builder
	e := &Env{Stdin: strings.NewReader(otlp[0] + "\n"), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return dst[k] }}
	if code := e.Run(context.Background(), []string{"import", "-"}); code == 0 || !strings.Contains(stderr.String(), "line 1: this is OTLP/JSON (export --format otlp), which import does not read") {
		t.Errorf("importing an OTLP export: exit %d, %s", code, stderr.String())
	}
}

// TestImportProgress: on a terminal the progress line is rewritten in
// place and ends with the totals; elsewhere (a file, a pipe, the tests'
// buffers) import prints no progress at all.
func TestImportProgress(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	seedSessions(t, vars)
	out := cli(t, vars, "export")
	dst := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	var stdout, stderr strings.Builder
	e := &Env{Stdin: strings.NewReader(out), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return dst[k] }}
	if code := e.Run(context.Background(), []string{"import", "-"}); code != 0 || strings.Contains(stderr.String(), "\r") {
		t.Errorf("import to a non-terminal: exit %d, stderr %q", code, stderr.String())
	}

	st := testStore(t, map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()})
	rec := recorder.New(st, recorder.Options{})
	defer rec.Close()
	var progress, errs strings.Builder
	im := &importer{ctx: context.Background(), org: agentscope.DefaultOrgID, store: st, rec: rec, errw: &errs, progress: &progress}
	if err := im.run(strings.NewReader(out)); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(out, "\n")
	if want := fmt.Sprintf("\rline %d: imported %d, already present 0, refused 0", n, n); !strings.HasPrefix(progress.String(), "\r") || !strings.HasSuffix(progress.String(), want) || errs.Len() != 0 {
		t.Errorf("progress %q, errors %q; want it to end with %q", progress.String(), errs.String(), want)
	}
}
