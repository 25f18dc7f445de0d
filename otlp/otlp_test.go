package otlp_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/otlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

var (
	traceID = mustHex("0102030405060708090a0b0c0d0e0f10")
	t0      = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func num(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func strArr(k string, vs ...string) *commonpb.KeyValue {
	arr := &commonpb.ArrayValue{}
	for _, v := range vs {
		arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}})
	}
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}}
}

func span(id, parent string, name string, start, end time.Duration, attrs ...*commonpb.KeyValue) *tracepb.Span {
	sp := &tracepb.Span{TraceId: traceID, SpanId: mustHex(id), Name: name,
		StartTimeUnixNano: uint64(t0.Add(start).UnixNano()), EndTimeUnixNano: uint64(t0.Add(end).UnixNano()), Attributes: attrs}
	if parent != "" {
		sp.ParentSpanId = mustHex(parent)
	}
	return sp
}

// Export is a GenAI agent's trace: an invoke_agent span naming the
// conversation and agent, a chat span with usage and cache tokens, a
// failed tool call, an OpenInference LLM span, and an HTTP span that is
// not GenAI.
func Export() *coltracepb.ExportTraceServiceRequest {
	tool := span("00000000000000c3", "00000000000000a1", "execute_tool get_weather", 1500*time.Millisecond, 1750*time.Millisecond,
		str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", "get_weather"), str("gen_ai.tool.call.id", "call_42"),
		str("gen_ai.tool.call.arguments", `{"city":"Paris"}`), str("gen_ai.tool.call.result", "timeout"))
	tool.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream timed out"}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "weather-svc")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
			span("00000000000000a1", "", "invoke_agent weather", 0, 3*time.Second,
				str("gen_ai.operation.name", "invoke_agent"), str("gen_ai.agent.name", "weather-bot"), str("gen_ai.conversation.id", "conv-1")),
			span("00000000000000b2", "00000000000000a1", "chat gpt-4o", 100*time.Millisecond, 1400*time.Millisecond,
				str("gen_ai.operation.name", "chat"), str("gen_ai.provider.name", "openai"),
				str("gen_ai.request.model", "gpt-4o"), str("gen_ai.response.model", "gpt-4o-2024-08-06"),
				num("gen_ai.usage.input_tokens", 1200), num("gen_ai.usage.output_tokens", 80),
				num("gen_ai.usage.cache_read.input_tokens", 1000), num("gen_ai.usage.cache_creation.input_tokens", 100),
				strArr("gen_ai.response.finish_reasons", "tool_calls")),
			tool,
			span("00000000000000d4", "00000000000000a1", "ChatAnthropic", 2*time.Second, 2500*time.Millisecond,
				str("openinference.span.kind", "LLM"), str("llm.provider", "anthropic"), str("llm.model_name", "claude-sonnet-4"),
				num("llm.token_count.prompt", 300), num("llm.token_count.completion", 40),
				num("llm.token_count.prompt_details.cache_read", 200), num("llm.token_count.completion_details.reasoning", 12)),
			span("00000000000000e5", "00000000000000a1", "GET /weather", 0, time.Second, str("http.request.method", "GET")),
		}}},
	}}}
}

func TestMapFieldByField(t *testing.T) {
	pb, err := proto.Marshal(Export())
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(Export())
	if err != nil {
		t.Fatal(err)
	}
	// protojson writes ids as base64; OTLP JSON has them as hex.
	jsHex := strings.NewReplacer(`"AQIDBAUGBwgJCgsMDQ4PEA=="`, `"0102030405060708090a0b0c0d0e0f10"`,
		`"AAAAAAAAAKE="`, `"00000000000000a1"`, `"AAAAAAAAALI="`, `"00000000000000B2"`,
		`"AAAAAAAAAMM="`, `"00000000000000c3"`, `"AAAAAAAAANQ="`, `"00000000000000d4"`, `"AAAAAAAAAOU="`, `"00000000000000e5"`).Replace(string(js))
	for _, tc := range []struct {
		name string
		body []byte
		enc  otlp.Encoding
	}{{"protobuf", pb, otlp.Protobuf}, {"json", []byte(jsHex), otlp.JSON}} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := otlp.DecodeTraces(tc.body, tc.enc)
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, otlp.Map(req))
		})
	}
}

func checkBatch(t *testing.T, b *otlp.Batch) {
	t.Helper()
	if b.Rejected != 1 || !strings.Contains(b.Message(), "00000000000000e5 (GET /weather): not a GenAI span") {
		t.Errorf("rejected %d %q, want the HTTP span", b.Rejected, b.Message())
	}
	if len(b.Sessions) != 1 {
		t.Fatalf("sessions %+v, want one", b.Sessions)
	}
	s := b.Sessions[0]
	if s.ID != "conv-1" || s.Agent != "weather-bot" {
		t.Errorf("session %q agent %q, want conv-1 weather-bot (from the invoke_agent span)", s.ID, s.Agent)
	}
	var evs []agentscope.Event
	for _, sp := range s.Spans {
		evs = append(evs, sp.Events...)
	}
	if len(evs) != 6 {
		t.Fatalf("%d events, want 6: %+v", len(evs), evs)
	}
	inv, done := evs[0], evs[1]
	if inv.Type != agentscope.ModelInvoked || inv.Provider != "openai" || inv.Model != "gpt-4o" || !inv.TS.Equal(t0.Add(100*time.Millisecond)) ||
		inv.SpanID != "00000000000000b2" || inv.ParentSpanID != "00000000000000a1" || inv.SessionID != "conv-1" ||
		inv.EventID != "otlp:0102030405060708090a0b0c0d0e0f10:00000000000000b2:start" {
		t.Errorf("ModelInvoked %+v", inv)
	}
	if done.Type != agentscope.ModelCompleted || done.Model != "gpt-4o-2024-08-06" || *done.TokensIn != 1200 || *done.TokensOut != 80 ||
		*done.CacheReadTokens != 1000 || *done.CacheWriteTokens != 100 || done.ReasoningTokens != nil || *done.DurationMS != 1300 ||
		done.FinishReason != "tool_calls" || !done.TS.Equal(t0.Add(1400*time.Millisecond)) || done.Error != "" ||
		done.EventID != "otlp:0102030405060708090a0b0c0d0e0f10:00000000000000b2:end" {
		t.Errorf("ModelCompleted %+v", done)
	}
	call, ret := evs[2], evs[3]
	if call.Type != agentscope.ToolCalled || call.Tool != "get_weather" || call.CallID != "call_42" || string(call.Arguments) != `{"city":"Paris"}` {
		t.Errorf("ToolCalled %+v", call)
	}
	if ret.Type != agentscope.ToolReturned || ret.Status != "error" || ret.Error != "upstream timed out" || string(ret.Result) != `"timeout"` || *ret.DurationMS != 250 || ret.CallID != "call_42" {
		t.Errorf("ToolReturned %+v", ret)
	}
	oi := evs[5]
	if oi.Type != agentscope.ModelCompleted || oi.Provider != "anthropic" || oi.Model != "claude-sonnet-4" || *oi.TokensIn != 300 || *oi.TokensOut != 40 ||
		*oi.CacheReadTokens != 200 || *oi.ReasoningTokens != 12 || oi.SessionID != "conv-1" {
		t.Errorf("OpenInference ModelCompleted %+v", oi)
	}
}

func TestSessionWithoutConversation(t *testing.T) {
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "my svc!")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
			span("00000000000000b2", "", "embed", 0, time.Second, str("gen_ai.operation.name", "embeddings"), str("gen_ai.system", "cohere"), num("gen_ai.usage.input_tokens", 7)),
			span("00000000000000b3", "", "tool", 0, time.Second, str("openinference.span.kind", "TOOL"), str("tool.name", "search"), str("session.id", "a session:with spaces")),
		}}}}}}
	b := otlp.Map(req)
	if b.Rejected != 0 || len(b.Sessions) != 1 {
		t.Fatalf("rejected %d (%s), sessions %d", b.Rejected, b.Message(), len(b.Sessions))
	}
	s := b.Sessions[0]
	// The tool span's session.id names the trace's session; it is not a
	// valid session id, so it is hashed.
	if !strings.HasPrefix(s.ID, "otlp-") || len(s.ID) != 37 || s.ID == "otlp-0102030405060708090a0b0c0d0e0f10" || s.Agent != "my-svc-" {
		t.Errorf("session %q agent %q", s.ID, s.Agent)
	}
	if s.Conversation != "a session:with spaces" {
		t.Errorf("the hashed session keeps conversation %q, want the id the spans named", s.Conversation)
	}
	done := s.Spans[0].Events[1]
	if done.Provider != "cohere" || *done.TokensOut != 0 || done.Attributes["gen_ai.operation.name"] != "embeddings" {
		t.Errorf("embeddings ModelCompleted %+v", done)
	}
	if ret := s.Spans[1].Events[1]; ret.Tool != "search" || ret.CallID != "00000000000000b3" || ret.Status != "ok" {
		t.Errorf("OpenInference ToolReturned %+v", ret)
	}
}

func TestMalformedSpansRejected(t *testing.T) {
	bad := []*tracepb.Span{
		span("00000000000000b2", "", "no times", 0, 0, str("gen_ai.operation.name", "chat")),
		span("00000000000000b3", "", "backwards", 2*time.Second, time.Second, str("gen_ai.operation.name", "chat")),
		span("0000000000000000", "", "zero span id", 0, time.Second, str("gen_ai.operation.name", "chat")),
		span("00000000000000b4", "", "unknown op", 0, time.Second, str("gen_ai.operation.name", "dance")),
	}
	bad[0].StartTimeUnixNano, bad[0].EndTimeUnixNano = 0, 0
	b := otlp.Map(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: bad}}}}})
	if b.Rejected != 4 || len(b.Sessions) != 0 {
		t.Fatalf("rejected %d sessions %d, want 4 and 0", b.Rejected, len(b.Sessions))
	}
	for _, want := range []string{"start_time_unix_nano and end_time_unix_nano are required", "end_time_unix_nano is before", "span_id must be 8 bytes", `"dance" is not one AgentScope records`} {
		if !strings.Contains(b.Message(), want) {
			t.Errorf("message %q lacks %q", b.Message(), want)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, tc := range []struct {
		body string
		enc  otlp.Encoding
		want string
	}{
		{"\xff\xff\xff", otlp.Protobuf, "not a protobuf ExportTraceServiceRequest"},
		{"{", otlp.JSON, "not JSON"},
		{"[]", otlp.JSON, "must be a JSON object"},
		{`{} {}`, otlp.JSON, "trailing data"},
		{`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`, otlp.JSON, `resourceSpans[0].scopeSpans[0].spans[0].traceId "zz" is not hex`},
		{`{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":5}]}]}]}`, otlp.JSON, "spanId must be a hex string"},
		{`{"resourceSpans":{}}`, otlp.JSON, "not an OTLP JSON ExportTraceServiceRequest"},
	} {
		_, err := otlp.DecodeTraces([]byte(tc.body), tc.enc)
		if agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeTraces(%q): %v, want EINVALID saying %q", tc.body, err, tc.want)
		}
	}
	// Unknown fields are ignored and enums may be numbers, as OTLP JSON says.
	req, err := otlp.DecodeTraces([]byte(`{"resourceSpans":[{"future":1,"scopeSpans":[{"spans":[{"kind":3,"status":{"code":2}}]}]}]}`), otlp.JSON)
	if err != nil {
		t.Fatal(err)
	}
	sp := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if sp.Kind != tracepb.Span_SPAN_KIND_CLIENT || sp.Status.Code != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("span %v", sp)
	}
}

func TestContentTypeAndBody(t *testing.T) {
	for ct, want := range map[string]otlp.Encoding{"application/x-protobuf": otlp.Protobuf, "application/json; charset=utf-8": otlp.JSON, "Application/JSON": otlp.JSON} {
		if enc, err := otlp.ParseContentType(ct); err != nil || enc != want {
			t.Errorf("ParseContentType(%q) = %v, %v", ct, enc, err)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/grpc"} {
		if _, err := otlp.ParseContentType(ct); err == nil {
			t.Errorf("ParseContentType(%q) accepted", ct)
		}
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write([]byte("hello"))
	_ = zw.Close()
	if b, err := otlp.ReadBody(bytes.NewReader(zb.Bytes()), "gzip", 100); err != nil || string(b) != "hello" {
		t.Errorf("gzip: %q %v", b, err)
	}
	if _, err := otlp.ReadBody(bytes.NewReader(zb.Bytes()), "gzip", 4); agentscope.ErrorCode(err) != agentscope.ETOOLARGE {
		t.Errorf("gzip over the limit: %v", err)
	}
	if _, err := otlp.ReadBody(strings.NewReader("plain"), "gzip", 100); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("not gzip: %v", err)
	}
	if _, err := otlp.ReadBody(strings.NewReader("x"), "br", 100); agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), `"br"`) {
		t.Errorf("br: %v", err)
	}
}

func FuzzDecodeTraces(f *testing.F) {
	pb, _ := proto.Marshal(Export())
	js, _ := protojson.Marshal(Export())
	f.Add(pb, false)
	f.Add(js, true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000b2","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}]}]}]}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		enc := otlp.Protobuf
		if isJSON {
			enc = otlp.JSON
		}
		req, err := otlp.DecodeTraces(body, enc)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		b := otlp.Map(req)
		n := int64(0)
		for _, s := range b.Sessions {
			if agentscope.ValidateSessionID(s.ID) != nil || agentscope.ValidateAgentName(s.Agent) != nil {
				t.Fatalf("session %q agent %q", s.ID, s.Agent)
			}
			for _, sp := range s.Spans {
				n++
				for i := range sp.Events {
					if err := agentscope.ValidateEvent(&sp.Events[i]); err != nil {
						t.Fatalf("mapped event invalid: %v", err)
					}
				}
			}
		}
		total := int64(0)
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				total += int64(len(ss.GetSpans()))
			}
		}
		if n+b.Rejected != total {
			t.Fatalf("%d spans mapped + %d rejected != %d spans", n, b.Rejected, total)
		}
	})
}

// TestExportRoundTrip: a session's events exported as OTLP (FromEvents,
// MarshalJSON) and ingested again (DecodeTraces, Map) are the same events.
func TestExportRoundTrip(t *testing.T) {
	first := otlp.Map(Export())
	var evs []agentscope.Event
	for _, sp := range first.Sessions[0].Spans {
		evs = append(evs, sp.Events...)
	}
	start := t0
	run := agentscope.Run{SessionID: "conv-1", Agent: "weather-bot", Status: agentscope.StatusRunning, CreatedAt: t0, StartedAt: &start}
	js, err := otlp.MarshalJSON(otlp.FromEvents(run, evs))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"traceId":"0102030405060708090a0b0c0d0e0f10"`) {
		t.Errorf("export does not keep the hex trace id: %s", js)
	}
	req, err := otlp.DecodeTraces(js, otlp.JSON)
	if err != nil {
		t.Fatal(err)
	}
	again := otlp.Map(req)
	if again.Rejected != 0 || len(again.Sessions) != 1 || again.Sessions[0].ID != "conv-1" || again.Sessions[0].Agent != "weather-bot" {
		t.Fatalf("re-ingested: rejected %d (%s), sessions %+v", again.Rejected, again.Message(), again.Sessions)
	}
	var evs2 []agentscope.Event
	for _, sp := range again.Sessions[0].Spans {
		evs2 = append(evs2, sp.Events...)
	}
	if len(evs2) != len(evs) {
		t.Fatalf("%d events after the round trip, want %d", len(evs2), len(evs))
	}
	for i := range evs {
		a, _ := evs[i].MarshalCanonical()
		b, _ := evs2[i].MarshalCanonical()
		if string(a) != string(b) {
			t.Errorf("event %d:\n before %s\n after  %s", i, a, b)
		}
	}
}
