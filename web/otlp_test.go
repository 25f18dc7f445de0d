package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// keyAuth signs in each token as its principal.
type keyAuth map[string]agentscope.Principal

func (k keyAuth) AuthenticateHeader(_ context.Context, header string) (agentscope.Principal, error) {
	if p, ok := k[header]; ok {
		return p, nil
	}
	return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "invalid token")
}

func otlpServer(t testing.TB) string {
	t.Helper()
	auth := keyAuth{
		"Bearer ingest-a": {Kind: agentscope.PrincipalKey, OrgID: "org-a", KeyID: "k1", Scopes: []agentscope.Scope{agentscope.ScopeIngest}},
		"Bearer read-a":   {Kind: agentscope.PrincipalKey, OrgID: "org-a", KeyID: "k2", Scopes: []agentscope.Scope{agentscope.ScopeRead}},
		"Bearer ingest-b": {Kind: agentscope.PrincipalKey, OrgID: "org-b", KeyID: "k3", Scopes: []agentscope.Scope{agentscope.ScopeIngest, agentscope.ScopeRead}},
		"Bearer " + token: {Kind: agentscope.PrincipalInstance, OrgID: "org-a", Role: agentscope.RoleOwner},
	}
	return setupWith(t, web.Options{Auth: auth, MaxBodyBytes: 1 << 20, LivePoll: time.Hour}).srv.URL
}

func kv(k string, v any) *commonpb.KeyValue {
	switch x := v.(type) {
	case int:
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(x)}}}
	default:
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: x.(string)}}}
	}
}

// chatExport is one chat span of conversation conv (and, with http, a
// span that is not GenAI).
func chatExport(conv string, withHTTP bool) *coltracepb.ExportTraceServiceRequest {
	tid, _ := hex.DecodeString("0af7651916cd43dd8448eb211c80319c")
	start := uint64(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC).UnixNano())
	spans := []*tracepb.Span{{TraceId: tid, SpanId: []byte{0, 0, 0, 0, 0, 0, 0, 1}, Name: "chat", StartTimeUnixNano: start, EndTimeUnixNano: start + 2e9,
		Attributes: []*commonpb.KeyValue{kv("gen_ai.operation.name", "chat"), kv("gen_ai.system", "openai"), kv("gen_ai.request.model", "gpt-4o-mini"),
			kv("gen_ai.usage.input_tokens", 10), kv("gen_ai.usage.output_tokens", 5), kv("gen_ai.conversation.id", conv), kv("gen_ai.agent.name", "otel-agent")}}}
	if withHTTP {
		spans = append(spans, &tracepb.Span{TraceId: tid, SpanId: []byte{0, 0, 0, 0, 0, 0, 0, 2}, Name: "GET /", StartTimeUnixNano: start, EndTimeUnixNano: start + 1})
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}}
}

func postOTLP(t testing.TB, url, key, contentType, encoding string, body []byte) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/traces", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func sessionEvents(t *testing.T, url, bearer, sid string) []agentscope.Event {
	t.Helper()
	var page struct {
		Events []agentscope.Event `json:"events"`
	}
	if code := doAs(t, bearer, "GET", url+"/api/v1/sessions/"+sid+"/events", "", &page); code != 200 {
		t.Fatalf("replay %s: %d", sid, code)
	}
	return page.Events
}

func TestOTLPTraces(t *testing.T) {
	url := otlpServer(t)
	pb, _ := proto.Marshal(chatExport("conv-7", false))

	// Protobuf: recorded, an empty response (no partial_success).
	for range 2 { // the retry is recorded once
		code, ct, body := postOTLP(t, url, "ingest-a", "application/x-protobuf", "", pb)
		var resp coltracepb.ExportTraceServiceResponse
		if code != 200 || ct != "application/x-protobuf" || proto.Unmarshal(body, &resp) != nil || resp.PartialSuccess != nil {
			t.Fatalf("protobuf: %d %s %q", code, ct, body)
		}
	}
	evs := sessionEvents(t, url, token, "conv-7")
	// The call is priced as it arrives (gpt-4o-mini: 10 in and 5 out).
	if len(evs) != 4 || evs[0].Type != agentscope.SessionStarted || evs[0].Agent != "otel-agent" ||
		evs[1].Type != agentscope.ModelInvoked || evs[2].Type != agentscope.ModelCompleted || *evs[2].TokensIn != 10 || *evs[2].DurationMS != 2000 || evs[2].Provider != "openai" ||
		evs[3].Type != agentscope.CostRecorded || evs[3].AmountUSD.String() != "0.0000045" || evs[3].SpanID != evs[2].SpanID || evs[3].Attributes["computed"] != true {
		t.Fatalf("events after two exports: %+v", evs)
	}

	// JSON, gzipped, with a span that is not GenAI: partial success.
	js, _ := protojson.Marshal(chatExport("conv-8", true))
	js = bytes.ReplaceAll(js, []byte(`"CvdlGRbNQ92ESOshHIAxnA=="`), []byte(`"0af7651916cd43dd8448eb211c80319c"`))
	js = bytes.ReplaceAll(js, []byte(`"AAAAAAAAAAE="`), []byte(`"0000000000000001"`))
	js = bytes.ReplaceAll(js, []byte(`"AAAAAAAAAAI="`), []byte(`"0000000000000002"`))
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(js)
	_ = zw.Close()
	code, ct, body := postOTLP(t, url, "ingest-a", "application/json", "gzip", zb.Bytes())
	var resp coltracepb.ExportTraceServiceResponse
	if code != 200 || ct != "application/json" || protojson.Unmarshal(body, &resp) != nil ||
		resp.GetPartialSuccess().GetRejectedSpans() != 1 || !bytes.Contains([]byte(resp.GetPartialSuccess().GetErrorMessage()), []byte("(GET /): not a GenAI span")) {
		t.Fatalf("json gzip: %d %s %s", code, ct, body)
	}
	if evs := sessionEvents(t, url, token, "conv-8"); len(evs) != 4 || evs[1].SpanID != "0000000000000001" {
		t.Fatalf("conv-8 events %+v", evs)
	}

	// Malformed payloads: 400 with a google.rpc.Status saying why, in the
	// request's encoding; another content type: 415.
	code, ct, body = postOTLP(t, url, "ingest-a", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff})
	var st spb.Status
	if code != 400 || ct != "application/x-protobuf" || proto.Unmarshal(body, &st) != nil || st.Code != 3 || !bytes.Contains([]byte(st.Message), []byte("not a protobuf ExportTraceServiceRequest")) {
		t.Errorf("malformed protobuf: %d %s %q (%v)", code, ct, body, &st)
	}
	code, _, body = postOTLP(t, url, "ingest-a", "application/json", "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}`))
	if code != 400 || protojson.Unmarshal(body, &st) != nil || !bytes.Contains([]byte(st.Message), []byte(`traceId "xyz" is not hex`)) {
		t.Errorf("malformed json: %d %s", code, body)
	}
	code, _, body = postOTLP(t, url, "ingest-a", "application/json", "gzip", []byte("not gzip"))
	if code != 400 || !bytes.Contains(body, []byte("not gzip")) {
		t.Errorf("bad gzip: %d %s", code, body)
	}
	if code, _, body = postOTLP(t, url, "ingest-a", "text/plain", "", pb); code != 415 || !bytes.Contains(body, []byte("application/x-protobuf")) {
		t.Errorf("text/plain: %d %s", code, body)
	}

	// A key without the ingest scope is refused, and records nothing.
	pb9, _ := proto.Marshal(chatExport("conv-9", false))
	if code, _, body = postOTLP(t, url, "read-a", "application/x-protobuf", "", pb9); code != 403 || !bytes.Contains(body, []byte("ingest")) {
		t.Errorf("read key: %d %s", code, body)
	}
	if code, _, _ = postOTLP(t, url, "nope", "application/x-protobuf", "", pb9); code != 401 {
		t.Errorf("unknown key: %d", code)
	}
	if code := doAs(t, token, "GET", url+"/api/v1/sessions/conv-9/events", "", nil); code != 404 {
		t.Errorf("conv-9 after refused exports: %d, want 404", code)
	}

	// Another organisation exporting the same conversation id gets its own
	// session; org-a's is untouched.
	if code, _, body = postOTLP(t, url, "ingest-b", "application/x-protobuf", "", pb); code != 200 {
		t.Fatalf("org-b: %d %s", code, body)
	}
	if evs := sessionEvents(t, url, token, "conv-7"); len(evs) != 4 {
		t.Errorf("org-a's conv-7 after org-b's export: %d events, want 4", len(evs))
	}
	if evs := sessionEvents(t, url, "ingest-b", "conv-7"); len(evs) != 4 || evs[0].Type != agentscope.SessionStarted {
		t.Errorf("org-b's conv-7: %+v", evs)
	}
	if code := doAs(t, "ingest-b", "GET", url+"/api/v1/sessions/conv-8/events", "", nil); code != 404 {
		t.Errorf("org-b reads org-a's conv-8: %d, want 404", code)
	}

	// A session back as OTLP JSON, which ingests again as the same events.
	hreq, _ := http.NewRequest("GET", url+"/api/v1/sessions/conv-8/otlp", nil)
	hreq.Header.Set("Authorization", "Bearer "+token)
	hr, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	export, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 200 || hr.Header.Get("Content-Type") != "application/json" || !bytes.Contains(export, []byte(`"traceId":"0af7651916cd43dd8448eb211c80319c"`)) ||
		!bytes.Contains(export, []byte(`"gen_ai.conversation.id"`)) {
		t.Fatalf("export of conv-8: %d %s", hr.StatusCode, export)
	}
	if code, _, body := postOTLP(t, url, "ingest-a", "application/json", "", export); code != 200 || string(body) != "{}" {
		t.Errorf("re-ingesting the export: %d %s", code, body)
	}
	if evs := sessionEvents(t, url, token, "conv-8"); len(evs) != 4 {
		t.Errorf("conv-8 after re-ingesting its export: %d events, want the same 4", len(evs))
	}
	if code := doAs(t, "ingest-b", "GET", url+"/api/v1/sessions/conv-8/otlp", "", nil); code != 404 {
		t.Errorf("org-b exports org-a's conv-8: %d, want 404", code)
	}
}

// TestOTLPConversationKept: a conversation id that is not a valid session
// id names its session by a hash, and the run keeps it as metadata
// conversation_id (found trying it as a new user: it was stored nowhere,
// so the session could not be found by it).
func TestOTLPConversationKept(t *testing.T) {
	url := otlpServer(t)
	pb, _ := proto.Marshal(chatExport("user 42 / chat #7", false))
	if code, _, body := postOTLP(t, url, "ingest-a", "application/x-protobuf", "", pb); code != 200 || len(body) != 0 {
		t.Fatalf("export: %d %q", code, body)
	}
	var runs struct {
		Runs []agentscope.Run `json:"runs"`
	}
	if code := doAs(t, token, "GET", url+"/api/v1/runs?agent=otel-agent", "", &runs); code != 200 || len(runs.Runs) != 1 {
		t.Fatalf("runs: %d %+v", code, runs)
	}
	r := runs.Runs[0]
	if !strings.HasPrefix(r.SessionID, "otlp-") || r.Metadata["conversation_id"] != "user 42 / chat #7" || r.Metadata["source"] != "otlp" {
		t.Fatalf("run %s metadata %v", r.SessionID, r.Metadata)
	}
}

// BenchmarkOTLPIngest measures OTLP ingest over HTTP (issue #18's "OTLP
// spans/s ingested"): protobuf exports of 100 chat spans each, spread over
// 10 conversations, into SQLite; every span's two events are committed.
func BenchmarkOTLPIngest(b *testing.B) {
	url := otlpServer(b)
	const spansPerExport = 100
	tid, _ := hex.DecodeString("0af7651916cd43dd8448eb211c80319c")
	start := uint64(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC).UnixNano())
	bodies := make([][]byte, b.N)
	for i := range bodies {
		spans := make([]*tracepb.Span, spansPerExport)
		for j := range spans {
			n := uint64(i*spansPerExport + j + 1)
			id := []byte{byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
			spans[j] = &tracepb.Span{TraceId: tid, SpanId: id, Name: "chat", StartTimeUnixNano: start, EndTimeUnixNano: start + 1e9,
				Attributes: []*commonpb.KeyValue{kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"), kv("gen_ai.request.model", "gpt-4o-mini"),
					kv("gen_ai.usage.input_tokens", 100), kv("gen_ai.usage.output_tokens", 20), kv("gen_ai.conversation.id", "bench-"+strconv.Itoa(j%10))}}
		}
		bodies[i], _ = proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}})
	}
	b.ResetTimer()
	began := time.Now()
	for i := range b.N {
		if code, _, body := postOTLP(b, url, "ingest-a", "application/x-protobuf", "", bodies[i]); code != 200 || len(body) != 0 {
			b.Fatalf("export %d: %d %q", i, code, body)
		}
	}
	b.ReportMetric(float64(b.N*spansPerExport)/time.Since(began).Seconds(), "spans/s")
}

// TestOTLPEventTooLarge: a span whose event is over the event size limit is
// reported as rejected; the other spans of its session are recorded.
func TestOTLPEventTooLarge(t *testing.T) {
	f := setupWith(t, web.Options{Auth: keyAuth{"Bearer ingest-a": {Kind: agentscope.PrincipalKey, OrgID: "org-a", KeyID: "k1", Scopes: []agentscope.Scope{agentscope.ScopeIngest, agentscope.ScopeRead}}},
		MaxBodyBytes: 1 << 20, LivePoll: time.Hour})
	f.svc.MaxEventBytes = 2048
	req := chatExport("conv-big", true)
	big := proto.Clone(req.ResourceSpans[0].ScopeSpans[0].Spans[0]).(*tracepb.Span)
	big.SpanId = []byte{0, 0, 0, 0, 0, 0, 0, 3}
	big.Attributes = append(big.Attributes, kv("gen_ai.input.messages", `"`+strings.Repeat("x", 4096)+`"`))
	req.ResourceSpans[0].ScopeSpans[0].Spans = append(req.ResourceSpans[0].ScopeSpans[0].Spans, big)
	pb, _ := proto.Marshal(req)
	code, _, body := postOTLP(t, f.srv.URL, "ingest-a", "application/x-protobuf", "", pb)
	var resp coltracepb.ExportTraceServiceResponse
	if code != 200 || proto.Unmarshal(body, &resp) != nil || resp.GetPartialSuccess().GetRejectedSpans() != 2 ||
		!strings.Contains(resp.GetPartialSuccess().GetErrorMessage(), "0000000000000003 (chat): its ModelInvoked event is larger than the event size limit") {
		t.Fatalf("%d %v", code, &resp)
	}
	if evs := sessionEvents(t, f.srv.URL, "ingest-a", "conv-big"); len(evs) != 4 || evs[1].SpanID != "0000000000000001" {
		t.Errorf("conv-big: %+v", evs)
	}
}
