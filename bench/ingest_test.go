package bench

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
)

const (
	ingestWriters = 8
	ingestBatch   = 500
)

// BenchmarkIngest measures batch ingest through the recorder: 8 writers,
// each committing batches of 500 events into its own session.
func BenchmarkIngest(b *testing.B) { benchmarkIngest(b, nil) }

// BenchmarkIngestWithMetrics is BenchmarkIngest with the recorder counting
// into Prometheus metrics, as serve runs it: the two should not differ.
func BenchmarkIngestWithMetrics(b *testing.B) { benchmarkIngest(b, metrics.New(metrics.Options{})) }

func benchmarkIngest(b *testing.B, m *metrics.Metrics) {
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			st, committers := k.open(b)
			r := recorder.New(st, recorder.Options{Committers: committers, MaxBatchEvents: 4000, Metrics: m})
			defer r.Close()
			for w := range ingestWriters {
				startSession(b, r, "o", fmt.Sprintf("w%d", w))
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			per := (b.N + ingestWriters - 1) / ingestWriters
			for w := range ingestWriters {
				wg.Add(1)
				go func() {
					defer wg.Done()
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
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(per*ingestWriters)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkIngestRawFloor writes the same rows the fastest way the database
// allows, with no validation, seq assignment or run bookkeeping: one SQLite
// transaction of prepared inserts; pgx CopyFrom on Postgres.
func BenchmarkIngestRawFloor(b *testing.B) {
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			st, _ := k.open(b)
			rows := make([][]any, b.N)
			for i := range rows {
				ev := modelEvent(i)
				ev.SessionID, ev.Seq, ev.Agent = "raw", int64(i+1), "bench"
				body, _ := ev.MarshalCanonical()
				rows[i] = []any{"o", "raw", ev.Seq, ev.EventID, string(ev.Type), ev.Agent, ev.TS.UnixMicro(), string(body)}
			}
			b.ResetTimer()
			start := time.Now()
			switch s := st.(type) {
			case *sqlite.Store:
				rawSQLite(b, s.WriteDB(), rows)
			case *postgres.Store:
				n, err := s.Pool().CopyFrom(context.Background(), pgx.Identifier{"events"},
					[]string{"org_id", "session_id", "seq", "event_id", "type", "agent", "ts", "body"}, pgx.CopyFromRows(rows))
				if err != nil || n != int64(len(rows)) {
					b.Fatalf("copy: %d rows, %v", n, err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

func rawSQLite(b *testing.B, db *sql.DB, rows [][]any) {
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO events (org_id, session_id, seq, event_id, type, agent, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		if _, err := stmt.Exec(r...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
