package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web"
)

// gatewayAnswer is a chat completion as OpenAI answers one.
const gatewayAnswer = `{"id":"chatcmpl-bench","object":"chat.completion","created":1764838800,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"The capital of France is Paris.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":8,"total_tokens":32,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_bench"}`

const gatewayRequest = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is the capital of France?"}]}`

// BenchmarkGateway measures the LLM gateway in one run against a provider
// that answers at once (a fixed chat completion): the latency a
// non-streaming call through the gateway adds over the same call made
// directly to the provider (one client, calls interleaved so both meet the
// same machine; added-p50_ms and added-p99_ms are the differences of the
// percentiles), and the calls/s 32 concurrent clients get through it. The
// gateway is the one serve mounts, behind the instance-token
// authentication, recording each call (ModelInvoked, ModelCompleted,
// CostRecorded) into the store as serve does; records it had to drop
// are reported (dropped).
func BenchmarkGateway(b *testing.B) {
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, gatewayAnswer)
			}))
			defer upstream.Close()
			st, _ := k.open(b)
			rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
			defer rec.Close()
			svc := service.New(rec, service.Options{})
			gw := gateway.New(svc, gateway.Options{Upstreams: []gateway.Upstream{{Name: "openai", API: gateway.OpenAI, BaseURL: upstream.URL + "/v1", APIKey: "sk-bench"}}})
			const token = "bench-token-0123456789"
			srv := httptest.NewServer(web.New(svc, web.Options{Tokens: map[string]string{token: "org-bench"}, Gateway: gw, LivePoll: time.Hour}))
			defer srv.Close()
			defer gw.Close()

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			call := func(url, key string) time.Duration {
				req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(gatewayRequest))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set(gateway.HeaderAgent, "bench-agent")
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != 200 || string(body) != gatewayAnswer {
					b.Fatalf("%s: %d %s", url, resp.StatusCode, body)
				}
				return d
			}
			for range 200 { // warm connections and caches
				call(upstream.URL, "sk-bench")
				call(srv.URL, token)
			}
			b.ResetTimer()
			direct := make([]time.Duration, 0, b.N)
			through := make([]time.Duration, 0, b.N)
			for range b.N {
				direct = append(direct, call(upstream.URL, "sk-bench"))
				through = append(through, call(srv.URL, token))
			}
			const clients = 32
			var wg sync.WaitGroup
			start := time.Now()
			for c := range clients {
				n := b.N / clients
				if c < b.N%clients {
					n++
				}
				wg.Go(func() {
					for range n {
						call(srv.URL, token)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := gw.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			pct := func(ds []time.Duration, p float64) time.Duration {
				s := slices.Clone(ds)
				slices.Sort(s)
				return s[min(len(s)-1, int(float64(len(s))*p))]
			}
			msOf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(msOf(pct(direct, 0.5)), "direct-p50_ms")
			b.ReportMetric(msOf(pct(direct, 0.99)), "direct-p99_ms")
			b.ReportMetric(msOf(pct(through, 0.5)), "gateway-p50_ms")
			b.ReportMetric(msOf(pct(through, 0.99)), "gateway-p99_ms")
			b.ReportMetric(msOf(pct(through, 0.5)-pct(direct, 0.5)), "added-p50_ms")
			b.ReportMetric(msOf(pct(through, 0.99)-pct(direct, 0.99)), "added-p99_ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
			stats := gw.Stats("org-bench")
			b.ReportMetric(float64(stats.Dropped+stats.Failed), "dropped")
			if stats.Failed+stats.Dropped > 0 {
				b.Logf("records not committed: %d dropped, %d failed (%s)", stats.Dropped, stats.Failed, stats.LastError)
			}
		})
	}
}
