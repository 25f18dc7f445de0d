package otlp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// FromEvents returns a session's events as one OTLP trace following the
// GenAI conventions, the inverse of Map: an invoke_agent span for the run
// (carrying gen_ai.conversation.id and gen_ai.agent.name), a chat span per
// ModelCompleted (its ModelInvoked's request model) and an execute_tool
// span per ToolReturned (its ToolCalled's arguments). Ids recorded from
// OTLP are kept; others are derived from the session and event ids.
func FromEvents(run agentscope.Run, evs []agentscope.Event) *coltracepb.ExportTraceServiceRequest {
	traceID := derive(16, "trace", run.SessionID)
	for _, ev := range evs {
		if t, ok := otlpTraceID(ev.EventID); ok {
			traceID = t
			break
		}
	}
	rootID := derive(8, "root", run.SessionID)
	start, end := run.CreatedAt, run.CreatedAt
	if run.StartedAt != nil {
		start = *run.StartedAt
	}
	invoked := map[string]agentscope.Event{}
	called := map[string]agentscope.Event{}
	var spans []*tracepb.Span
	for _, ev := range evs {
		if ev.TS.After(end) {
			end = ev.TS
		}
		switch ev.Type {
		case agentscope.ModelInvoked:
			invoked[ev.SpanID] = ev
		case agentscope.ToolCalled:
			called[ev.CallID] = ev
		case agentscope.ModelCompleted:
			op := "chat"
			if s, ok := ev.Attributes["gen_ai.operation.name"].(string); ok {
				op = s
			}
			a := []*commonpb.KeyValue{kvStr("gen_ai.operation.name", op), kvStr("gen_ai.provider.name", ev.Provider), kvStr("gen_ai.response.model", ev.Model),
				kvInt("gen_ai.usage.input_tokens", ev.TokensIn), kvInt("gen_ai.usage.output_tokens", ev.TokensOut),
				kvInt("gen_ai.usage.cache_read.input_tokens", ev.CacheReadTokens), kvInt("gen_ai.usage.cache_creation.input_tokens", ev.CacheWriteTokens),
				kvInt("llm.token_count.completion_details.reasoning", ev.ReasoningTokens)}
			req := ev.Model
			if in, ok := invoked[ev.SpanID]; ok && ev.SpanID != "" {
				req = in.Model
			}
			a = append(a, kvStr("gen_ai.request.model", req))
			if ev.FinishReason != "" {
				a = append(a, kvStrs("gen_ai.response.finish_reasons", strings.Split(ev.FinishReason, ",")))
			}
			spans = append(spans, eventSpan(traceID, ev, op+" "+ev.Model, a))
		case agentscope.ToolReturned:
			a := []*commonpb.KeyValue{kvStr("gen_ai.operation.name", "execute_tool"), kvStr("gen_ai.tool.name", ev.Tool), kvStr("gen_ai.tool.call.id", ev.CallID)}
			if c, ok := called[ev.CallID]; ok && len(c.Arguments) > 0 {
				a = append(a, kvStr("gen_ai.tool.call.arguments", string(c.Arguments)))
			}
			if len(ev.Result) > 0 {
				a = append(a, kvStr("gen_ai.tool.call.result", string(ev.Result)))
			}
			spans = append(spans, eventSpan(traceID, ev, "execute_tool "+ev.Tool, a))
		}
	}
	if run.EndedAt != nil {
		end = *run.EndedAt
	}
	root := &tracepb.Span{TraceId: traceID, SpanId: rootID, Name: "invoke_agent " + run.Agent, Kind: tracepb.Span_SPAN_KIND_INTERNAL,
		StartTimeUnixNano: unixNano(start), EndTimeUnixNano: unixNano(end),
		Attributes: compact([]*commonpb.KeyValue{kvStr("gen_ai.operation.name", "invoke_agent"), kvStr("gen_ai.agent.name", run.Agent), kvStr("gen_ai.conversation.id", run.SessionID)})}
	if run.Status == agentscope.StatusFailed {
		root.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: run.Error}
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kvStr("service.name", "agentscope")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "agentscope"}, Spans: append([]*tracepb.Span{root}, spans...)}},
	}}}
}

// eventSpan is the span of a completing event (ModelCompleted,
// ToolReturned): it ends at the event and lasted its duration_ms. Its
// parent is the event's parent_span_id, none without one (not the run's
// span: ingesting the export again must give the same events).
func eventSpan(traceID []byte, ev agentscope.Event, name string, a []*commonpb.KeyValue) *tracepb.Span {
	if ag, ok := ev.Attributes["gen_ai.agent.name"].(string); ok {
		a = append(a, kvStr("gen_ai.agent.name", ag))
	}
	sp := &tracepb.Span{TraceId: traceID, SpanId: hexOr(ev.SpanID, 8, "span", ev.EventID), ParentSpanId: hexOr(ev.ParentSpanID, 8, "", ""), Name: name,
		Kind: tracepb.Span_SPAN_KIND_CLIENT, EndTimeUnixNano: unixNano(ev.TS), Attributes: compact(a)}
	sp.StartTimeUnixNano = sp.EndTimeUnixNano
	if ev.DurationMS != nil {
		sp.StartTimeUnixNano = unixNano(ev.TS.Add(-time.Duration(*ev.DurationMS * float64(time.Millisecond))))
	}
	if ev.Error != "" || ev.Status == "error" {
		sp.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: ev.Error}
	}
	return sp
}

// otlpTraceID is the trace id of an event id Map derived.
func otlpTraceID(eventID string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(eventID, EventIDPrefix)
	if !ok || len(rest) < 33 || rest[32] != ':' {
		return nil, false
	}
	b, err := hex.DecodeString(rest[:32])
	return b, err == nil
}

// hexOr decodes s when it is n bytes of hex, else derives n bytes from
// kind and seed (nil without a seed).
func hexOr(s string, n int, kind, seed string) []byte {
	if b, err := hex.DecodeString(s); err == nil && len(b) == n && !isZero(b) {
		return b
	}
	if seed == "" {
		return nil
	}
	return derive(n, kind, seed)
}

func derive(n int, kind, seed string) []byte {
	h := sha256.Sum256([]byte(kind + "\x00" + seed))
	return h[:n]
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func kvStr(k, v string) *commonpb.KeyValue {
	if v == "" {
		return nil
	}
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func kvStrs(k string, vs []string) *commonpb.KeyValue {
	arr := &commonpb.ArrayValue{}
	for _, v := range vs {
		arr.Values = append(arr.Values, &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}})
	}
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}}
}

func kvInt(k string, v *int64) *commonpb.KeyValue {
	if v == nil {
		return nil
	}
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: *v}}}
}

// compact drops the nil attributes (absent values).
func compact(a []*commonpb.KeyValue) []*commonpb.KeyValue {
	out := a[:0]
	for _, kv := range a {
		if kv != nil {
			out = append(out, kv)
		}
	}
	return out
}

// MarshalJSON encodes an export in OTLP JSON: protobuf's JSON mapping with
// trace and span ids as hex.
func MarshalJSON(req *coltracepb.ExportTraceServiceRequest) ([]byte, error) {
	b, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	base64IDsToHex(v)
	return json.Marshal(v)
}

func base64IDsToHex(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && idKeys[k] {
				if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
					x[k] = hex.EncodeToString(raw)
				}
				continue
			}
			base64IDsToHex(val)
		}
	case []any:
		for _, val := range x {
			base64IDsToHex(val)
		}
	}
}
