package gateway

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// commits is a Service that keeps the batches committed, after the first
// commit waits for release.
type commits struct {
	mu      sync.Mutex
	batches [][]string
	release chan struct{}
	started chan struct{}
}

func (c *commits) RecordGateway(_ context.Context, sid, _ string, evs []agentscope.Event) error {
	c.mu.Lock()
	first := len(c.batches) == 0
	var ids []string
	for _, ev := range evs {
		ids = append(ids, sid+"/"+ev.EventID)
	}
	c.batches = append(c.batches, ids)
	c.mu.Unlock()
	if first {
		close(c.started)
		<-c.release
	}
	return nil
}
func (c *commits) EndGatewaySession(context.Context, string) error   { return nil }
func (c *commits) GatewayEventsAllowed(context.Context, int64) error { return nil }
func (c *commits) GatewayHardCap(context.Context, string) (*agentscope.BudgetStatus, error) {
	return nil, nil
}

// TestQueuedRecordsOfASessionCommitTogether: what queues behind a commit
// for the same session is committed with the next one, in order; another
// session's records are not mixed in.
func TestQueuedRecordsOfASessionCommitTogether(t *testing.T) {
	svc := &commits{release: make(chan struct{}), started: make(chan struct{})}
	g := New(svc, Options{})
	defer g.Close()
	caller := agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: "o", KeyID: "k"}
	put := func(sid string, i int) {
		g.rec.put(job{caller: caller, sessionID: sid, agent: "a", events: []agentscope.Event{{EventID: fmt.Sprint(i)}}})
	}
	put("s1", 0)
	<-svc.started
	for i := 1; i <= 5; i++ {
		put("s1", i)
	}
	close(svc.release)
	if err := g.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(svc.batches)
	if got != "[[s1/0] [s1/1 s1/2 s1/3 s1/4 s1/5]]" {
		t.Fatalf("commits %s", got)
	}
	if st := g.Stats("o"); st.Recorded != 6 || st.Calls != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSweepForgetsOldBudgetChecks: the cache of budget checks does not keep
// agents that stopped calling.
func TestSweepForgetsOldBudgetChecks(t *testing.T) {
	g := New(&commits{release: make(chan struct{}), started: make(chan struct{})}, Options{})
	defer g.Close()
	now := time.Now()
	g.caps["o\x00old"] = capEntry{at: now.Add(-time.Minute)}
	g.caps["o\x00new"] = capEntry{at: now}
	g.SweepIdle(now)
	if _, ok := g.caps["o\x00old"]; ok || len(g.caps) != 1 {
		t.Fatalf("caps after the sweep: %v", g.caps)
	}
}
