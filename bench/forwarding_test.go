package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

const hecToken = "bench-hec-token-0123456789"

// BenchmarkIngestForwarding measures batch ingest through the recorder, as
// BenchmarkIngest does, with Splunk forwarding off (no outbox) and on (an
// outbox entry beside every event, and a forwarder draining it to a local
// HEC test server while the writers commit, woken after each commit as
// `agentscope serve` wires it). The ratio of the two is the overhead
// forwarding adds to ingest; delivered/s is what the forwarder kept up with
// meanwhile.
func BenchmarkIngestForwarding(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		for _, forwarding := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/forwarding=%t", name, forwarding), func(b *testing.B) {
				st, committers := openOutboxStore(b, name, forwarding)
				var observers []func(string, []agentscope.Event)
				var fwd *splunkbridge.Forwarder
				if forwarding {
					hec := hectest.New(hectest.Options{Token: hecToken, DiscardEvents: true})
					b.Cleanup(hec.Close)
					f, err := splunkbridge.NewForwarder(st, splunkbridge.HECConfig{URL: hec.URL(), Token: hecToken},
						splunkbridge.WithLogger(slog.New(slog.DiscardHandler)))
					if err != nil {
						b.Fatal(err)
					}
					if err := f.Start(context.Background()); err != nil {
						b.Fatal(err)
					}
					b.Cleanup(f.Stop)
					fwd = f
					observers = append(observers, func(string, []agentscope.Event) { f.Notify() })
				}
				r := recorder.New(st, recorder.Options{Committers: committers, MaxBatchEvents: 4000, Observers: observers})
				defer r.Close()
				for w := range ingestWriters {
					startSession(b, r, "o", fmt.Sprintf("w%d", w))
				}
				var delivered0 int64
				if fwd != nil {
					// The sessions' first events go out before the clock starts.
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					if err := fwd.WaitProgress(ctx, func(p splunkbridge.Progress) bool { return p.Delivered >= ingestWriters }); err != nil {
						b.Fatalf("forward the session starts: %v", err)
					}
					delivered0 = fwd.Progress().Delivered
				}
				b.ResetTimer()
				start := time.Now()
				n := ingestConcurrently(b, r, b.N)
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
				if fwd != nil {
					b.ReportMetric(float64(fwd.Progress().Delivered-delivered0)/elapsed.Seconds(), "delivered/s")
				}
			})
		}
	}
}

// ingestConcurrently commits about n events through r from ingestWriters
// goroutines, each in its own session w0…w7 in batches of ingestBatch, and
// returns how many it committed.
func ingestConcurrently(b *testing.B, r *recorder.Recorder, n int) int {
	per := (n + ingestWriters - 1) / ingestWriters
	var wg sync.WaitGroup
	for w := range ingestWriters {
		wg.Go(func() {
			for done := 0; done < per; done += ingestBatch {
				evs := make([]agentscope.Event, min(ingestBatch, per-done))
				for i := range evs {
					evs[i] = modelEvent(done + i)
				}
				if _, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: fmt.Sprintf("w%d", w), Events: evs}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return per * ingestWriters
}

// openOutboxStore opens a fresh store of the named kind with the outbox on
// or off, and the number of committers the app gives it. Postgres is
// skipped when it is not configured or not reachable, unless
// AGENTSCOPE_TEST_POSTGRES=required.
func openOutboxStore(b *testing.B, name string, outbox bool) (*sqlstore.Store, int) {
	b.Helper()
	opts := sqlstore.Options{Outbox: outbox}
	if name == "sqlite" {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s.Store, 1
	}
	requirePostgres(b)
	s, err := postgres.Open(context.Background(), pgtest.URL(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s.Store, 2
}

// requirePostgres skips b when the test Postgres is not configured or does
// not answer, and fails it instead when AGENTSCOPE_TEST_POSTGRES=required.
func requirePostgres(b *testing.B) {
	b.Helper()
	skip := b.Skipf
	if os.Getenv("AGENTSCOPE_TEST_POSTGRES") == "required" {
		skip = b.Fatalf
	}
	url := os.Getenv("AGENTSCOPE_TEST_DATABASE_URL")
	if url == "" {
		skip("Postgres benchmarks are off: set AGENTSCOPE_TEST_DATABASE_URL (make bench does)")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		skip("Postgres at AGENTSCOPE_TEST_DATABASE_URL does not answer: %v", err)
		return
	}
	conn.Close(ctx)
}
