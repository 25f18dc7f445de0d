package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/redact"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

type storeKind struct {
	name string
	open func(b *testing.B) (agentscope.Store, int)
}

// kinds returns the stores to measure; Postgres only when configured.
func kinds() []storeKind {
	ks := []storeKind{{"sqlite", func(b *testing.B) (agentscope.Store, int) {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), storeOptions(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s, 1
	}}}
	if os.Getenv("AGENTSCOPE_TEST_DATABASE_URL") != "" {
		ks = append(ks, storeKind{"postgres", func(b *testing.B) (agentscope.Store, int) {
			s, err := postgres.Open(context.Background(), pgtest.URL(b), storeOptions(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s, 2
		}})
	}
	return ks
}

// storeOptions are a store's options as serve sets them where they cost
// time on the ingest path: the default redaction rules on every append,
// and the billing plans asked at every commit (billing.Shared), off.
func storeOptions(b *testing.B) sqlstore.Options {
	red, err := redact.New(nil, true)
	if err != nil {
		b.Fatal(err)
	}
	shared := billing.NewShared(billing.SharedOptions{})
	return sqlstore.Options{Redactor: red, UsageSource: func() sqlstore.UsagePolicy {
		if p := shared.ForCommit(); p != nil {
			return p
		}
		return nil
	}}
}

func startSession(b *testing.B, r *recorder.Recorder, org, sid string) {
	b.Helper()
	now := time.Now().UTC()
	if _, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: org, SessionID: sid,
		Start:  &agentscope.Run{Agent: "bench", Status: agentscope.StatusRunning, StartedAt: &now},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bench", TS: now}}}); err != nil {
		b.Fatal(err)
	}
}

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }

// modelEvent is a realistic ModelCompleted event.
func modelEvent(i int) agentscope.Event {
	return agentscope.Event{
		EventID: fmt.Sprintf("e%d", i), Type: agentscope.ModelCompleted, TS: time.Now().UTC(),
		Provider: "openai", Model: "gpt-4.1", DurationMS: f64(812.5), TokensIn: i64(1200), TokensOut: i64(80),
		CacheReadTokens: i64(1000), FinishReason: "stop", SpanID: fmt.Sprintf("m%d", i),
		Attributes: map[string]any{"region": "eu-west-1", "stream": true},
	}
}

// percentiles returns p50 and p99 of ds.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return at(0.50), at(0.99)
}
