package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// stores opens a fresh SQLite and a fresh Postgres store (the latter when
// Postgres tests are on).
func stores(t *testing.T) map[string]func(t *testing.T) *sqlstore.Store {
	return map[string]func(t *testing.T) *sqlstore.Store{
		"sqlite": func(t *testing.T) *sqlstore.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s.Store
		},
		"postgres": func(t *testing.T) *sqlstore.Store {
			s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s.Store
		},
	}
}

// gpt-4.1 is $2 in and $8 out per million tokens: 1,000 in and 100 out is
// $0.0028.
const call = `{"type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":900,"tokens_in":1000,"tokens_out":100%s}`

// TestComputedCost: on both stores, a self-reported model call without a
// reported cost is priced from the table when its session ends, marked
// computed and counted in the run's cost and the agent's spend; a reported
// cost for the call (by span, or span-less for span-less calls), sent
// before or with it, wins and nothing is computed; an unknown model gets
// none; a reported cost after the end is refused, so never both.
func TestComputedCost(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
			t.Cleanup(func() { rec.Close() })
			svc := service.New(rec, nil)
			ctx := agentscope.WithOrg(context.Background(), "org-a")
			session := func(sid string, events ...string) agentscope.Run {
				t.Helper()
				if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "ext-bot", SessionID: sid}); err != nil {
					t.Fatal(err)
				}
				for _, e := range events { // one request each, as agents send them
					res, err := svc.Record(ctx, sid, []json.RawMessage{json.RawMessage(e)})
					if err != nil || !res[0].Accepted {
						t.Fatalf("%s: %+v %v", e, res, err)
					}
				}
				run, err := svc.EndRun(ctx, service.EndRunInput{SessionID: sid, Status: "completed"})
				if err != nil {
					t.Fatal(err)
				}
				return run
			}
			computed := func(sid string) []agentscope.Event {
				t.Helper()
				evs, err := st.ListEvents(ctx, "org-a", sid, agentscope.EventFilter{Types: []agentscope.EventType{agentscope.CostRecorded}})
				if err != nil {
					t.Fatal(err)
				}
				var out []agentscope.Event
				for _, ev := range evs {
					if strings.HasPrefix(ev.Source, service.ComputedSourcePrefix) {
						out = append(out, ev)
					}
				}
				return out
			}
			cases := []struct {
				sid      string
				events   []string
				cost     string
				computed int
			}{
				{"plain", []string{fmt.Sprintf(call, `,"event_id":"m1","span_id":"s1"`)}, "0.0028", 1},
				{"spanless", []string{fmt.Sprintf(call, ``)}, "0.0028", 1},
				{"reported-before", []string{`{"type":"CostRecorded","amount_usd":0.5,"span_id":"s1"}`, fmt.Sprintf(call, `,"span_id":"s1"`)}, "0.5", 0},
				{"reported-after", []string{fmt.Sprintf(call, `,"span_id":"s1"`), `{"type":"CostRecorded","amount_usd":0.5,"span_id":"s1"}`}, "0.5", 0},
				{"reported-spanless", []string{fmt.Sprintf(call, ``), `{"type":"CostRecorded","amount_usd":0.25}`}, "0.25", 0},
				{"one-of-two", []string{fmt.Sprintf(call, `,"span_id":"a"`), fmt.Sprintf(call, `,"span_id":"b"`), `{"type":"CostRecorded","amount_usd":1,"span_id":"a"}`}, "1.0028", 1},
				{"spanless-cost-for-spanned-call", []string{fmt.Sprintf(call, `,"span_id":"m1"`), `{"type":"CostRecorded","amount_usd":0.0023,"model":"gpt-4.1"}`}, "0.0023", 0},
				{"cost-of-other-model", []string{fmt.Sprintf(call, `,"span_id":"m1"`), `{"type":"CostRecorded","amount_usd":0.5,"model":"other-model"}`}, "0.5028", 1},
				{"unknown-model", []string{`{"type":"ModelCompleted","provider":"acme","model":"mystery-9","duration_ms":1,"tokens_in":10,"tokens_out":1}`}, "0", 0},
			}
			var spend agentscope.USD
			for _, c := range cases {
				run := session(c.sid, c.events...)
				if run.CostUSD.String() != c.cost {
					t.Errorf("%s: cost_usd %s, want %s", c.sid, run.CostUSD, c.cost)
				}
				spend += run.CostUSD
				got := computed(c.sid)
				if len(got) != c.computed {
					t.Errorf("%s: %d computed costs, want %d", c.sid, len(got), c.computed)
				}
				for _, ev := range got {
					if ev.Attributes["computed"] != true || ev.Model != "gpt-4.1" {
						t.Errorf("%s: computed cost %+v", c.sid, ev)
					}
				}
			}
			if got, err := st.AgentSpend(ctx, "org-a", "ext-bot", time.Now().Add(-time.Hour)); err != nil || got != spend {
				t.Errorf("agent spend %s (%v), want %s", got, err, spend)
			}
			// After the end a reported cost is refused: never both.
			res, err := svc.Record(ctx, "plain", []json.RawMessage{json.RawMessage(`{"type":"CostRecorded","amount_usd":0.5,"span_id":"s1"}`)})
			if err == nil && res[0].Accepted {
				t.Error("a cost recorded after the session ended was accepted")
			}
		})
	}
}
