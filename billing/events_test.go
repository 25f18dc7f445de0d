package billing_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// eventsStore is a store billing reads and events are appended to.
type eventsStore interface {
	billing.Store
	agentscope.Store
	CreateOrg(ctx context.Context, name, actor string) (agentscope.Org, error)
}

// appendEvents stores n events of org in a session of their own.
func appendEvents(t *testing.T, st eventsStore, org, session string, n int) {
	t.Helper()
	now := time.Now().UTC()
	evs := make([]agentscope.Event, n)
	for i := range evs {
		evs[i] = agentscope.Event{EventID: fmt.Sprintf("%s-%d", session, i), Type: agentscope.ModelInvoked, TS: now, Model: "m"}
	}
	evs[0].Type = agentscope.SessionStarted
	res := st.Append(context.Background(), []agentscope.AppendRequest{{OrgID: org, SessionID: session,
		Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: now}, Events: evs}})[0]
	if res.Err != nil || res.Rejected != nil {
		t.Fatalf("append %d events: %v %v", n, res.Err, res.Rejected)
	}
}

// TestCheckEvents: CheckEvents refuses the events the plan would not
// store, counts what it allowed between two reads of the usage, sees
// other writers only at its next read (the documented window), forgets an
// organisation's view when its plan changes, and is per organisation. On
// SQLite and Postgres.
func TestCheckEvents(t *testing.T) {
	plans, err := billing.Parse([]byte(`{"default":"small","plans":[{"id":"small","limits":{"events_per_month":10}},{"id":"open"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]func(t *testing.T) eventsStore{
		"sqlite": func(t *testing.T) eventsStore { return openStore(t, plans) },
		"postgres": func(t *testing.T) eventsStore {
			st, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{Usage: plans})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			st := o(t)
			ctx := context.Background()
			a, err := st.CreateOrg(ctx, "A", agentscope.ActorOperator)
			if err != nil {
				t.Fatal(err)
			}
			b, err := st.CreateOrg(ctx, "B", agentscope.ActorOperator)
			if err != nil {
				t.Fatal(err)
			}
			svc := billing.NewService(plans, st, nil)
			now := time.Now().UTC()
			var mu sync.Mutex
			billing.SetClock(svc, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
			advance := func() { mu.Lock(); now = now.Add(billing.EventsCheckTTL); mu.Unlock() }

			appendEvents(t, st, a.ID, "s1", 5)
			// Read once: 5 stored; allowed checks count until the next read.
			for i := range 5 {
				if err := svc.CheckEvents(ctx, a.ID, 1); err != nil {
					t.Fatalf("check %d of 5 free events: %v", i+1, err)
				}
			}
			err = svc.CheckEvents(ctx, a.ID, 1)
			wantLimit(t, "an 11th event", err, `plan "small" allows 10 events`)
			if err != nil && !strings.Contains(err.Error(), "10 are stored or being recorded") {
				t.Errorf("refusal %q does not say how many are used", err)
			}
			// Another organisation has its own count.
			if err := svc.CheckEvents(ctx, b.ID, 10); err != nil {
				t.Errorf("organisation B: %v", err)
			}
			if err := svc.CheckEvents(ctx, b.ID, 1); err == nil {
				t.Error("organisation B's 11th event allowed")
			}

			// At the next read what was allowed but not stored is gone:
			// 5 stored, room again. Then another writer stores 4: until
			// the next read the view does not see them (the window) …
			advance()
			if err := svc.CheckEvents(ctx, a.ID, 2); err != nil {
				t.Fatalf("after the view expired: %v", err)
			}
			appendEvents(t, st, a.ID, "s2", 4)
			if err := svc.CheckEvents(ctx, a.ID, 3); err != nil {
				t.Fatalf("within the window: %v", err)
			}
			// … and at the next read it does: 9 stored, 2 more do not fit.
			advance()
			wantLimit(t, "2 events past 9 stored", svc.CheckEvents(ctx, a.ID, 2), "9 are stored")
			if err := svc.CheckEvents(ctx, a.ID, 1); err != nil {
				t.Fatalf("the last event that fits: %v", err)
			}
			// A plan change is seen at once.
			if _, err := svc.SetPlan(ctx, a.ID, "open", agentscope.ActorOperator, "test"); err != nil {
				t.Fatal(err)
			}
			if err := svc.CheckEvents(ctx, a.ID, 1000); err != nil {
				t.Fatalf("on the open plan: %v", err)
			}
		})
	}
}

// TestCheckEventsOff: with billing off CheckEvents reads nothing (a nil
// store) and allows everything.
func TestCheckEventsOff(t *testing.T) {
	if err := billing.NewService(nil, nil, nil).CheckEvents(context.Background(), "o", 1<<40); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCheckEvents is the gateway's per-call plan check with billing
// on, from the view CheckEvents keeps: the store is read once per
// EventsCheckTTL, not per call.
func BenchmarkCheckEvents(b *testing.B) {
	plans, err := billing.Parse([]byte(`{"default":"big","plans":[{"id":"big","limits":{"events_per_month":1000000000000}}]}`))
	if err != nil {
		b.Fatal(err)
	}
	st := openStore(b, plans)
	o, err := st.CreateOrg(context.Background(), "A", agentscope.ActorOperator)
	if err != nil {
		b.Fatal(err)
	}
	svc := billing.NewService(plans, st, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := svc.CheckEvents(ctx, o.ID, 3); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
