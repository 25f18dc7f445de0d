package interop

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOTLPExporters runs interop/otlp/otlp.mjs: the OpenTelemetry JS SDK's
// OTLP/HTTP trace exporters (protobuf with gzip, and JSON) send a GenAI
// agent's trace to `agentscope serve`'s POST /v1/traces, and the sessions
// they recorded are read back and checked field by field.
func TestOTLPExporters(t *testing.T) {
	node := requireNode(t)
	base := strings.TrimSuffix(serve(t, t.TempDir()), "/mcp")
	out := runNode(t, node, 90*time.Second, cleanEnv("INTEROP_BASE="+base, "INTEROP_TOKEN="+token), filepath.Join("otlp", "otlp.mjs"))
	t.Logf("%s", strings.TrimSpace(out))
	if !strings.Contains(out, "OTLP exporters: all exports sent") {
		t.Fatal("the script did not finish")
	}
	// The HTTP span of each export is reported back as rejected, and the
	// exporters read AgentScope's partial_success.
	if n := strings.Count(out, "Received Partial Success response"); n != 2 || strings.Count(out, "(GET /weather): not a GenAI span") != 2 {
		t.Errorf("%d partial success responses, want 2 each rejecting the HTTP span", n)
	}
	for _, enc := range []string{"protobuf", "json"} {
		t.Run(enc, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/api/v1/sessions/js-"+enc+"/events", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var page struct {
				Events []struct {
					Type, Agent, Provider, Model, Tool, Status, Error string
					CallID                                            string  `json:"call_id"`
					FinishReason                                      string  `json:"finish_reason"`
					SpanID                                            string  `json:"span_id"`
					ParentSpanID                                      string  `json:"parent_span_id"`
					TS                                                string  `json:"ts"`
					DurationMS                                        float64 `json:"duration_ms"`
					TokensIn                                          int64   `json:"tokens_in"`
					TokensOut                                         int64   `json:"tokens_out"`
					CacheRead                                         int64   `json:"cache_read_tokens"`
					Arguments                                         json.RawMessage
					AmountUSD                                         json.Number `json:"amount_usd"`
				} `json:"events"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
				t.Fatalf("js-%s events: %d %v", enc, resp.StatusCode, err)
			}
			evs := page.Events
			if len(evs) != 6 {
				t.Fatalf("%d events, want SessionStarted, two per GenAI span and the chat's cost: %+v", len(evs), evs)
			}
			if evs[0].Type != "SessionStarted" || evs[0].Agent != "js-agent" {
				t.Errorf("start %+v", evs[0])
			}
			inv, done := evs[1], evs[2]
			if inv.Type != "ModelInvoked" || inv.Provider != "openai" || inv.Model != "gpt-4o" || inv.TS != "2026-12-04T09:00:00.1Z" || len(inv.SpanID) != 16 || len(inv.ParentSpanID) != 16 {
				t.Errorf("ModelInvoked %+v", inv)
			}
			if done.Type != "ModelCompleted" || done.Model != "gpt-4o-2024-08-06" || done.TokensIn != 1200 || done.TokensOut != 80 || done.CacheRead != 1000 ||
				done.DurationMS != 1300 || done.FinishReason != "tool_calls" || done.SpanID != inv.SpanID {
				t.Errorf("ModelCompleted %+v", done)
			}
			// gpt-4o: 200 uncached input tokens at $2.5/M, 1,000 cached at
			// $1.25/M and 80 output at $10/M.
			if cost := evs[3]; cost.Type != "CostRecorded" || cost.AmountUSD != "0.00255" || cost.SpanID != done.SpanID {
				t.Errorf("CostRecorded %+v, want $0.00255 for the chat span", cost)
			}
			call, ret := evs[4], evs[5]
			if call.Type != "ToolCalled" || call.Tool != "get_weather" || call.CallID != "call_42" || string(call.Arguments) != `{"city":"Paris"}` || call.ParentSpanID != inv.ParentSpanID {
				t.Errorf("ToolCalled %+v", call)
			}
			if ret.Type != "ToolReturned" || ret.Status != "error" || ret.Error != "upstream timed out" || ret.DurationMS != 250 {
				t.Errorf("ToolReturned %+v", ret)
			}
		})
	}
}
