package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOTLPSessionEndsWhenIdle: a session recorded from an OTLP export has
// no end_run. Each model call is priced as it arrives (gpt-4.1: 1,000 in
// and 100 out is $0.0028); serve ends the session once it has been idle
// for AGENTSCOPE_OTLP_IDLE_TIMEOUT, as completed. An exporter's retry
// after the end is accepted as a duplicate and changes nothing; a span
// that arrives later resumes the session, which is priced and ended again.
func TestOTLPSessionEndsWhenIdle(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			base, stop := serveInProcess(t, append(st.env(t), "AGENTSCOPE_OTLP_IDLE_TIMEOUT=1s"))
			defer stop()
			export := func(spanID string, end int64) {
				t.Helper()
				span := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otel-agent"}}]},"scopeSpans":[{"spans":[
				{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"%s","name":"chat gpt-4.1","startTimeUnixNano":"%d","endTimeUnixNano":"%d",
				 "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
				 {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4.1"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},
				 {"key":"gen_ai.usage.output_tokens","value":{"intValue":"100"}},{"key":"gen_ai.conversation.id","value":{"stringValue":"idle-otlp-1"}}]}]}]}]}`,
					spanID, end-int64(time.Second), end)
				req, _ := http.NewRequest("POST", base+"/v1/traces", strings.NewReader(span))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "{}" {
					t.Fatalf("POST /v1/traces (span %s): %d %s, want 200 {} (nothing rejected)", spanID, resp.StatusCode, body)
				}
			}
			type run struct {
				Status     string      `json:"status"`
				CostUSD    json.Number `json:"cost_usd"`
				EventCount int64       `json:"event_count"`
			}
			get := func() run {
				t.Helper()
				var r run
				if code := api(t, "GET", base+"/api/v1/runs/idle-otlp-1", "", &r); code != 200 {
					t.Fatalf("GET run: %d", code)
				}
				return r
			}
			waitCompleted := func() run {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					if r := get(); r.Status == "completed" {
						return r
					}
					select {
					case <-ctx.Done():
						t.Fatalf("the idle OTLP session is still %s after 60s", get().Status)
					case <-tick.C:
					}
				}
			}

			first := time.Now().UnixNano()
			export("00000000000000a1", first)
			if r := get(); r.CostUSD != "0.0028" {
				t.Errorf("cost as the span arrives: %s, want 0.0028", r.CostUSD)
			}
			ended := waitCompleted()
			if ended.CostUSD != "0.0028" || ended.EventCount != 5 { // started, invoked, completed, cost, SessionCompleted
				t.Fatalf("ended session: %+v, want $0.0028 over 5 events", ended)
			}

			// The exporter retries the span after the end: a duplicate.
			export("00000000000000a1", first)
			if r := get(); r != ended {
				t.Fatalf("a retry after the end changed the session: %+v, was %+v", r, ended)
			}

			// The agent goes on after a pause longer than the timeout.
			export("00000000000000a2", time.Now().UnixNano())
			if r := get(); r.Status != "running" || r.CostUSD != "0.0056" || r.EventCount != 8 {
				t.Fatalf("after a late span: %+v, want running, $0.0056, 8 events", r)
			}
			if r := waitCompleted(); r.CostUSD != "0.0056" || r.EventCount != 9 {
				t.Fatalf("ended again: %+v, want $0.0056 over 9 events", r)
			}
			var page struct {
				Events []struct {
					Type   string `json:"type"`
					Source string `json:"source"`
				} `json:"events"`
			}
			if code := api(t, "GET", base+"/api/v1/sessions/idle-otlp-1/events", "", &page); code != 200 {
				t.Fatalf("replay: %d", code)
			}
			var types []string
			for _, e := range page.Events {
				types = append(types, e.Type)
			}
			want := "SessionStarted ModelInvoked ModelCompleted CostRecorded SessionCompleted ModelInvoked ModelCompleted CostRecorded SessionCompleted"
			if got := strings.Join(types, " "); got != want {
				t.Errorf("replay:\n got %s\nwant %s", got, want)
			}
			if src := page.Events[3].Source; !strings.HasPrefix(src, "computed:agentscope-pricing/") {
				t.Errorf("cost source %q, want computed:agentscope-pricing/…", src)
			}
		})
	}
}
