package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// TestPrintTableNoFields: rows without a field to show (a table command
// naming fields the events lack) are said to be so, not printed as a
// table of blank lines under an empty header.
func TestPrintTableNoFields(t *testing.T) {
	var out strings.Builder
	printTable(&out, &agentscope.SearchResult{Results: []map[string]any{{}, {}, {}}, ElapsedMS: 1.5, Backend: "embedded"})
	got := out.String()
	if want := "3 rows, none with a field to show (does the query's table or fields command name fields the events have?), in 1.5 ms (embedded)\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}

	out.Reset()
	printTable(&out, &agentscope.SearchResult{Fields: []string{"agent", "n"}, Results: []map[string]any{{"agent": "a", "n": 2}}, ElapsedMS: 1, Backend: "embedded"})
	if got := out.String(); got != "agent  n\na      2\n1 rows in 1.0 ms (embedded)\n" {
		t.Errorf("printed %q", got)
	}
}

// TestSPLErrorSaysItOnce: a refused query reads "agentscope spl: syntax
// error ...", the command's prefix once, not the engine package's too.
func TestSPLErrorSaysItOnce(t *testing.T) {
	var out, errOut strings.Builder
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
	e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string { return vars[k] }}
	if code := e.Run(context.Background(), []string{"spl", "type=ModelCompleted | stst"}); code == 0 {
		t.Fatalf("a bad query exited 0: %s", out.String())
	}
	if got := errOut.String(); !strings.Contains(got, "agentscope spl: syntax error at position 22: unknown command \"stst\"") || strings.Contains(got, "spl: spl:") {
		t.Errorf("stderr %q", got)
	}
}

// TestSPLFlagErrors: a refused flag value is named by its flag, as the
// caller wrote it, not by run_spl's argument (earliest_time, row_limit),
// and exits with the usage status.
func TestSPLFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--earliest", "yesterday"}, `agentscope spl: --earliest: "yesterday" is not a time modifier (examples: -24h, -7d@d, @w1, now, 1730000000, 2026-11-01T00:00:00Z, 11/01/2026:00:00:00)` + "\n"},
		{[]string{"--latest", "soon"}, `agentscope spl: --latest: "soon" is not a time modifier (examples: -24h, -7d@d, @w1, now, 1730000000, 2026-11-01T00:00:00Z, 11/01/2026:00:00:00)` + "\n"},
		{[]string{"--row-limit", "-1"}, "agentscope spl: --row-limit: must be 0 (the default) or more, got -1\n"},
		{[]string{"--backend", "splunk-rest"}, `agentscope spl: --backend: "splunk-rest" is not configured here; available: local` + "\n"},
	} {
		var out, errOut strings.Builder
		e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string {
			if k == "AGENTSCOPE_DATA_DIR" {
				return dir
			}
			return ""
		}}
		code := e.Run(context.Background(), append(append([]string{"spl"}, c.args...), "type=ModelCompleted"))
		if got := errOut.String(); code != 2 || !strings.HasSuffix(got, c.want) || strings.Contains(got, "_time") || strings.Contains(got, "row_limit") {
			t.Errorf("spl %v: exit %d, stderr %q; want exit 2 ending %q", c.args, code, got, c.want)
		}
	}
}

// TestSPLNoFieldsEndToEnd: a table naming no field the events have reads
// "N rows, none with a field to show" as text, and --json stays valid
// JSON: the rows as empty objects, and no fields.
func TestSPLNoFieldsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + dir})
	if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"research","session_id":"no-fields-1"}`, nil); code != 201 {
		t.Fatalf("POST /api/v1/runs: %d", code)
	}
	stop()
	const query = "type=RunQueued | table tok_*" // RunQueued is written before POST answers
	run := func(args ...string) string {
		var out, errOut strings.Builder
		e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string {
			if k == "AGENTSCOPE_DATA_DIR" {
				return dir
			}
			return ""
		}}
		if code := e.Run(context.Background(), append([]string{"spl"}, args...)); code != 0 {
			t.Fatalf("spl %q: exit %d, stderr %q", args, code, errOut.String())
		}
		return out.String()
	}
	if got := run(query); !strings.HasPrefix(got, "1 rows, none with a field to show (") {
		t.Errorf("spl: %q", got)
	}
	var ans struct {
		Results []map[string]any
		Fields  []string
	}
	if got := run("--json", query); json.Unmarshal([]byte(got), &ans) != nil || len(ans.Results) != 1 || len(ans.Results[0]) != 0 || len(ans.Fields) != 0 {
		t.Errorf("spl --json: %q", got)
	}
}
