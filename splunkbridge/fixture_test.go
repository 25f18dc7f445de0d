package splunkbridge_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
	"github.com/agentscope/agentscope/splunkbridge/internal/eventgen"
	"github.com/agentscope/agentscope/splunkbridge/internal/fakeclock"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

const (
	testToken = "hec-token-0123456789"
	testOrg   = "acme"
	poison    = eventgen.Poison
)

var t0 = eventgen.T0

// The store is the forwarder's outbox.
var _ splunkbridge.Outbox = (*sqlstore.Store)(nil)

// fixture is one test's store, HEC and logs.
type fixture struct {
	t     *testing.T
	store *sqlite.Store
	hec   *hectest.Server
	// clock is nil when the test runs on real time.
	clock *fakeclock.Clock
	logs  *syncBuffer
}

// newFixture opens a SQLite store with the outbox on and starts a HEC.
// With fake, store and forwarder share a clock the test advances.
func newFixture(t *testing.T, hopts hectest.Options, fake bool) *fixture {
	t.Helper()
	fx := &fixture{t: t, logs: &syncBuffer{}}
	opts := sqlstore.Options{Outbox: true}
	if fake {
		fx.clock = fakeclock.New(t0)
		opts.Now = fx.clock.Now
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "agentscope.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fx.store = s
	if hopts.Token == "" {
		hopts.Token = testToken
	}
	fx.hec = hectest.New(hopts)
	t.Cleanup(fx.hec.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("forwarder logs:\n%s", fx.logs.String())
		}
	})
	return fx
}

// config returns a HEC configuration for the fixture's server.
func (fx *fixture) config() splunkbridge.HECConfig {
	return splunkbridge.HECConfig{URL: fx.hec.URL(), Token: testToken, Index: "agentscope", Host: "test-host"}
}

// start builds and starts a forwarder; the test's end stops it.
func (fx *fixture) start(cfg splunkbridge.HECConfig, opts ...splunkbridge.Option) *splunkbridge.Forwarder {
	fx.t.Helper()
	return fx.startOver(fx.store, cfg, opts...)
}

// startOver is start with the forwarder reading and writing out, which
// wraps the fixture's store.
func (fx *fixture) startOver(out splunkbridge.Outbox, cfg splunkbridge.HECConfig, opts ...splunkbridge.Option) *splunkbridge.Forwarder {
	fx.t.Helper()
	base := []splunkbridge.Option{
		splunkbridge.WithLogger(slog.New(slog.NewJSONHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		splunkbridge.WithOwner("fwd-" + fx.t.Name()),
	}
	if fx.clock != nil {
		// A health poll far apart from every other wait, so waitClock
		// never mistakes one for the other.
		base = append(base, splunkbridge.WithClock(fx.clock), splunkbridge.WithHealthInterval(97*time.Minute))
	} else {
		base = append(base, splunkbridge.WithBackoff(time.Millisecond, 20*time.Millisecond), splunkbridge.WithPollInterval(20*time.Millisecond))
	}
	f, err := splunkbridge.NewForwarder(out, cfg, append(base, opts...)...)
	if err != nil {
		fx.t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		fx.t.Fatal(err)
	}
	fx.t.Cleanup(f.Stop)
	return f
}

// seed appends sessions × perSession events (a SessionStarted, then model
// invocations) and returns them as stored, in order. Events for which
// poisoned(i) holds, i counting all events from 0, carry the poison marker.
func (fx *fixture) seed(sessions, perSession int, poisoned func(i int) bool) []agentscope.Event {
	fx.t.Helper()
	return seedStore(fx.t, fx.store, testOrg, sessions, perSession, poisoned)
}

func seedStore(t testing.TB, s agentscope.Store, orgID string, sessions, perSession int, poisoned func(i int) bool) []agentscope.Event {
	t.Helper()
	evs, err := eventgen.Spec{OrgID: orgID, Sessions: sessions, PerSession: perSession, Poisoned: poisoned}.Seed(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// key is hectest's identity of an event.
func key(orgID string, ev agentscope.Event) string {
	return orgID + "/" + ev.SessionID + "/" + ev.EventID
}

// waitSettled waits until the forwarder has delivered or dead-lettered n
// events.
func waitSettled(t *testing.T, f *splunkbridge.Forwarder, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.WaitProgress(ctx, func(p splunkbridge.Progress) bool { return p.Delivered+p.DeadLettered >= int64(n) }); err != nil {
		t.Fatalf("waiting for %d events to settle: %v (progress %+v)", n, err, f.Progress())
	}
}

// waitClock waits until the code under test waits on the fake clock for
// exactly d, or fails the test.
func (fx *fixture) waitClock(d time.Duration) {
	fx.t.Helper()
	fx.waitClockFor(fmt.Sprintf("a wait of %s", d), func(p time.Duration) bool { return p == d })
}

func (fx *fixture) waitClockFor(what string, match func(time.Duration) bool) time.Duration {
	fx.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var found time.Duration
	err := fx.clock.BlockUntil(ctx, func(pending []time.Duration) bool {
		for _, p := range pending {
			if match(p) {
				found = p
				return true
			}
		}
		return false
	})
	if err != nil {
		fx.t.Fatalf("waiting for %s on the clock: %v (pending %v)", what, err, fx.clock.Pending())
	}
	return found
}

// waitFailures waits until the forwarder has seen n failed requests.
func waitFailures(t *testing.T, f *splunkbridge.Forwarder, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitProgress(ctx, func(p splunkbridge.Progress) bool { return p.Failures >= int64(n) }); err != nil {
		t.Fatalf("waiting for %d failures: %v (progress %+v)", n, err, f.Progress())
	}
}

func (fx *fixture) outboxStats() agentscope.OutboxStats {
	fx.t.Helper()
	st, err := fx.store.OutboxStats(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	return st
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
