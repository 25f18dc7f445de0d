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
// no end_run; serve ends it once it has been idle for
// AGENTSCOPE_OTLP_IDLE_TIMEOUT, as completed and priced from its tokens
// (gpt-4.1: 1,000 in and 100 out is $0.0028).
func TestOTLPSessionEndsWhenIdle(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			base, stop := serveInProcess(t, append(st.env(t), "AGENTSCOPE_OTLP_IDLE_TIMEOUT=1s"))
			defer stop()
			end := time.Now().UnixNano()
			span := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otel-agent"}}]},"scopeSpans":[{"spans":[
				{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00000000000000a1","name":"chat gpt-4.1","startTimeUnixNano":"%d","endTimeUnixNano":"%d",
				 "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
				 {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4.1"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},
				 {"key":"gen_ai.usage.output_tokens","value":{"intValue":"100"}},{"key":"gen_ai.conversation.id","value":{"stringValue":"idle-otlp-1"}}]}]}]}]}`,
				end-int64(time.Second), end)
			req, _ := http.NewRequest("POST", base+"/v1/traces", strings.NewReader(span))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || strings.Contains(string(body), "rejected") {
				t.Fatalf("POST /v1/traces: %d %s", resp.StatusCode, body)
			}
			var run struct {
				Status  string      `json:"status"`
				CostUSD json.Number `json:"cost_usd"`
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for run.Status != "completed" {
				if code := api(t, "GET", base+"/api/v1/runs/idle-otlp-1", "", &run); code != 200 {
					t.Fatalf("GET run: %d", code)
				}
				select {
				case <-ctx.Done():
					t.Fatalf("the idle OTLP session is still %s after 30s", run.Status)
				case <-tick.C:
				}
			}
			if run.CostUSD != "0.0028" {
				t.Errorf("ended session costs %s, want 0.0028", run.CostUSD)
			}
		})
	}
}
