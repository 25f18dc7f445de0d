package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/web"
)

// endlessEvents is a store whose every scan hands out batches of tool
// calls without end, counting them, until the engine stops taking them. It
// never looks at the context itself: only the engine's checks stop it.
type endlessEvents struct {
	agentscope.Store // nil: the engine reads only ScanEvents here
	read             atomic.Int64
	once             sync.Once
	started          chan struct{}  // closed once 1,000 events were read
	ended            chan time.Time // when each scan returned
	// atDone is how many events had been read when the scan's context
	// ended (the server learned its client left); done is closed then.
	atDone   atomic.Int64
	done     chan struct{}
	doneOnce sync.Once
}

func (e *endlessEvents) ScanEvents(ctx context.Context, org string, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	defer func() { e.ended <- time.Now() }()
	context.AfterFunc(ctx, func() {
		e.doneOnce.Do(func() {
			e.atDone.Store(e.read.Load())
			close(e.done)
		})
	})
	ts := time.Now().UTC().Add(-time.Hour)
	for b := 0; ; b++ {
		evs := make([]agentscope.Event, q.BatchSize)
		for i := range evs {
			evs[i] = agentscope.Event{Type: agentscope.ToolCalled, SessionID: fmt.Sprintf("s%d", b), Seq: int64(i + 1), TS: ts, Agent: "bot", Tool: "search"}
		}
		if e.read.Add(int64(len(evs))) >= 1000 {
			e.once.Do(func() { close(e.started) })
		}
		if more, err := fn(evs); err != nil || !more {
			return err
		}
	}
}

// splServer serves POST /api/v1/spl over the embedded engine reading an
// endless store, under limits.
func splServer(t *testing.T, l search.Limits) (*fixture, *endlessEvents) {
	t.Helper()
	st := &endlessEvents{started: make(chan struct{}), ended: make(chan time.Time, 8), done: make(chan struct{})}
	eng := spl.New(st, spl.Options{BatchSize: 500})
	router, err := search.NewRouter(search.BackendLocal, map[string]agentscope.Searcher{search.BackendLocal: eng}, l)
	if err != nil {
		t.Fatal(err)
	}
	f := limited(t, web.Options{}, func(*http.Server) {})
	f.svc.Search = service.SearchOptions{Searcher: router}
	f.srv.Config.Handler.(*web.Server).RouteSearch()
	return f, st
}

// A leading wildcard the store cannot narrow, then stats over every row.
const endlessQuery = `{"query":"search tool=*zz* | stats count by session_id"}`

// TestSearchCutAtTimeLimit: POST /api/v1/spl with a query still running
// at AGENTSCOPE_SPL_TIMEOUT answers 503 with a message naming the limit
// and its setting, not 500 "internal error", and the scan stops.
func TestSearchCutAtTimeLimit(t *testing.T) {
	f, st := splServer(t, search.Limits{Timeout: 50 * time.Millisecond})
	var e apiError
	code := f.do(t, "POST", "/api/v1/spl", endlessQuery, &e)
	if code != http.StatusServiceUnavailable || !strings.Contains(e.Error.Message, "SPL query exceeded the 50ms time limit (AGENTSCOPE_SPL_TIMEOUT)") {
		t.Fatalf("endless query: %d %+v", code, e)
	}
	select {
	case <-st.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the scan went on after the time limit")
	}
}

// TestSearchStopsWhenClientLeaves: a client that gives up on POST
// /api/v1/spl stops the embedded engine's scan at once: at most one more
// batch is read after it left (and within 100 ms on an idle machine).
func TestSearchStopsWhenClientLeaves(t *testing.T) {
	f, st := splServer(t, search.Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/api/v1/spl", strings.NewReader(endlessQuery))
	req.Header.Set("Authorization", "Bearer "+token)
	answered := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			err = fmt.Errorf("answered %d %s", resp.StatusCode, b)
		}
		answered <- err
	}()
	<-st.started
	atCancel, left := st.read.Load(), time.Now()
	cancel()
	var ended time.Time
	select {
	case ended = <-st.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the scan went on after the client left")
	}
	if err := <-answered; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	select {
	case <-st.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the scan's context did not end when the client left")
	}
	after := st.read.Load() - st.atDone.Load()
	t.Logf("the scan stopped %s after the client left, %d events read after it (%d after the server knew)", ended.Sub(left), st.read.Load()-atCancel, after)
	// How soon the server learns that its client left depends on the
	// machine's load; once it knows, the engine reads at most one more
	// batch (two, if the scan was handing one over at that moment).
	if after > 2*500 {
		t.Errorf("%d events read after the request's context ended", after)
	}
}
