package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
)

// fillSession records n events into one session in batches.
func fillSession(b *testing.B, rec *recorder.Recorder, sid string, n int) {
	startSession(b, rec, "o", sid)
	for done := 1; done < n; done += 1000 {
		evs := make([]agentscope.Event, min(1000, n-done))
		for i := range evs {
			evs[i] = modelEvent(done + i)
		}
		if _, err := rec.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: sid, Events: evs}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplay10k reads a whole 10,000-event session: from the store in
// one query (the canonical JSON as stored, which replay returns), and
// through replay_session's service call page by page (1000 per page), as a
// client pages it.
func BenchmarkReplay10k(b *testing.B) {
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			st, committers := k.open(b)
			rec := recorder.New(st, recorder.Options{Committers: committers})
			defer rec.Close()
			fillSession(b, rec, "big", 10000)
			svc := service.New(rec, service.Options{})
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("o"))
			b.Run("store", func(b *testing.B) {
				for b.Loop() {
					evs, err := st.ListEventBodies(ctx, "o", "big", agentscope.EventFilter{})
					if err != nil || len(evs) != 10000 {
						b.Fatalf("%d events, %v", len(evs), err)
					}
				}
			})
			b.Run("paged", func(b *testing.B) {
				for b.Loop() {
					n, cursor := 0, ""
					for {
						page, err := svc.Replay(ctx, service.ReplayInput{SessionID: "big", Cursor: cursor, Limit: 1000})
						if err != nil {
							b.Fatal(err)
						}
						n += len(page.Events)
						if cursor = page.NextCursor; cursor == "" {
							break
						}
					}
					if n != 10000 {
						b.Fatalf("paged %d events", n)
					}
				}
			})
		})
	}
}

// BenchmarkLiveLatency measures commit-to-websocket latency for one live
// subscriber: the time from Commit returning to the event arriving.
func BenchmarkLiveLatency(b *testing.B) {
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			st, committers := k.open(b)
			hs, _, rec := serve(b, st, committers)
			startSession(b, rec, "o", "live")
			u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/v1/sessions/live/live?from_seq=1"
			c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Authorization": {"Bearer " + benchToken}})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				ev := agentscope.Event{EventID: fmt.Sprint(i), Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Now()}
				if _, err := rec.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: "live", Events: []agentscope.Event{ev}}); err != nil {
					b.Fatal(err)
				}
				committed := time.Now()
				var got json.RawMessage
				if err := c.ReadJSON(&got); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(committed))
			}
			p50, p99 := percentiles(lat)
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
		})
	}
}
