package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/store/storetest"
)

// openOutbox gives each test its own schema; every handle opened on it has
// its own connection pool, as a separate process would.
func openOutbox(t *testing.T) func(sqlstore.Options) *sqlstore.Store {
	url := pgtest.URL(t)
	return func(opts sqlstore.Options) *sqlstore.Store {
		s, err := postgres.Open(context.Background(), url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.Store
	}
}

func TestOutbox(t *testing.T) { storetest.RunOutbox(t, openOutbox) }

func TestBilling(t *testing.T) { storetest.RunBilling(t, openOutbox) }

// TestClaimTakesOwnCommitsFromMemory: a store that claims hands the events
// it committed to the claim of their outbox rows from memory, without reading
// them back: with the rows of the events table gone (which only damage
// produces), its own claim still carries every body, while another
// handle's claim of the same rows, after the lease is released, finds
// them missing. The second claim of the first handle reads the database
// too: an event is served from memory once.
func TestClaimTakesOwnCommitsFromMemory(t *testing.T) {
	ctx := context.Background()
	connect := openOutbox(t)
	a := connect(sqlstore.Options{Outbox: true})
	b := connect(sqlstore.Options{Outbox: true})
	// A store keeps its commits for claims from its first claim on.
	if entries, err := a.ClaimOutbox(ctx, "a", 10, time.Minute); err != nil || len(entries) != 0 {
		t.Fatalf("first claim: %v %v", entries, err)
	}
	at := time.Now().UTC()
	res := a.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: "s",
		Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: at, StartedAt: &at},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, TS: at}, {Type: agentscope.ModelInvoked, TS: at, Provider: "p", Model: "m"}}}})[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, err := a.WriteDB().ExecContext(ctx, `DELETE FROM events`); err != nil {
		t.Fatal(err)
	}
	own, err := a.ClaimOutbox(ctx, "a", 10, time.Minute)
	if err != nil || len(own) != 2 {
		t.Fatalf("own claim: %d entries, %v", len(own), err)
	}
	for i, e := range own {
		want, _ := res.Events[i].MarshalCanonical()
		if string(e.Body) != string(want) || e.EventID != res.Events[i].EventID {
			t.Errorf("entry %d from memory: %s, want %s", i, e.Body, want)
		}
	}
	release := []agentscope.OutboxRef{own[0].Ref(), own[1].Ref()}
	if n, err := a.RetryOutbox(ctx, "a", release, time.Now().Add(-time.Second), "x"); err != nil || n != 2 {
		t.Fatalf("release: %d %v", n, err)
	}
	for _, s := range []*sqlstore.Store{a, b} {
		again, err := s.ClaimOutbox(ctx, "c", 10, time.Minute)
		if err != nil || len(again) != 2 || again[0].Body != nil || again[1].Body != nil {
			t.Fatalf("claim after release: %+v %v; want two entries without bodies", again, err)
		}
		if n, err := s.RetryOutbox(ctx, "c", []agentscope.OutboxRef{again[0].Ref(), again[1].Ref()}, time.Now().Add(-time.Second), "x"); err != nil || n != 2 {
			t.Fatalf("release: %d %v", n, err)
		}
	}
}
