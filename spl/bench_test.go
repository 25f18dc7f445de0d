package spl

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// Benchmarks run with:
//
//	go test -run '^$' -bench . -benchtime 3x ./spl/
//
// AGENTSCOPE_BENCH_EVENTS sets the dataset size (default 100000; the
// target is 1000000); Postgres runs too when AGENTSCOPE_TEST_DATABASE_URL
// is set.

const benchOrg = "bench"

func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("AGENTSCOPE_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// benchBackend is a loaded store and its database, for the hand-written
// SQL beside the engine.
type benchBackend struct {
	name  string
	store agentscope.Store
	db    *sql.DB
	// sessionID is a session the timeline benchmark reads.
	sessionID string
}

func benchBackends(b *testing.B, run func(b *testing.B, be benchBackend)) {
	n := benchEvents()
	b.Run("sqlite", func(b *testing.B) {
		st := openSQLite(b)
		run(b, benchBackend{name: "sqlite", store: st, db: st.ReadDB(), sessionID: loadBench(b, st, n)})
	})
	b.Run("postgres", func(b *testing.B) {
		st := openPostgres(b)
		run(b, benchBackend{name: "postgres", store: st, db: st.ReadDB(), sessionID: loadBench(b, st, n)})
	})
}

// loadBench appends n events through Store.Append in big batches: sessions
// of 50 events (ModelCompleted and ToolCalled in turn), 100 sessions per
// call. It returns the id of a session in the middle.
func loadBench(b *testing.B, st agentscope.Store, n int) string {
	b.Helper()
	start := time.Now()
	const perSession, perCall = 50, 100
	agents := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	ms := []string{"gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4", "claude-haiku-4"}
	seed := uint64(42)
	rnd := func(m uint64) uint64 {
		seed = seed*6364136223846793005 + 1442695040888963407
		return (seed >> 33) % m
	}
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var reqs []agentscope.AppendRequest
	flush := func() {
		for i, res := range st.Append(context.Background(), reqs) {
			if res.Err != nil {
				b.Fatalf("load %s: %v", reqs[i].SessionID, res.Err)
			}
		}
		reqs = reqs[:0]
	}
	sessions := (n + perSession - 1) / perSession
	for s := range sessions {
		id := fmt.Sprintf("b%07d", s)
		agent := agents[s%len(agents)]
		at := t0.Add(time.Duration(s) * 30 * time.Second)
		evs := make([]agentscope.Event, 0, perSession)
		for k := range min(perSession, n-s*perSession) {
			ts := at.Add(time.Duration(k) * 100 * time.Millisecond)
			if k%2 == 0 {
				in, out := int64(100+rnd(4000)), int64(10+rnd(500))
				evs = append(evs, agentscope.Event{Type: agentscope.ModelCompleted, TS: ts, Provider: "p", Model: ms[rnd(uint64(len(ms)))],
					DurationMS: f64(float64(50+rnd(3000)) + float64(rnd(10))/10), TokensIn: &in, TokensOut: &out})
			} else {
				evs = append(evs, agentscope.Event{Type: agentscope.ToolCalled, TS: ts, Tool: "search", CallID: fmt.Sprintf("c%d", k)})
			}
		}
		reqs = append(reqs, agentscope.AppendRequest{OrgID: benchOrg, SessionID: id,
			Start: &agentscope.Run{Agent: agent, Status: agentscope.StatusRunning, CreatedAt: at}, Events: evs})
		if len(reqs) == perCall {
			flush()
		}
	}
	if len(reqs) > 0 {
		flush()
	}
	b.Logf("loaded %d events in %d sessions in %v", n, sessions, time.Since(start).Round(time.Millisecond))
	return fmt.Sprintf("b%07d", sessions/2)
}

// peakHeap samples HeapInuse while fn runs and returns the peak, in bytes.
func peakHeap(fn func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
	}
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	sample()
	return peak.Load()
}

const benchStatsQuery = `sourcetype="agentscope:events" type=ModelCompleted | stats count avg(duration_ms) perc95(duration_ms) by agent, model`

// statsSQL is the same table computed by the database: count, mean and
// the nearest-rank 95th percentile per agent and model.
func statsSQL(dialect string) string {
	model, dur, ph := `json_extract(body, '$.model')`, `json_extract(body, '$.duration_ms')`, "?"
	if dialect == "postgres" {
		model, dur, ph = `(body::jsonb->>'model')`, `(body::jsonb->>'duration_ms')::float8`, "$1"
	}
	return `WITH d AS (SELECT agent, ` + model + ` AS model, ` + dur + ` AS dur FROM events WHERE org_id = ` + ph + ` AND type = 'ModelCompleted'),
r AS (SELECT agent, model, dur, ROW_NUMBER() OVER (PARTITION BY agent, model ORDER BY dur) - 1 AS rn, COUNT(*) OVER (PARTITION BY agent, model) AS n FROM d)
SELECT agent, model, COUNT(*), AVG(dur), MAX(CASE WHEN rn = (95 * n) / 100 THEN dur END) FROM r GROUP BY agent, model ORDER BY agent, model`
}

type statsRow struct {
	agent, model string
	count        int64
	avg, p95     float64
}

func runStatsSQL(b *testing.B, be benchBackend) []statsRow {
	rows, err := be.db.QueryContext(context.Background(), statsSQL(be.name), benchOrg)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out []statsRow
	for rows.Next() {
		var r statsRow
		if err := rows.Scan(&r.agent, &r.model, &r.count, &r.avg, &r.p95); err != nil {
			b.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

func runStatsSPL(b *testing.B, eng *Engine) []statsRow {
	res, err := eng.Run(context.Background(), benchOrg, benchStatsQuery, QueryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	num := func(v any) float64 {
		switch x := v.(type) {
		case int64:
			return float64(x)
		case float64:
			return x
		}
		return math.NaN()
	}
	var out []statsRow
	for _, r := range res.Rows {
		out = append(out, statsRow{agent: r["agent"].(string), model: r["model"].(string), count: int64(num(r["count"])),
			avg: num(r["avg(duration_ms)"]), p95: num(r["perc95(duration_ms)"])})
	}
	return out
}

func BenchmarkStatsByAgentModel(b *testing.B) {
	benchBackends(b, func(b *testing.B, be benchBackend) {
		eng := New(be.store, Options{Host: "bench"})
		// The two answers must agree before either is timed.
		want, got := runStatsSQL(b, be), runStatsSPL(b, eng)
		if len(want) != len(got) {
			b.Fatalf("SQL has %d groups, SPL %d", len(want), len(got))
		}
		for i := range want {
			w, g := want[i], got[i]
			if w.agent != g.agent || w.model != g.model || w.count != g.count || math.Abs(w.avg-g.avg) > 1e-6*w.avg || w.p95 != g.p95 {
				b.Fatalf("group %d: SQL %+v, SPL %+v", i, w, g)
			}
		}
		b.Run("spl", func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				peak = max(peak, peakHeap(func() { runStatsSPL(b, eng) }))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
		b.Run("sql", func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				peak = max(peak, peakHeap(func() { runStatsSQL(b, be) }))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	})
}

func BenchmarkSessionTimeline(b *testing.B) {
	benchBackends(b, func(b *testing.B, be benchBackend) {
		eng := New(be.store, Options{Host: "bench"})
		q := `session_id=` + be.sessionID + ` | table _time type tool duration_ms`
		b.ReportAllocs()
		var peak uint64
		for b.Loop() {
			peak = max(peak, peakHeap(func() {
				res, err := eng.Run(context.Background(), benchOrg, q, QueryOptions{})
				if err != nil || len(res.Rows) == 0 {
					b.Fatalf("%s: %d rows, %v", q, len(res.Rows), err)
				}
			}))
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}
