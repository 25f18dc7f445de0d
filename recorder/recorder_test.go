package recorder_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// countingStore counts the transactions the recorder asks for.
type countingStore struct {
	agentscope.Store
	appends atomic.Int64
}

func (c *countingStore) Append(ctx context.Context, reqs []agentscope.AppendRequest) []agentscope.AppendResult {
	c.appends.Add(1)
	return c.Store.Append(ctx, reqs)
}

func stores(t *testing.T) map[string]func(t *testing.T) agentscope.Store {
	return map[string]func(t *testing.T) agentscope.Store{
		"sqlite": func(t *testing.T) agentscope.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) agentscope.Store {
			s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func startRun(t *testing.T, r *recorder.Recorder, sid string) {
	t.Helper()
	now := time.Now().UTC()
	_, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: sid,
		Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, StartedAt: &now},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bot", TS: now}}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentRecording: many goroutines recording into many sessions;
// every event is stored once, seq is gap-free per session, and concurrent
// callers share transactions.
func TestConcurrentRecording(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := &countingStore{Store: open(t)}
			hub := recorder.NewMemHub()
			sub := hub.Subscribe("o", "")
			defer sub.Close()
			committers := 1
			if name == "postgres" {
				committers = 4
			}
			r := recorder.New(st, recorder.Options{Hub: hub, Committers: committers})
			const sessions, goroutines, each = 10, 32, 40
			for i := range sessions {
				startRun(t, r, fmt.Sprintf("s%d", i))
			}
			before := st.appends.Load()
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range each {
						ev := agentscope.Event{EventID: fmt.Sprintf("g%d-%d", g, j), Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Now()}
						if _, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: fmt.Sprintf("s%d", (g+j)%sessions), Events: []agentscope.Event{ev}}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			txs := st.appends.Load() - before
			if txs >= goroutines*each {
				t.Errorf("%d transactions for %d commits: no group commit", txs, goroutines*each)
			}
			total := 0
			for i := range sessions {
				evs, err := st.ListEvents(context.Background(), "o", fmt.Sprintf("s%d", i), agentscope.EventFilter{})
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for k, ev := range evs {
					if ev.Seq != int64(k+1) {
						t.Fatalf("s%d: event %d has seq %d", i, k, ev.Seq)
					}
					if seen[ev.EventID] {
						t.Fatalf("s%d: %s stored twice", i, ev.EventID)
					}
					seen[ev.EventID] = true
				}
				total += len(evs) - 1
			}
			if total != goroutines*each {
				t.Fatalf("stored %d events, want %d", total, goroutines*each)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			// Every committed event was published exactly once.
			published := map[string]int{}
			for {
				evs, lagged := sub.Take()
				if lagged {
					t.Fatal("subscriber lagged")
				}
				if len(evs) == 0 {
					break
				}
				for _, ev := range evs {
					published[ev.SessionID+"/"+ev.EventID]++
				}
			}
			if len(published) != goroutines*each+sessions {
				t.Errorf("published %d distinct events, want %d", len(published), goroutines*each+sessions)
			}
			for k, n := range published {
				if n != 1 {
					t.Errorf("%s published %d times", k, n)
				}
			}
		})
	}
}

// TestPublishedBeforeCommitReturns: the hub has the events of a commit
// before Commit returns, so a subscription made after it is not told of
// them (the MCP server's subscribers took such a notice for another
// client's commit).
func TestPublishedBeforeCommitReturns(t *testing.T) {
	st := stores(t)["sqlite"](t)
	hub := recorder.NewMemHub()
	r := recorder.New(st, recorder.Options{Hub: hub})
	defer r.Close()
	startRun(t, r, "s1")
	sub := hub.Subscribe("o", "s1")
	defer sub.Close()
	select {
	case <-sub.Ready:
		evs, lagged := sub.Take()
		t.Fatalf("a subscription made after Commit returned was given %d events (lagged %v) of that commit", len(evs), lagged)
	default:
	}
	if _, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: "s1",
		Events: []agentscope.Event{{Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.Ready:
	default:
		t.Fatal("Commit returned before its events were published")
	}
	if evs, _ := sub.Take(); len(evs) != 1 || evs[0].Type != agentscope.ToolCalled {
		t.Fatalf("took %+v, want the one ToolCalled", evs)
	}
}

func TestCommitValidates(t *testing.T) {
	st := stores(t)["sqlite"](t)
	r := recorder.New(st, recorder.Options{})
	defer r.Close()
	startRun(t, r, "s1")
	_, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: "s1", Events: []agentscope.Event{
		{Type: agentscope.ModelInvoked, Provider: "p", Model: "m", TS: time.Now()},
		{Type: agentscope.ModelCompleted, Provider: "p", Model: "m", TS: time.Now()},
	}})
	if agentscope.ErrorCode(err) != agentscope.EINVALID || err.Error() != "events[1].duration_ms: is required for ModelCompleted events" {
		t.Fatalf("got %v", err)
	}
	evs, _ := st.ListEvents(context.Background(), "o", "s1", agentscope.EventFilter{})
	if len(evs) != 1 {
		t.Errorf("a batch with an invalid event stored %d events", len(evs))
	}
}

func TestCloseFinishesQueuedCommits(t *testing.T) {
	st := stores(t)["sqlite"](t)
	r := recorder.New(st, recorder.Options{})
	startRun(t, r, "s1")
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: "s1", Events: []agentscope.Event{{EventID: fmt.Sprint(i), Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Now()}}})
			if err == nil {
				ok.Add(1)
			} else if err != recorder.ErrClosed {
				t.Error(err)
			}
		}()
	}
	r.Close()
	wg.Wait()
	evs, _ := st.ListEvents(context.Background(), "o", "s1", agentscope.EventFilter{})
	if int64(len(evs)-1) != ok.Load() {
		t.Errorf("%d commits acknowledged, %d stored", ok.Load(), len(evs)-1)
	}
}

// gatedStore is a store whose appends each wait for a value on gate, and
// which checks, as each append begins, that it holds at least min events
// if another append is in flight.
type gatedStore struct {
	agentscope.Store
	t        *testing.T
	gate     chan struct{}
	started  chan int // events of each append, as it begins
	min      int
	inflight atomic.Int64
	most     atomic.Int64
}

func (g *gatedStore) Append(ctx context.Context, reqs []agentscope.AppendRequest) []agentscope.AppendResult {
	n := 0
	for _, r := range reqs {
		n += len(r.Events)
	}
	now := g.inflight.Add(1)
	defer g.inflight.Add(-1)
	if now > 1 && n < g.min {
		g.t.Errorf("an append of %d events began while %d others were in flight; a parallel one needs at least %d", n, now-1, g.min)
	}
	for m := g.most.Load(); now > m && !g.most.CompareAndSwap(m, now); m = g.most.Load() {
	}
	g.started <- n
	<-g.gate
	out := make([]agentscope.AppendResult, len(reqs))
	for i := range out {
		out[i].Events = reqs[i].Events
		out[i].Duplicate = make([]bool, len(reqs[i].Events))
	}
	return out
}

func toolEvents(n int) []agentscope.Event {
	evs := make([]agentscope.Event, n)
	for i := range evs {
		evs[i] = agentscope.Event{Type: agentscope.ToolCalled, Tool: "t", CallID: "c", TS: time.Now()}
	}
	return evs
}

// TestParallelCommitsNeedBacklog: while a group commit is in flight, small
// requests wait for it and share the next commit instead of starting one
// of their own beside it; a request of ParallelEvents events starts a
// second commit at once.
func TestParallelCommitsNeedBacklog(t *testing.T) {
	const parallel = 50
	g := &gatedStore{t: t, gate: make(chan struct{}), started: make(chan int, 1000), min: parallel}
	r := recorder.New(g, recorder.Options{Committers: 2, ParallelEvents: parallel})
	var wg sync.WaitGroup
	commit := func(events int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Commit(context.Background(), agentscope.AppendRequest{OrgID: "o", SessionID: "s", Events: toolEvents(events)}); err != nil {
				t.Error(err)
			}
		}()
	}
	commit(1)
	if n := <-g.started; n != 1 {
		t.Fatalf("the first commit holds %d events, want 1", n)
	}
	// The first commit is held. Small requests queue behind it (gatedStore
	// fails the test if one starts beside it), then a big one starts a
	// second commit, whatever of the small ones it found with it.
	for range 20 {
		commit(1)
	}
	commit(parallel)
	if n := <-g.started; n < parallel {
		t.Fatalf("the second commit holds %d events, want the %d-event request in it", n, parallel)
	}
	if g.most.Load() != 2 {
		t.Fatalf("%d commits were in flight at once, want 2", g.most.Load())
	}
	// Release everything: each append takes one value from gate.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case g.gate <- struct{}{}:
			case <-g.started:
			case <-stop:
				return
			}
		}
	}()
	wg.Wait()
	r.Close()
	close(stop)
}
