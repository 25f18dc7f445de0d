package hectest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandleEvents is the server's cost per event of a request as the
// forwarder sends it: 500 gzipped envelopes of canonical events, each of a
// key not seen before. The forwarding benchmarks run this server on the
// machine they measure, so its CPU counts against forwarding's share.
func BenchmarkHandleEvents(b *testing.B) {
	const perRequest = 500
	s := New(Options{Token: "t", DiscardEvents: true})
	defer s.Close()
	bodies := make([][]byte, 64)
	var raw bytes.Buffer
	for i := range bodies {
		raw.Reset()
		for j := range perRequest {
			fmt.Fprintf(&raw, `{"time":1764936000.%03d,"host":"bench-host","source":"agentscope","sourcetype":"agentscope:events","index":"main",`+
				`"fields":{"org_id":"default","session_id":"s-%d","agent":"bench-agent","type":"ToolCallCompleted"},`+
				`"event":{"event_id":"e-%d-%d","session_id":"s-%d","seq":%d,"type":"ToolCallCompleted","ts":"2026-12-05T12:00:00.%03dZ",`+
				`"agent":"bench-agent","tool":"search","duration_ms":42,"input":{"query":"what is the weather in Paris"},`+
				`"output":{"result":"sunny, 21 degrees","items":[1,2,3]},"attributes":{"run":"bench","attempt":1}}}`,
				j%1000, i, i, j, i, j+1, j%1000)
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(raw.Bytes())
		zw.Close()
		bodies[i] = z.Bytes()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/services/collector/event", s.handleEvents)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, "/services/collector/event", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Authorization", "Splunk t")
		req.Header.Set("Content-Encoding", "gzip")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perRequest), "ns/event")
}
