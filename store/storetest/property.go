package storetest

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/agentscope/agentscope"
)

// testCostIsTheSumOfAccepted is a property test: for a random sequence of
// requests — CostRecorded amounts from a nano-dollar to billions (so some
// requests would overflow the total and are refused whole), resends of
// stored events, conflicting resends, other event types, several events per
// request — the run's cost_usd always equals the exact sum of the amounts
// of the CostRecorded events it stores, is never negative, every accepted
// event is stored as sent and every refused request leaves nothing.
func testCostIsTheSumOfAccepted(t *testing.T, s agentscope.Store) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 3; seed++ {
		session := fmt.Sprintf("prop%d", seed)
		r := rand.New(rand.NewPCG(seed, 7))
		start(t, s, org, session, "bot", t0)
		var sent []agentscope.Event // events accepted so far, by event_id order of acceptance
		want := 1                   // SessionStarted
		amount := func() *agentscope.USD {
			var u agentscope.USD
			switch r.IntN(4) {
			case 0:
				u = agentscope.USD(1 + r.Int64N(1000)) // nano-dollars
			case 1:
				u = agentscope.USD(r.Int64N(1_000_000 * agentscope.NanosPerUSD))
			case 2:
				u = agentscope.USD(r.Int64N(1 << 62)) // billions of USD: the sum overflows within a few
			default:
				u = 0
			}
			return &u
		}
		for i := range 120 {
			var evs []agentscope.Event
			for j := range 1 + r.IntN(4) {
				id := fmt.Sprintf("e%d-%d", i, j)
				switch k := r.IntN(10); {
				case k < 6:
					evs = append(evs, agentscope.Event{EventID: id, Type: agentscope.CostRecorded, TS: t0, AmountUSD: amount(), Currency: "USD"})
				case k < 8 && len(sent) > 0:
					evs = append(evs, sent[r.IntN(len(sent))]) // a retry: a duplicate
				case k < 9 && len(sent) > 0:
					ev := sent[r.IntN(len(sent))]
					if ev.Type == agentscope.CostRecorded {
						u := *ev.AmountUSD + 1
						ev.AmountUSD = &u // same id, other body: a conflict
					} else {
						ev.Model += "-other"
					}
					evs = append(evs, ev)
				default:
					evs = append(evs, agentscope.Event{EventID: id, Type: agentscope.ModelInvoked, TS: t0, Provider: "p", Model: "m"})
				}
			}
			res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: session, Events: evs}})[0]
			if res.Err != nil {
				if c := agentscope.ErrorCode(res.Err); c != agentscope.EINVALID && c != agentscope.ECONFLICT {
					t.Fatalf("seed %d request %d: %v", seed, i, res.Err)
				}
			} else {
				for k, ev := range evs {
					if !res.Duplicate[k] {
						sent = append(sent, ev)
						want++
					}
				}
			}
			run, err := s.GetRun(ctx, org, session)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.ListEvents(ctx, org, session, agentscope.EventFilter{})
			if err != nil {
				t.Fatal(err)
			}
			sum := new(big.Int)
			for _, ev := range stored {
				if ev.Type == agentscope.CostRecorded {
					sum.Add(sum, big.NewInt(int64(*ev.AmountUSD)))
				}
			}
			if run.CostUSD < 0 || !sum.IsInt64() || sum.Int64() != int64(run.CostUSD) {
				t.Fatalf("seed %d after request %d (err %v): cost_usd %s, sum of stored amounts %s", seed, i, res.Err, run.CostUSD, sum)
			}
			if len(stored) != want || run.EventCount != int64(want) {
				t.Fatalf("seed %d after request %d (err %v): %d events stored, event_count %d, want %d", seed, i, res.Err, len(stored), run.EventCount, want)
			}
		}
		// Every accepted event is stored as sent.
		stored, _ := s.ListEvents(ctx, org, session, agentscope.EventFilter{})
		byID := map[string]agentscope.Event{}
		for _, ev := range stored {
			byID[ev.EventID] = ev
		}
		for _, ev := range sent {
			got, ok := byID[ev.EventID]
			if !ok || got.Type != ev.Type || (ev.AmountUSD != nil && *got.AmountUSD != *ev.AmountUSD) || got.Model != ev.Model {
				t.Fatalf("seed %d: accepted %+v stored as %+v (found %v)", seed, ev, got, ok)
			}
		}
	}
}
