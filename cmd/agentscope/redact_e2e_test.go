package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

// TestRedactionEndToEnd: secrets sent in a prompt (the run's input), in
// tool arguments and in a tool result, through the HTTP API, never reach
// the store (replay, the run, and for SQLite the database files
// themselves), the Splunk outbox or HEC; each is replaced by the marker of
// its rule, and a path rule from AGENTSCOPE_REDACT_RULES_FILE applies.
func TestRedactionEndToEnd(t *testing.T) {
	const (
		openAIKey = "sk-proj-Zx9vQ2mN7kL4pR8sT1uW6yB3cD5fG0hJ"
		ghToken   = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
		bearer    = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-value"
		card      = "4242 4242 4242 4242"
		toolPass  = "correct-horse-battery-staple"
	)
	secrets := []string{openAIKey, ghToken, bearer, card, "4242424242424242", toolPass}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			hec := hectest.New(hectest.Options{Token: "hec-token-1234"})
			defer hec.Close()
			rules := filepath.Join(t.TempDir(), "rules.json")
			if err := os.WriteFile(rules, []byte(`[{"name":"tool-password","path":"arguments.*.password"}]`), 0o600); err != nil {
				t.Fatal(err)
			}
			env := append(st.env(t), "AGENTSCOPE_SPLUNK_HEC_URL="+hec.URL(), "AGENTSCOPE_SPLUNK_HEC_TOKEN=hec-token-1234",
				"AGENTSCOPE_REDACT_RULES_FILE="+rules)
			base, stop := serveInProcess(t, env)
			stopped := false
			defer func() {
				if !stopped {
					stop()
				}
			}()

			if code := api(t, "POST", base+"/api/v1/runs", `{"agent":"bot","session_id":"red-1","input":{"prompt":"use my key `+openAIKey+` please"},"metadata":{"note":"pat `+ghToken+`"}}`, nil); code != 201 {
				t.Fatalf("start run: %d", code)
			}
			body := `[` +
				`{"event_id":"t1","session_id":"red-1","type":"ToolCalled","tool":"http","call_id":"c1","arguments":{"headers":{"Authorization":"Bearer ` + bearer + `"},"login":{"user":"ann","password":"` + toolPass + `"}}},` +
				`{"event_id":"t2","session_id":"red-1","type":"ToolReturned","tool":"http","call_id":"c1","duration_ms":12,"status":"ok","result":{"content":[{"type":"text","text":"card on file: ` + card + `, token ` + ghToken + `"}],"n":4242424242424242}}]`
			var rec any
			if code := api(t, "POST", base+"/api/v1/events", body, &rec); code != 200 {
				t.Fatalf("record: %d %v", code, rec)
			}
			if code := api(t, "POST", base+"/api/v1/runs/red-1/end", `{"status":"completed","output":{"answer":"done with `+openAIKey+`"}}`, nil); code != 200 {
				t.Fatalf("end run: %d", code)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sessionEvents := func() []hectest.Event {
				var evs []hectest.Event
				for _, e := range hec.Events() {
					if e.Sourcetype != agentscope.AuditSourcetype && e.Fields["session_id"] == "red-1" {
						evs = append(evs, e)
					}
				}
				return evs
			}
			if err := hec.WaitFor(ctx, func(hectest.Stats) bool { return len(sessionEvents()) >= 4 }); err != nil {
				t.Fatalf("HEC got %+v: %v", hec.Stats(), err)
			}
			var atHEC strings.Builder
			for _, e := range sessionEvents() {
				atHEC.Write(e.Event)
			}
			var run, replay strings.Builder
			var r agentscope.Run
			if code := api(t, "GET", base+"/api/v1/runs/red-1", "", &r); code != 200 {
				t.Fatalf("get run: %d", code)
			}
			run.WriteString(string(r.Input) + string(r.Output) + r.Metadata["note"])
			var events struct{ Events []agentscope.Event }
			if code := api(t, "GET", base+"/api/v1/sessions/red-1/events", "", &events); code != 200 || len(events.Events) != 4 {
				t.Fatalf("replay: %d, %d events", code, len(events.Events))
			}
			for _, ev := range events.Events {
				b, _ := ev.MarshalCanonical()
				replay.Write(b)
			}
			stop()
			stopped = true
			places := map[string]string{"HEC": atHEC.String(), "the run": run.String(), "replay": replay.String()}
			if st.name == "sqlite" {
				// The database files hold the runs, the events and the
				// outbox: nothing secret in any byte of them.
				dir := strings.TrimPrefix(env[0], "AGENTSCOPE_DATA_DIR=")
				files, _ := filepath.Glob(filepath.Join(dir, "agentscope.db*"))
				if len(files) == 0 {
					t.Fatalf("no database files in %s", dir)
				}
				for _, f := range files {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					places[filepath.Base(f)] = string(b)
				}
			}
			for where, text := range places {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s holds the secret %q", where, s)
					}
				}
			}
			for where, text := range map[string]string{"HEC": atHEC.String(), "replay": replay.String()} {
				for _, m := range []string{"[REDACTED:openai-key]", "[REDACTED:bearer-token]", "[REDACTED:tool-password]", "[REDACTED:card-number]", "[REDACTED:github-token]"} {
					if !strings.Contains(text, m) {
						t.Errorf("%s lacks the marker %s:\n%s", where, m, text)
					}
				}
			}
			if !strings.Contains(run.String(), "[REDACTED:openai-key]") || !strings.Contains(run.String(), "[REDACTED:github-token]") {
				t.Errorf("the run: %s", run.String())
			}
		})
	}
}
