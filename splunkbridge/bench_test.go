package splunkbridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
	"github.com/agentscope/agentscope/splunkbridge/internal/eventgen"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// benchStores are the store kinds benchmarked: SQLite always, Postgres
// when AGENTSCOPE_TEST_DATABASE_URL is set. Each call opens a fresh, empty
// store.
var benchStores = []struct {
	name string
	open func(b *testing.B, opts sqlstore.Options) *sqlstore.Store
}{
	{"sqlite", func(b *testing.B, opts sqlstore.Options) *sqlstore.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s.Store
	}},
	{"postgres", func(b *testing.B, opts sqlstore.Options) *sqlstore.Store {
		s, err := postgres.Open(context.Background(), pgtest.URL(b), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s.Store
	}},
}

// drain forwards everything in store to a local hectest server and
// returns how long it took.
func drain(b *testing.B, store *sqlstore.Store, events int) time.Duration {
	b.Helper()
	hec := hectest.New(hectest.Options{Token: testToken, DiscardEvents: true})
	defer hec.Close()
	f, err := splunkbridge.NewForwarder(store, splunkbridge.HECConfig{URL: hec.URL(), Token: testToken},
		splunkbridge.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := f.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer f.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := f.WaitProgress(ctx, func(p splunkbridge.Progress) bool { return p.Delivered >= int64(events) }); err != nil {
		b.Fatalf("drain: %v (%+v)", err, f.Progress())
	}
	return time.Since(start)
}

// seedBench appends at least n events in sessions of 100.
func seedBench(b *testing.B, store *sqlstore.Store, org string, n int) int {
	b.Helper()
	spec := eventgen.Spec{OrgID: org, Sessions: (n + 99) / 100, PerSession: 100}
	if _, err := spec.Seed(context.Background(), store); err != nil {
		b.Fatal(err)
	}
	return spec.Events()
}

// BenchmarkForward measures forwarding throughput, outbox to a local HEC,
// in events per second; one op is one event.
func BenchmarkForward(b *testing.B) {
	for _, kind := range benchStores {
		b.Run(kind.name, func(b *testing.B) {
			store := kind.open(b, sqlstore.Options{Outbox: true})
			n := seedBench(b, store, "bench", b.N)
			b.ResetTimer()
			elapsed := drain(b, store, n)
			b.StopTimer()
			b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkDrain measures the time to drain a backlog of
// AGENTSCOPE_BENCH_BACKLOG events (default 100,000; the target is
// 1,000,000). Run it with -benchtime=1x.
func BenchmarkDrain(b *testing.B) {
	backlog := 100_000
	if v := os.Getenv("AGENTSCOPE_BENCH_BACKLOG"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("AGENTSCOPE_BENCH_BACKLOG=%q is not a positive number", v)
		}
		backlog = n
	}
	for _, kind := range benchStores {
		b.Run(fmt.Sprintf("%s/backlog=%d", kind.name, backlog), func(b *testing.B) {
			var total time.Duration
			for i := range b.N {
				b.StopTimer()
				store := kind.open(b, sqlstore.Options{Outbox: true})
				n := seedBench(b, store, fmt.Sprintf("bench%d", i), backlog)
				b.StartTimer()
				total += drain(b, store, n)
			}
			b.ReportMetric(float64(backlog*b.N)/total.Seconds(), "events/s")
		})
	}
}

// BenchmarkIngestWithOutbox measures Append throughput with the outbox on
// and off on the same store kind: the cost forwarding adds to ingest. One
// op is one group commit of 10 new sessions of 100 events, so the commit's
// fsync does not drown the per-event work.
func BenchmarkIngestWithOutbox(b *testing.B) {
	const sessions, perSession = 10, 100
	for _, kind := range benchStores {
		for _, outbox := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/outbox=%t", kind.name, outbox), func(b *testing.B) {
				store := kind.open(b, sqlstore.Options{Outbox: outbox})
				ctx := context.Background()
				b.ResetTimer()
				for i := range b.N {
					reqs := make([]agentscope.AppendRequest, sessions)
					for j := range reqs {
						req := agentscope.AppendRequest{OrgID: "bench", SessionID: fmt.Sprintf("s-%d-%d", i, j),
							Start: &agentscope.Run{Agent: "planner", Status: agentscope.StatusRunning, CreatedAt: t0}}
						for k := range perSession {
							req.Events = append(req.Events, agentscope.Event{Type: agentscope.ModelInvoked, TS: t0.Add(time.Duration(k) * time.Millisecond),
								Provider: "openai", Model: "gpt-4.1", Attributes: map[string]any{"k": strconv.Itoa(k)}})
						}
						reqs[j] = req
					}
					for _, res := range store.Append(ctx, reqs) {
						if res.Err != nil {
							b.Fatal(res.Err)
						}
					}
				}
				b.ReportMetric(float64(b.N*sessions*perSession)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
