package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// TestStdioSurvivesMalformedLines: a line that is not JSON gets a -32700
// Parse error and a JSON line that is not JSON-RPC a -32600 Invalid Request,
// both with id null, and the server goes on answering (it used to exit on
// the first such line, ending the host's whole session).
func TestStdioSurvivesMalformedLines(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir(), "AGENTSCOPE_NO_WORKER": "1"}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &Env{Stdin: inR, Stdout: outW, Stderr: &syncWriter{w: &stderr}, Getenv: func(k string) string { return vars[k] }}
	go func() {
		done <- e.Run(ctx, []string{"mcp"})
		outW.Close()
	}()
	defer func() {
		inW.Close()
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("agentscope mcp did not stop; stderr:\n%s", stderr.String())
		}
	}()
	lines := bufio.NewScanner(outR)
	lines.Buffer(nil, 16<<20)
	type reply struct {
		ID    json.RawMessage `json:"id"`
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	exchange := func(line string) reply {
		t.Helper()
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatalf("write %q: %v; stderr:\n%s", line, err, stderr.String())
		}
		if !lines.Scan() {
			t.Fatalf("no answer to %q (the server stopped?): %v; stderr:\n%s", line, lines.Err(), stderr.String())
		}
		var r reply
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			t.Fatalf("answer %q: %v", lines.Text(), err)
		}
		return r
	}
	for _, c := range []struct {
		line string
		code int
	}{{"this is not json", -32700}, {`{"jsonrpc":"2.0","id":1,"method":`, -32700}, {`{"foo":1}`, -32600}} {
		r := exchange(c.line)
		if r.Error == nil || r.Error.Code != c.code || string(r.ID) != "null" {
			t.Fatalf("answer to %q: %+v id %s, want error %d with id null", c.line, r.Error, r.ID, c.code)
		}
	}
	if r := exchange(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":` + initializeParams + `}`); r.Error != nil || string(r.ID) != "1" || len(r.Result) == 0 {
		t.Fatalf("initialize after malformed lines: %+v", r)
	}
	if _, err := io.WriteString(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	if r := exchange("garbage again"); r.Error == nil || r.Error.Code != -32700 {
		t.Fatalf("garbage after initialize: %+v", r)
	}
	if r := exchange(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); r.Error != nil || string(r.ID) != "2" || !strings.Contains(string(r.Result), "record_event") {
		t.Fatalf("tools/list after malformed lines: %+v", r)
	}
	// 2025-11-25 has no batches: the transport would end the session on
	// one; each request in it gets Invalid Request with its own id.
	if r := exchange(`[{"jsonrpc":"2.0","id":"b1","method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/progress","params":{}}]`); r.Error == nil || r.Error.Code != -32600 || string(r.ID) != `"b1"` {
		t.Fatalf("answer to a batch at 2025-11-25: %+v id %s, want error -32600 with id \"b1\"", r.Error, r.ID)
	}
	if r := exchange(`[{"jsonrpc":"2.0","method":"notifications/progress","params":{}}]`); r.Error == nil || r.Error.Code != -32600 || string(r.ID) != "null" {
		t.Fatalf("answer to a batch of notifications: %+v id %s, want error -32600 with id null", r.Error, r.ID)
	}
	if r := exchange(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`); r.Error != nil || string(r.ID) != "3" {
		t.Fatalf("tools/list after a refused batch (the session ended?): %+v", r)
	}
}

// TestStdioBatchesAt20250326: a session at 2025-03-26, which has batches,
// still gets them answered, as an array, by the transport.
func TestStdioBatchesAt20250326(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir(), "AGENTSCOPE_NO_WORKER": "1"}
	input := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
		`[{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"jsonrpc":"2.0","id":3,"method":"ping"}]` + "\n"
	var stdout, stderr syncWriter
	var outBuf, errBuf strings.Builder
	stdout.w, stderr.w = &outBuf, &errBuf
	e := &Env{Stdin: strings.NewReader(input), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if code := e.Run(ctx, []string{"mcp"}); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errBuf.String())
	}
	lines := strings.Split(strings.TrimSpace(outBuf.String()), "\n")
	var batch []struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &batch) != nil || len(batch) != 2 {
		t.Fatalf("want the initialize answer and one array of two answers; stdout:\n%s", outBuf.String())
	}
	for _, r := range batch {
		if len(r.Error) > 0 || len(r.Result) == 0 {
			t.Fatalf("batch answer %s: error %s", r.ID, r.Error)
		}
	}
}

// TestStdioAnswersBeforeEOF: a client that writes its requests and closes
// stdin at once (a shell pipe) gets an answer to every one; the transport
// used to close the connection at EOF with the calls still running, and
// the replies were lost about half the time.
func TestStdioAnswersBeforeEOF(t *testing.T) {
	dir := t.TempDir()
	input := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":` + initializeParams + `}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}` + "\n" +
		`{"jsonrpc":"2.0","id":"three","method":"tools/call","params":{"name":"start_run","arguments":{"session_id":"pipe","agent":"bot"}}}` + "\n" +
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_runs","arguments":{}}}` + "\n"
	for i := range 5 {
		vars := map[string]string{"AGENTSCOPE_DATA_DIR": dir, "AGENTSCOPE_NO_WORKER": "1"}
		var stdout, stderr syncWriter
		var outBuf, errBuf strings.Builder
		stdout.w, stderr.w = &outBuf, &errBuf
		e := &Env{Stdin: strings.NewReader(input), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return vars[k] }}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		code := e.Run(ctx, []string{"mcp"})
		cancel()
		if code != 0 {
			t.Fatalf("run %d: exit %d; stderr:\n%s", i, code, errBuf.String())
		}
		ids := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(outBuf.String()), "\n") {
			var r struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal([]byte(line), &r) == nil && len(r.ID) > 0 {
				ids[string(r.ID)] = true
			}
		}
		for _, id := range []string{`1`, `2`, `"three"`, `4`} {
			if !ids[id] {
				t.Fatalf("run %d: no answer to request %s before exit; stdout:\n%s", i, id, outBuf.String())
			}
		}
	}
}
