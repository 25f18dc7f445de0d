package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web"
)

const benchToken = "bench-token-0123456789"

type bearer struct{ rt http.RoundTripper }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+benchToken)
	return b.rt.RoundTrip(r)
}

// serve boots the HTTP server (API, /mcp) over st.
func serve(b *testing.B, st agentscope.Store, committers int) (*httptest.Server, *service.Service, *recorder.Recorder) {
	hub := recorder.NewMemHub()
	rec := recorder.New(st, recorder.Options{Hub: hub, Committers: committers})
	svc := service.New(rec, service.Options{})
	m := mcpserver.New(svc, mcpserver.Options{})
	srv := web.New(svc, web.Options{Tokens: map[string]string{benchToken: "o"}, Hub: hub, LivePoll: time.Hour, MCP: m.HTTPHandler()})
	hs := httptest.NewServer(srv)
	b.Cleanup(func() { hs.Close(); rec.Close() })
	return hs, svc, rec
}

// BenchmarkMCPRecordEvent: record_event over MCP Streamable HTTP, one event
// per call, 32 concurrent clients, each in its own session.
func BenchmarkMCPRecordEvent(b *testing.B) {
	const clients = 32
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			st, committers := k.open(b)
			hs, _, rec := serve(b, st, committers)
			tr := &http.Transport{MaxIdleConnsPerHost: clients * 2}
			sessions := make([]*mcp.ClientSession, clients)
			for i := range sessions {
				t := &mcp.StreamableClientTransport{Endpoint: hs.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer{tr}}, DisableStandaloneSSE: true}
				cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(context.Background(), t, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer cs.Close()
				sessions[i] = cs
				startSession(b, rec, "o", fmt.Sprintf("c%d", i))
			}
			lat := make([][]time.Duration, clients)
			per := (b.N + clients - 1) / clients
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						t0 := time.Now()
						res, err := sessions[c].CallTool(context.Background(), &mcp.CallToolParams{Name: "record_event", Arguments: map[string]any{
							"session_id": fmt.Sprintf("c%d", c), "type": "ToolCalled", "tool": "search", "call_id": fmt.Sprint(i), "event_id": fmt.Sprintf("c%d-%d", c, i),
						}})
						if err != nil || res.IsError {
							b.Errorf("record_event: %v %v", err, res)
							return
						}
						lat[c] = append(lat[c], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			p50, p99 := percentiles(all)
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "calls/s")
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
		})
	}
}
