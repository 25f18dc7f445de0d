package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/agentscope/agentscope/internal/metrics"
)

// openMetrics builds the process's metrics: its counters, and the gauges
// read from the store at scrape time (the outbox, dead letters, runs by
// state: every node sharing the database reports the same).
func openMetrics(a *App, log *slog.Logger) *metrics.Metrics {
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
			st := metrics.SharedState{OutboxDepth: ob.QueueDepth, OutboxOldest: ob.OldestCreated, DeadLetters: ob.DeadLetters, Runs: map[string]int64{}}
			for s, n := range runs {
				st.Runs[string(s)] = n
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
