package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// BenchmarkReplayPage10k is the server's time to render the replay page of
// a 10,000-event session (target: at most 100 ms): the waterfall and
// totals over every event, and the first page of the list.
func BenchmarkReplayPage10k(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rec := recorder.New(st, recorder.Options{})
	defer rec.Close()
	svc := service.New(rec, service.Options{})
	ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-1"))
	if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "bench", SessionID: "big"}); err != nil {
		b.Fatal(err)
	}
	start := time.Now().UTC()
	var raws []json.RawMessage
	for i := 0; len(raws) < 9_999; i++ {
		ts := start.Add(time.Duration(i) * 2 * time.Second)
		for _, ev := range []string{
			fmt.Sprintf(`{"type":"ModelInvoked","provider":"openai","model":"gpt-4o","span_id":"m%d","ts":%q}`, i, ts.Format(time.RFC3339Nano)),
			fmt.Sprintf(`{"type":"ModelCompleted","provider":"openai","model":"gpt-4o","span_id":"m%d","duration_ms":900,"tokens_in":1800,"tokens_out":240,"ts":%q}`, i, ts.Add(900*time.Millisecond).Format(time.RFC3339Nano)),
			fmt.Sprintf(`{"type":"CostRecorded","span_id":"m%d","amount_usd":0.0125,"ts":%q}`, i, ts.Add(900*time.Millisecond).Format(time.RFC3339Nano)),
			fmt.Sprintf(`{"type":"ToolCalled","tool":"search_docs","call_id":"c%d","parent_span_id":"m%d","arguments":{"query":"refund policy"},"ts":%q}`, i, i, ts.Add(time.Second).Format(time.RFC3339Nano)),
			fmt.Sprintf(`{"type":"ToolReturned","tool":"search_docs","call_id":"c%d","duration_ms":180,"status":"ok","result":{"hits":3},"ts":%q}`, i, ts.Add(1180*time.Millisecond).Format(time.RFC3339Nano)),
		} {
			raws = append(raws, json.RawMessage(ev))
		}
	}
	raws = raws[:9_999]
	for i := 0; i < len(raws); i += 1000 {
		if _, err := svc.Record(ctx, "big", raws[i:min(i+1000, len(raws))]); err != nil {
			b.Fatal(err)
		}
	}
	h := web.New(svc, web.Options{Tokens: map[string]string{token: "org-1"}})
	login := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(login, req)
	cookie := login.Result().Cookies()[0]
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/sessions/big", nil)
		r.AddCookie(cookie)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="ev-500"`) {
			b.Fatalf("replay page: %d", w.Code)
		}
	}
}

// stampingHub notes when each event was published, right after its
// commit, before handing it to the in-process hub.
type stampingHub struct {
	*recorder.MemHub
	at sync.Map // event_id → time.Time
}

func (h *stampingHub) Publish(org string, evs []agentscope.Event) {
	now := time.Now()
	for _, ev := range evs {
		h.at.Store(ev.EventID, now)
	}
	h.MemHub.Publish(org, evs)
}

// BenchmarkLiveFanout200 is commit-to-delivery latency with 200 websocket
// subscribers on one session (target: p99 at most 50 ms). Each event is
// committed once every subscriber has the previous one.
func BenchmarkLiveFanout200(b *testing.B) {
	const subscribers = 200
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hub := &stampingHub{MemHub: recorder.NewMemHub()}
	rec := recorder.New(st, recorder.Options{Hub: hub})
	defer rec.Close()
	svc := service.New(rec, service.Options{})
	srv := httptest.NewServer(web.New(svc, web.Options{Tokens: map[string]string{token: "org-1"}, Hub: hub}))
	defer srv.Close()
	ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-1"))
	if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "bench", SessionID: "fan"}); err != nil {
		b.Fatal(err)
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		got       = make(chan struct{}, subscribers)
	)
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/sessions/fan/live?from_seq=1"
	for range subscribers {
		c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		go func() {
			for {
				var ev agentscope.Event
				if err := c.ReadJSON(&ev); err != nil {
					return
				}
				if at, ok := hub.at.Load(ev.EventID); ok {
					d := time.Since(at.(time.Time))
					mu.Lock()
					latencies = append(latencies, d)
					mu.Unlock()
				}
				got <- struct{}{}
			}
		}()
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n++
		raw := json.RawMessage(fmt.Sprintf(`{"type":"ToolCalled","tool":"t","call_id":"c%d"}`, n))
		if _, err := svc.Record(ctx, "fan", []json.RawMessage{raw}); err != nil {
			b.Fatal(err)
		}
		for range subscribers {
			<-got
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	if len(latencies) == 0 {
		b.Fatal("no deliveries")
	}
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
