package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
)

// openMetrics builds the process's metrics: its counters, and the gauges
// read from the store at scrape time (the outbox, dead letters, runs by
// state: every node sharing the database reports the same).
func openMetrics(a *App, log *slog.Logger) *metrics.Metrics {
	finished := &finishedRuns{read: a.Store.FinishedRunCounts}
	return metrics.New(metrics.Options{
		Logger: log,
		State: func(ctx context.Context) (metrics.SharedState, error) {
			ob, err := a.Store.OutboxStats(ctx)
			if err != nil {
				return metrics.SharedState{}, err
			}
			runs, err := a.Store.UnfinishedRunCounts(ctx)
			if err != nil {
				return metrics.SharedState{}, err
			}
			done, err := finished.get(ctx)
			if err != nil {
				return metrics.SharedState{}, err
			}
			st := metrics.SharedState{OutboxDepth: ob.QueueDepth, OutboxOldest: ob.OldestCreated, DeadLetters: ob.DeadLetters, Runs: map[string]int64{}}
			for _, counts := range []map[agentscope.RunStatus]int64{runs, done} {
				for s, n := range counts {
					st.Runs[string(s)] = n
				}
			}
			return st, nil
		},
		LiveSubscribers: func() int {
			// Both hubs (recorder.MemHub, pghub.Hub) count theirs.
			if h, ok := a.Hub.(interface{ Subscribers() int }); ok {
				return h.Subscribers()
			}
			return 0
		},
	})
}

// finishedRunsTTL is how long the counts of finished runs are reused
// between scrapes: counting them reads every finished run, while the
// unfinished ones, which an index covers, are counted at each scrape.
const finishedRunsTTL = time.Minute

// finishedRuns caches the counts of finished runs for finishedRunsTTL.
type finishedRuns struct {
	read func(context.Context) (map[agentscope.RunStatus]int64, error)

	mu     sync.Mutex
	at     time.Time
	counts map[agentscope.RunStatus]int64
}

func (f *finishedRuns) get(ctx context.Context) (map[agentscope.RunStatus]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts != nil && time.Since(f.at) < finishedRunsTTL {
		return f.counts, nil
	}
	counts, err := f.read(ctx)
	if err != nil {
		return nil, err
	}
	f.counts, f.at = counts, time.Now()
	return counts, nil
}

// serveMetrics serves /metrics without authentication on
// AGENTSCOPE_METRICS_ADDR, when set, until the returned stop is called.
func serveMetrics(env *Env, cfg Config, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("AGENTSCOPE_METRICS_ADDR: listen on %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve metrics", "addr", cfg.MetricsAddr, "err", err)
		}
	}()
	fmt.Fprintf(env.Stderr, "  Metrics:        http://%s/metrics (AGENTSCOPE_METRICS_ADDR, no authentication)\n", ln.Addr())
	if env.MetricsReady != nil {
		env.MetricsReady(ln.Addr().String())
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}, nil
}
