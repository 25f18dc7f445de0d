package otlp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Batch is what one export maps to: the sessions its spans belong to,
// each with the events of its spans, and the spans that map to nothing.
type Batch struct {
	// Sessions in the order their first span appeared.
	Sessions []*Session
	// Rejected counts the spans that are not GenAI spans or are malformed.
	Rejected int64
	// Reasons says why spans were rejected, the first few of them.
	Reasons []string
}

// Session is one session's part of an export.
type Session struct {
	ID    string
	Agent string // the agent a new session is started for
	// Conversation is the conversation id the spans named when it is not
	// a valid session id and ID is its hash ("otlp-…"): kept as the
	// run's metadata conversation_id, so it can still be searched for.
	Conversation string
	Spans        []Span
}

// Span is the events one span maps to: all of them are recorded, or the
// span is counted as rejected.
type Span struct {
	Name   string // for rejection messages: "span <trace>/<span> (name)"
	Events []agentscope.Event
}

// MaxReasons bounds Batch.Reasons.
const MaxReasons = 5

// DefaultAgent names the agent of a session whose spans and resource name
// none (no gen_ai.agent.name, agent.name or service.name).
const DefaultAgent = "otlp"

// EventIDPrefix starts every event id Map derives.
const EventIDPrefix = "otlp:"

// Map maps an export's spans to events. Event ids are derived from the
// trace and span ids, so a retried export is recorded once. A span
// belongs to the session named by gen_ai.conversation.id or session.id on
// it, or on another span of its trace in the export, or on its resource;
// without any, to the session "otlp-<trace id>".
func Map(req *coltracepb.ExportTraceServiceRequest) *Batch {
	b := &Batch{}
	byID := map[string]*Session{}
	for _, rs := range req.GetResourceSpans() {
		res := attrMap(rs.GetResource().GetAttributes())
		// First pass: what each trace says about its session and agent.
		traceSession, traceAgent := map[string]string{}, map[string]string{}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				t := hex.EncodeToString(sp.GetTraceId())
				a := attrMap(sp.GetAttributes())
				if sid := a.str("gen_ai.conversation.id", "session.id"); sid != "" && traceSession[t] == "" {
					traceSession[t] = sid
				}
				if ag := a.str("gen_ai.agent.name", "agent.name"); ag != "" && traceAgent[t] == "" {
					traceAgent[t] = ag
				}
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				t := hex.EncodeToString(sp.GetTraceId())
				a := attrMap(sp.GetAttributes())
				name := fmt.Sprintf("span %s/%s (%s)", t, hex.EncodeToString(sp.GetSpanId()), truncate(sp.GetName(), 64))
				evs, err := mapSpan(sp, a, res)
				if err != nil {
					b.reject(name + ": " + err.Error())
					continue
				}
				conv := first(a.str("gen_ai.conversation.id", "session.id"), traceSession[t], res.str("gen_ai.conversation.id", "session.id"))
				sid := sessionID(conv, t)
				for i := range evs {
					evs[i].SessionID = sid
				}
				s := byID[sid]
				if s == nil {
					agent := first(a.str("gen_ai.agent.name", "agent.name"), traceAgent[t], res.str("gen_ai.agent.name", "agent.name"), res.str("service.name"))
					s = &Session{ID: sid, Agent: agentName(agent)}
					if conv != "" && conv != sid {
						s.Conversation = truncate(conv, 256)
					}
					byID[sid] = s
					b.Sessions = append(b.Sessions, s)
				}
				s.Spans = append(s.Spans, Span{Name: name, Events: evs})
			}
		}
	}
	return b
}

// Reject counts a span as rejected, keeping the first MaxReasons reasons.
func (b *Batch) reject(reason string) {
	b.Rejected++
	if len(b.Reasons) < MaxReasons {
		b.Reasons = append(b.Reasons, reason)
	}
}

// Reject is reject for the spans the caller could not record.
func (b *Batch) Reject(reason string) { b.reject(reason) }

// Message is the partial success's error_message: the reasons, joined.
func (b *Batch) Message() string {
	if b.Rejected == 0 {
		return ""
	}
	msg := strings.Join(b.Reasons, "; ")
	if more := b.Rejected - int64(len(b.Reasons)); more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return msg
}

// operation is a span's GenAI operation: gen_ai.operation.name, or the
// one OpenInference's span kind stands for.
func operation(a attrs) string {
	if op := a.str("gen_ai.operation.name"); op != "" {
		return op
	}
	switch strings.ToUpper(a.str("openinference.span.kind")) {
	case "LLM":
		return "chat"
	case "EMBEDDING":
		return "embeddings"
	case "TOOL":
		return "execute_tool"
	case "AGENT":
		return "invoke_agent"
	}
	return ""
}

// mapSpan returns the events of one span, validated, without session_id.
func mapSpan(sp *tracepb.Span, a, res attrs) ([]agentscope.Event, error) {
	if len(sp.GetTraceId()) != 16 || isZero(sp.GetTraceId()) {
		return nil, fmt.Errorf("trace_id must be 16 bytes, not all zero")
	}
	if len(sp.GetSpanId()) != 8 || isZero(sp.GetSpanId()) {
		return nil, fmt.Errorf("span_id must be 8 bytes, not all zero")
	}
	op := operation(a)
	switch op {
	case "":
		return nil, fmt.Errorf("not a GenAI span: no gen_ai.operation.name or openinference.span.kind")
	case "invoke_agent", "create_agent":
		// The agent and its session are taken from these spans; they
		// have no event of their own.
		return nil, nil
	case "chat", "text_completion", "embeddings", "generate_content", "execute_tool":
	default:
		return nil, fmt.Errorf("gen_ai.operation.name %q is not one AgentScope records", truncate(op, 64))
	}
	start, end := sp.GetStartTimeUnixNano(), sp.GetEndTimeUnixNano()
	if start == 0 || end == 0 {
		return nil, fmt.Errorf("start_time_unix_nano and end_time_unix_nano are required")
	}
	if end < start || start > math.MaxInt64 || end > math.MaxInt64 {
		return nil, fmt.Errorf("end_time_unix_nano is before start_time_unix_nano")
	}
	traceHex, spanHex := hex.EncodeToString(sp.GetTraceId()), hex.EncodeToString(sp.GetSpanId())
	idBase := EventIDPrefix + traceHex + ":" + spanHex
	dur := float64(end-start) / 1e6
	errText := ""
	if sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		errText = first(sp.GetStatus().GetMessage(), a.str("error.type"), "error")
	}
	base := agentscope.Event{SpanID: spanHex}
	if p := sp.GetParentSpanId(); len(p) == 8 && !isZero(p) {
		base.ParentSpanID = hex.EncodeToString(p)
	}
	if ag := a.str("gen_ai.agent.name", "agent.name"); ag != "" {
		base.Attributes = map[string]any{"gen_ai.agent.name": truncate(ag, 256)}
	}
	in, out := base, base
	in.TS = time.Unix(0, int64(start)).UTC()
	out.TS = time.Unix(0, int64(end)).UTC()
	in.EventID, out.EventID = idBase+":start", idBase+":end"
	out.DurationMS = &dur
	if op == "execute_tool" {
		in.Type, out.Type = agentscope.ToolCalled, agentscope.ToolReturned
		in.Tool = first(a.str("gen_ai.tool.name", "tool.name"), sp.GetName())
		in.CallID = first(a.str("gen_ai.tool.call.id", "tool_call.id"), spanHex)
		out.Tool, out.CallID = in.Tool, in.CallID
		if args := jsonAttr(a, "gen_ai.tool.call.arguments", "tool.parameters", "input.value"); len(args) > 0 && args[0] == '{' {
			in.Arguments = args
		}
		out.Result = jsonAttr(a, "gen_ai.tool.call.result", "output.value")
		out.Status = "ok"
		if errText != "" {
			out.Status, out.Error = "error", errText
		}
	} else {
		in.Type, out.Type = agentscope.ModelInvoked, agentscope.ModelCompleted
		provider := first(a.str("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"), res.str("gen_ai.provider.name", "gen_ai.system"), "unknown")
		in.Provider, out.Provider = provider, provider
		in.Model = first(a.str("gen_ai.request.model", "gen_ai.response.model", "llm.model_name"), "unknown")
		out.Model = first(a.str("gen_ai.response.model", "gen_ai.request.model", "llm.model_name"), "unknown")
		in.Input = jsonAttr(a, "gen_ai.input.messages", "input.value")
		out.Output = jsonAttr(a, "gen_ai.output.messages", "output.value")
		tin, okIn := a.count("gen_ai.usage.input_tokens", "llm.token_count.prompt", "gen_ai.usage.prompt_tokens")
		tout, okOut := a.count("gen_ai.usage.output_tokens", "llm.token_count.completion", "gen_ai.usage.completion_tokens")
		if !okIn && !okOut {
			if out.Attributes == nil {
				out.Attributes = map[string]any{}
			}
			out.Attributes["tokens_unreported"] = true
		}
		out.TokensIn, out.TokensOut = &tin, &tout
		if n, ok := a.count("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens", "llm.token_count.prompt_details.cache_read"); ok {
			out.CacheReadTokens = &n
		}
		if n, ok := a.count("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write"); ok {
			out.CacheWriteTokens = &n
		}
		if n, ok := a.count("llm.token_count.completion_details.reasoning"); ok {
			out.ReasoningTokens = &n
		}
		out.FinishReason = a.strs("gen_ai.response.finish_reasons")
		out.Error = errText
		if op != "chat" {
			out.Attributes = withAttr(out.Attributes, "gen_ai.operation.name", op)
			in.Attributes = withAttr(in.Attributes, "gen_ai.operation.name", op)
		}
	}
	evs := []agentscope.Event{in, out}
	for i := range evs {
		if err := agentscope.ValidateEvent(&evs[i]); err != nil {
			return nil, fmt.Errorf("%s: %s", evs[i].Type, agentscope.ErrorMessage(err))
		}
	}
	return evs, nil
}

func withAttr(m map[string]any, k string, v any) map[string]any {
	if m == nil {
		m = map[string]any{}
	} else {
		c := make(map[string]any, len(m)+1)
		for k, v := range m {
			c[k] = v
		}
		m = c
	}
	m[k] = v
	return m
}

// sessionID is the session a conversation id names: itself when it is a
// valid session id, else "otlp-" and a hash of it; without one, the
// trace's session "otlp-<trace id>".
func sessionID(conv, traceHex string) string {
	if conv == "" {
		return "otlp-" + traceHex
	}
	if agentscope.ValidateSessionID(conv) == nil {
		return conv
	}
	h := sha256.Sum256([]byte(conv))
	return "otlp-" + hex.EncodeToString(h[:16])
}

// agentName makes name a valid agent name: other characters become '-',
// and a name that still does not fit is DefaultAgent.
func agentName(name string) string {
	if name == "" {
		return DefaultAgent
	}
	b := []byte(name)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '.' || c == '-'))
		if !ok {
			b[i] = '-'
		}
	}
	if agentscope.ValidateAgentName(string(b)) != nil {
		return DefaultAgent
	}
	return string(b)
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// attrs is a span's or resource's attributes by key.
type attrs map[string]*commonpb.AnyValue

func attrMap(kvs []*commonpb.KeyValue) attrs {
	m := make(attrs, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

// str returns the first of keys with a string value.
func (a attrs) str(keys ...string) string {
	for _, k := range keys {
		if s := a[k].GetStringValue(); s != "" {
			return s
		}
	}
	return ""
}

// strs returns a string array attribute joined with commas (or a string).
func (a attrs) strs(key string) string {
	v := a[key]
	if arr := v.GetArrayValue(); arr != nil {
		var parts []string
		for _, e := range arr.GetValues() {
			if s := e.GetStringValue(); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	}
	return v.GetStringValue()
}

// count returns the first of keys with a non-negative integer value (an
// int, a whole double or a decimal string).
func (a attrs) count(keys ...string) (int64, bool) {
	for _, k := range keys {
		v, ok := a[k]
		if !ok {
			continue
		}
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_IntValue:
			if x.IntValue >= 0 {
				return x.IntValue, true
			}
		case *commonpb.AnyValue_DoubleValue:
			if x.DoubleValue >= 0 && x.DoubleValue == math.Trunc(x.DoubleValue) && x.DoubleValue < 1e15 {
				return int64(x.DoubleValue), true
			}
		case *commonpb.AnyValue_StringValue:
			if n, err := strconv.ParseInt(x.StringValue, 10, 64); err == nil && n >= 0 {
				return n, true
			}
		}
	}
	return 0, false
}

// jsonAttr returns the first of keys with a string value as JSON: the
// value itself when it is JSON, else the string as a JSON string.
func jsonAttr(a attrs, keys ...string) json.RawMessage {
	s := a.str(keys...)
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}
