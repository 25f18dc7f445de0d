package pghub_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/recorder/hubtest"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres/pghub"
)

// deadline bounds every wait for a notification; waits end as soon as the
// notification arrives.
const deadline = 10 * time.Second

// channel returns a channel name of the test's own: NOTIFY channels span the
// database, and tests run in parallel on one.
func channel() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "agentscope_test_" + hex.EncodeToString(b)
}

// newPool connects a pool of its own, as a separate process would have.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newHub returns a started hub on its own pool, closed when the test ends.
func newHub(t testing.TB, opts pghub.Options) *pghub.Hub {
	t.Helper()
	h := newUnstartedHub(t, opts)
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return h
}

func newUnstartedHub(t testing.TB, opts pghub.Options) *pghub.Hub {
	t.Helper()
	h, err := pghub.New(newPool(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// twoNodes returns two hubs on one channel, as two processes would be,
// once each has heard the other's hello.
func twoNodes(t *testing.T) (a, b *pghub.Hub) {
	t.Helper()
	ch := channel()
	a, b = newHub(t, pghub.Options{Channel: ch, NodeID: "a"}), newHub(t, pghub.Options{Channel: ch, NodeID: "b"})
	waitPeers(t, a, 1)
	waitPeers(t, b, 1)
	return a, b
}

// waitPeers waits until h has heard from n listening peers.
func waitPeers(t *testing.T, h *pghub.Hub, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	if err := h.WaitPeers(ctx, n); err != nil {
		t.Fatalf("heard from %d peers, want %d: %v", h.Peers(), n, err)
	}
}

// flush waits until what h was asked to publish has been sent.
func flush(t *testing.T, h *pghub.Hub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitPoke waits for sub to be woken and checks it was told to resync.
func waitPoke(t *testing.T, sub *recorder.Subscription) {
	t.Helper()
	select {
	case <-sub.Ready:
	case <-time.After(deadline):
		t.Fatalf("no poke within %v", deadline)
	}
	if _, lagged := sub.Take(); !lagged {
		t.Fatal("woken but not lagged")
	}
}

func events(sid string, seqs ...int64) []agentscope.Event {
	out := make([]agentscope.Event, len(seqs))
	for i, seq := range seqs {
		out[i] = hubtest.Event(sid, seq)
	}
	return out
}

// TestLocalDelivery: for its own process's events the hub behaves as
// MemHub does.
func TestLocalDelivery(t *testing.T) {
	hubtest.Run(t, func(t *testing.T) recorder.Hub {
		return newHub(t, pghub.Options{Channel: channel()})
	})
}

// TestRemotePokes: another process's events poke the subscriptions they
// concern and no others. Each case ends with a sentinel notification sent
// after the case's; once the sentinel's subscription is poked, the case's
// notification has been handled, so its absence can be asserted without
// waiting.
func TestRemotePokes(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	tests := []struct {
		name               string
		subOrg, subSession string
		pubOrg, pubSession string
		want               bool
	}{
		{"same session", "o1", "s1", "o1", "s1", true},
		{"other session", "o1", "s1", "o1", "s2", false},
		{"same session id in other org", "o1", "s1", "o2", "s1", false},
		{"organisation, any session", "o1", "", "o1", "s7", true},
		{"organisation, other org", "o1", "", "o2", "s7", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := a.Subscribe(tc.subOrg, tc.subSession)
			defer sub.Close()
			sentinelID := fmt.Sprintf("case%d", i)
			sentinel := a.Subscribe("sentinel", sentinelID)
			defer sentinel.Close()

			b.Publish(tc.pubOrg, events(tc.pubSession, 1, 2))
			b.Publish("sentinel", events(sentinelID, 1))
			waitPoke(t, sentinel)

			if got := hubtest.Signalled(sub); got != tc.want {
				t.Fatalf("woken %v, want %v", got, tc.want)
			}
			evs, lagged := sub.Take()
			if lagged != tc.want || len(evs) != 0 {
				t.Fatalf("took %d events, lagged %v; want none, lagged %v", len(evs), lagged, tc.want)
			}
		})
	}
}

// TestOwnNotificationsIgnored: a process's subscribers get its events from
// the hub directly; its own notification must not send them to the store.
func TestOwnNotificationsIgnored(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	sub := a.Subscribe("o1", "s1")
	defer sub.Close()
	sentinel := a.Subscribe("o1", "sentinel")
	defer sentinel.Close()

	a.Publish("o1", events("s1", 1))
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Sent() != 1 {
		t.Fatalf("sent %d notifications, want 1", a.Sent())
	}
	// b's notification commits after a's, so a's listener handles a's first.
	b.Publish("o1", events("sentinel", 1))
	waitPoke(t, sentinel)

	if !hubtest.Signalled(sub) {
		t.Fatal("local event not signalled")
	}
	evs, lagged := sub.Take()
	if lagged || len(evs) != 1 || evs[0].Seq != 1 {
		t.Fatalf("took %v, lagged %v; want seq 1 only, not lagged", evs, lagged)
	}
	if hubtest.Signalled(sub) {
		t.Fatal("woken again by its own notification")
	}
}

// TestReconnectPokesEveryone: when the listener's connection is killed the
// hub reconnects, pokes every subscriber (notifications may have been
// missed meanwhile), and hears other processes again.
func TestReconnectPokesEveryone(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	sub := a.Subscribe("o1", "s1")
	defer sub.Close()
	org := a.Subscribe("o2", "")
	defer org.Close()

	pid := a.ListenerPID()
	if pid == 0 {
		t.Fatal("no listener after Start")
	}
	var killed bool
	if err := newPool(t).QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate listener %d: %v, %v", pid, killed, err)
	}
	waitPoke(t, sub)
	waitPoke(t, org)
	if now := a.ListenerPID(); now == pid || now == 0 {
		t.Fatalf("listener pid %d after reconnect (was %d)", now, pid)
	}

	b.Publish("o1", events("s1", 3))
	waitPoke(t, sub)
}

// TestOverflowPokesEveryone: a sender with more Publish calls queued than it
// holds drops them and pokes every subscriber of every process instead.
func TestOverflowPokesEveryone(t *testing.T) {
	t.Parallel()
	ch := channel()
	a := newHub(t, pghub.Options{Channel: ch, NodeID: "a"})
	b := newUnstartedHub(t, pghub.Options{Channel: ch, NodeID: "b", QueueSize: 1})
	unrelated := a.Subscribe("o9", "s9")
	defer unrelated.Close()

	for i := range 3 { // unstarted: the queue fills after the first
		b.Publish("o1", events(fmt.Sprintf("s%d", i), 1))
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitPoke(t, unrelated)
}

// TestCloseSendsQueued: what a process published just before it closed
// still reaches the others.
func TestCloseSendsQueued(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	sub := a.Subscribe("o1", "s1")
	defer sub.Close()
	b.Publish("o1", events("s1", 1))
	b.Close()
	waitPoke(t, sub)
}

// TestManySessionsSplit: a group commit touching more sessions than one
// payload holds is spread over several notifications, none lost.
func TestManySessionsSplit(t *testing.T) {
	t.Parallel()
	a, b := twoNodes(t)
	org := strings.Repeat("o", 100)
	sid := func(i int) string { return fmt.Sprintf("%060d", i) }
	first := a.Subscribe(org, sid(0))
	defer first.Close()
	last := a.Subscribe(org, sid(299))
	defer last.Close()
	var evs []agentscope.Event
	for i := range 300 {
		evs = append(evs, hubtest.Event(sid(i), 1))
	}
	b.Publish(org, evs)
	waitPoke(t, first)
	waitPoke(t, last)
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.Sent(); n < 2 {
		t.Fatalf("%d notifications for 300 sessions, want several", n)
	}
}

// TestAloneSendsNothing: a listening hub that has heard no other sends no
// notifications; when a peer announces itself, the next notification pokes
// everyone (the peer may have missed what was skipped), and later ones
// name their sessions.
func TestAloneSendsNothing(t *testing.T) {
	t.Parallel()
	ch := channel()
	a := newHub(t, pghub.Options{Channel: ch, NodeID: "a"})
	a.Publish("o1", events("s1", 1))
	flush(t, a)
	if n := a.Sent(); n != 0 {
		t.Fatalf("alone, sent %d notifications, want 0", n)
	}
	b := newUnstartedHub(t, pghub.Options{Channel: ch, NodeID: "b"})
	other := b.Subscribe("o9", "s9") // a never publishes for it
	defer other.Close()
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, a, 1)
	waitPoke(t, other) // the poke for what a skipped
	sub := b.Subscribe("o1", "s1")
	defer sub.Close()
	a.Publish("o1", events("s1", 2))
	waitPoke(t, sub)
	if a.Sent() < 2 {
		t.Fatalf("sent %d notifications, want the poke and the session's", a.Sent())
	}
}

// TestQuietPeerForgotten: a peer not heard from for three hello intervals
// is taken to be gone, and the hub stops notifying.
func TestQuietPeerForgotten(t *testing.T) {
	t.Parallel()
	ch := channel()
	a := newHub(t, pghub.Options{Channel: ch, NodeID: "a", HelloInterval: time.Hour})
	newHub(t, pghub.Options{Channel: ch, NodeID: "b", HelloInterval: time.Hour})
	waitPeers(t, a, 1)
	a.Publish("o1", events("s1", 1))
	flush(t, a)
	if a.Sent() != 1 {
		t.Fatalf("with a peer, sent %d notifications, want 1", a.Sent())
	}
	start := time.Now()
	a.SetClock(func() time.Time { return start.Add(3*time.Hour - time.Second) })
	if a.Peers() != 1 {
		t.Fatal("peer forgotten within three intervals")
	}
	a.SetClock(func() time.Time { return start.Add(3*time.Hour + time.Minute) })
	if a.Peers() != 0 {
		t.Fatal("peer still known after three intervals of silence")
	}
	a.Publish("o1", events("s1", 2))
	flush(t, a)
	if a.Sent() != 1 {
		t.Fatalf("after the peer went quiet, sent %d notifications in all, want still 1", a.Sent())
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := pghub.New(nil, pghub.Options{}); err == nil {
		t.Error("nil pool accepted")
	}
	for _, ch := range []string{"Upper", "has space", "1digit", strings.Repeat("x", 64)} {
		if _, err := pghub.New(&pgxpool.Pool{}, pghub.Options{Channel: ch}); err == nil {
			t.Errorf("channel %q accepted", ch)
		}
	}
}

// BenchmarkPublish measures what Publish costs the recorder's commit path:
// one batch of 4 events of one session, with a subscription to it, 100 to
// other sessions and one to the whole organisation.
func BenchmarkPublish(b *testing.B) {
	hubs := map[string]func(b *testing.B) recorder.Hub{
		"MemHub": func(*testing.B) recorder.Hub { return recorder.NewMemHub() },
		"pghub": func(b *testing.B) recorder.Hub {
			// With a peer listening, as when several processes share the
			// database: alone, the hub would send nothing.
			ch := channel()
			h := newHub(b, pghub.Options{Channel: ch})
			newHub(b, pghub.Options{Channel: ch})
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			if err := h.WaitPeers(ctx, 1); err != nil {
				b.Fatal(err)
			}
			return h
		},
	}
	for _, name := range []string{"MemHub", "pghub"} {
		b.Run(name, func(b *testing.B) {
			h := hubs[name](b)
			for i := range 100 {
				defer h.Subscribe("o1", fmt.Sprintf("s%d", i+1)).Close()
			}
			mine := h.Subscribe("o1", "s0")
			defer mine.Close()
			org := h.Subscribe("o1", "")
			defer org.Close()
			evs := events("s0", 1, 2, 3, 4)
			b.ReportAllocs()
			for b.Loop() {
				h.Publish("o1", evs)
				mine.Take()
				org.Take()
			}
			b.StopTimer()
			if ph, ok := h.(*pghub.Hub); ok {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				if err := ph.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(ph.Sent())/float64(b.N), "notifies/op")
			}
		})
	}
}

// TestPublishOnly: a publish-only hub holds no LISTEN connection, and its
// notifications still wake the other processes' subscribers.
func TestPublishOnly(t *testing.T) {
	t.Parallel()
	ch := channel()
	worker := newHub(t, pghub.Options{Channel: ch, NodeID: "worker", PublishOnly: true})
	web := newHub(t, pghub.Options{Channel: ch, NodeID: "web"})
	if pid := worker.ListenerPID(); pid != 0 {
		t.Fatalf("a publish-only hub listens (pid %d)", pid)
	}
	sub := web.Subscribe("o1", "s1")
	defer sub.Close()
	worker.Publish("o1", events("s1", 1))
	waitPoke(t, sub)
}

// TestIntervalCoalesces: within the interval after a notification, what is
// published waits and goes out in one notification, and every session it
// names still pokes the other process; Close sends what waits at once.
func TestIntervalCoalesces(t *testing.T) {
	t.Parallel()
	ch := channel()
	a := newHub(t, pghub.Options{Channel: ch})
	b := newHub(t, pghub.Options{Channel: ch, Interval: time.Hour, PublishOnly: true})
	first := a.Subscribe("o1", "first")
	defer first.Close()
	b.Publish("o1", events("first", 1)) // the first goes out at once
	waitPoke(t, first)
	if got := b.Sent(); got != 1 {
		t.Fatalf("sent %d notifications, want 1", got)
	}
	subs := make([]*recorder.Subscription, 5)
	for i := range subs {
		subs[i] = a.Subscribe("o1", fmt.Sprintf("s%d", i))
		defer subs[i].Close()
		b.Publish("o1", events(fmt.Sprintf("s%d", i), 1))
	}
	for i, sub := range subs {
		if hubtest.Signalled(sub) {
			t.Fatalf("session %d poked within the interval", i)
		}
	}
	if got := b.Sent(); got != 1 {
		t.Fatalf("sent %d notifications within the interval, want 1", got)
	}
	b.Close() // sends what waits
	for _, sub := range subs {
		waitPoke(t, sub)
	}
	if got := b.Sent(); got != 2 {
		t.Errorf("sent %d notifications in all, want 2: the five publishes coalesced", got)
	}
}
