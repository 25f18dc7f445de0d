package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
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

// serviceOver returns a service over st, its recorder closed when the test
// ends.
func serviceOver(t *testing.T, st agentscope.Store) *service.Service {
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	t.Cleanup(func() { rec.Close() })
	return service.New(rec, service.Options{})
}

// gpt-4.1 is $2 in and $8 out per million tokens: 1,000 in and 100 out is
// $0.0028.
const call = `{"type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":900,"tokens_in":1000,"tokens_out":100%s}`

// TestComputedCost: on both stores, a self-reported model call without a
// reported cost is priced from the table when its session ends, marked
// computed and counted in the run's cost and the agent's spend; a reported
// cost for the call (by span, or span-less for span-less calls), sent
// before or with it, wins and nothing is computed; an unknown model gets
// none, and the run counts its call as unpriced; a reported cost after the
// end is refused, so never both.
func TestComputedCost(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			svc := serviceOver(t, st)
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a"))
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
				unpriced int64 // calls left with an unknown cost
			}{
				{"plain", []string{fmt.Sprintf(call, `,"event_id":"m1","span_id":"s1"`)}, "0.0028", 1, 0},
				{"spanless", []string{fmt.Sprintf(call, ``)}, "0.0028", 1, 0},
				{"reported-before", []string{`{"type":"CostRecorded","amount_usd":0.5,"span_id":"s1"}`, fmt.Sprintf(call, `,"span_id":"s1"`)}, "0.5", 0, 0},
				{"reported-after", []string{fmt.Sprintf(call, `,"span_id":"s1"`), `{"type":"CostRecorded","amount_usd":0.5,"span_id":"s1"}`}, "0.5", 0, 0},
				{"reported-spanless", []string{fmt.Sprintf(call, ``), `{"type":"CostRecorded","amount_usd":0.25}`}, "0.25", 0, 0},
				{"one-of-two", []string{fmt.Sprintf(call, `,"span_id":"a"`), fmt.Sprintf(call, `,"span_id":"b"`), `{"type":"CostRecorded","amount_usd":1,"span_id":"a"}`}, "1.0028", 1, 0},
				{"spanless-cost-for-spanned-call", []string{fmt.Sprintf(call, `,"span_id":"m1"`), `{"type":"CostRecorded","amount_usd":0.0023,"model":"gpt-4.1"}`}, "0.0023", 0, 0},
				{"cost-of-other-model", []string{fmt.Sprintf(call, `,"span_id":"m1"`), `{"type":"CostRecorded","amount_usd":0.5,"model":"other-model"}`}, "0.5028", 1, 0},
				// A cost whose span_id no call has is still some call's cost.
				{"cost-of-unknown-span", []string{fmt.Sprintf(call, `,"span_id":"m1"`), `{"type":"CostRecorded","amount_usd":0.5,"span_id":"elsewhere"}`}, "0.5", 0, 0},
				// A resent call (same event_id) is one call with one cost.
				{"resent-call", []string{fmt.Sprintf(call, `,"event_id":"m1"`), fmt.Sprintf(call, `,"event_id":"m1"`)}, "0.0028", 1, 0},
				{"unknown-model", []string{`{"type":"ModelCompleted","provider":"acme","model":"mystery-9","duration_ms":1,"tokens_in":10,"tokens_out":1}`}, "0", 0, 1},
				// One call priced from the table, one the table does not know,
				// one whose usage was unknown: the run's cost is the known part.
				{"known-and-unknown", []string{fmt.Sprintf(call, `,"span_id":"a"`), `{"type":"ModelCompleted","provider":"acme","model":"mystery-9","duration_ms":1,"tokens_in":10,"tokens_out":1,"span_id":"b"}`,
					`{"type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":1,"tokens_in":0,"tokens_out":0,"span_id":"c","attributes":{"usage_unknown":true}}`}, "0.0028", 1, 2},
				// A reported cost covers the call whatever its model.
				{"unknown-model-reported", []string{`{"type":"ModelCompleted","provider":"acme","model":"mystery-9","duration_ms":1,"tokens_in":10,"tokens_out":1,"span_id":"m"}`, `{"type":"CostRecorded","amount_usd":0.1,"span_id":"m"}`}, "0.1", 0, 0},
			}
			var spend agentscope.USD
			for _, c := range cases {
				run := session(c.sid, c.events...)
				if run.CostUSD.String() != c.cost {
					t.Errorf("%s: cost_usd %s, want %s", c.sid, run.CostUSD, c.cost)
				}
				if run.UnpricedCalls != c.unpriced {
					t.Errorf("%s: %d unpriced calls, want %d", c.sid, run.UnpricedCalls, c.unpriced)
				}
				if stored, err := st.GetRun(ctx, "org-a", c.sid); err != nil || stored.UnpricedCalls != c.unpriced {
					t.Errorf("%s: the stored run has %d unpriced calls (%v), want %d", c.sid, stored.UnpricedCalls, err, c.unpriced)
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
			// end_run sent again (a retry) adds nothing.
			if _, err := svc.EndRun(ctx, service.EndRunInput{SessionID: "plain", Status: "completed"}); agentscope.ErrorCode(err) != agentscope.ECONFLICT {
				t.Errorf("second end_run: %v, want conflict", err)
			}
			if got := computed("plain"); len(got) != 1 {
				t.Errorf("%d computed costs after a second end_run, want 1", len(got))
			}
			if got, err := st.AgentSpend(ctx, "org-a", "ext-bot", time.Now().Add(-time.Hour)); err != nil || got != spend {
				t.Errorf("agent spend after a second end_run %s (%v), want %s", got, err, spend)
			}
		})
	}
}

// costInjector is a store whose first listing of a session's events lets a
// reported cost arrive just after it: the agent's cost lands while end_run
// prices the calls it read.
type costInjector struct {
	agentscope.Store
	once   sync.Once
	inject func()
}

func (c *costInjector) ListEvents(ctx context.Context, org, sid string, f agentscope.EventFilter) ([]agentscope.Event, error) {
	evs, err := c.Store.ListEvents(ctx, org, sid, f)
	c.once.Do(c.inject)
	return evs, err
}

// TestComputedCostRace: a reported cost that commits after end_run read the
// session's calls, before its commit, wins: the end is priced again and
// only the reported cost counts, in the run's cost and the agent's spend.
func TestComputedCostRace(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			inj := &costInjector{Store: st}
			svc := serviceOver(t, inj)
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a"))
			if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "ext-bot", SessionID: "race"}); err != nil {
				t.Fatal(err)
			}
			if res, err := svc.Record(ctx, "race", []json.RawMessage{json.RawMessage(fmt.Sprintf(call, `,"span_id":"s1"`))}); err != nil || !res[0].Accepted {
				t.Fatalf("%+v %v", res, err)
			}
			inj.inject = func() {
				amount, _ := agentscope.ParseUSD("0.5")
				res := st.Append(ctx, []agentscope.AppendRequest{{OrgID: "org-a", SessionID: "race", Events: []agentscope.Event{
					{EventID: "late", Type: agentscope.CostRecorded, TS: time.Now(), SpanID: "s1", AmountUSD: &amount},
				}}})
				if res[0].Err != nil {
					t.Errorf("late cost: %v", res[0].Err)
				}
			}
			run, err := svc.EndRun(ctx, service.EndRunInput{SessionID: "race", Status: "completed"})
			if err != nil {
				t.Fatal(err)
			}
			if run.CostUSD.String() != "0.5" || run.Status != agentscope.StatusCompleted {
				t.Errorf("run cost %s status %s, want 0.5 completed (the reported cost alone)", run.CostUSD, run.Status)
			}
			if got, err := st.AgentSpend(ctx, "org-a", "ext-bot", time.Now().Add(-time.Hour)); err != nil || got.String() != "0.5" {
				t.Errorf("agent spend %s (%v), want 0.5", got, err)
			}
		})
	}
}

// TestComputedCostRefusals: a client cannot send a cost marked computed,
// and a managed run's calls are never priced by end_run (the runtime
// records their costs).
func TestComputedCostRefusals(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			svc := serviceOver(t, st)
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a"))
			if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "ext-bot", SessionID: "s"}); err != nil {
				t.Fatal(err)
			}
			res, err := svc.Record(ctx, "s", []json.RawMessage{json.RawMessage(`{"type":"CostRecorded","amount_usd":0.5,"source":"computed:by-me"}`)})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Accepted || res[0].Code != agentscope.EINVALID || !strings.Contains(res[0].Error, "source") {
				t.Errorf("a client cost with a computed source: %+v, want refused naming source", res[0])
			}

			now := time.Now().UTC()
			start := st.Append(ctx, []agentscope.AppendRequest{{OrgID: "org-a", SessionID: "managed",
				Start:  &agentscope.Run{Agent: "runner", Status: agentscope.StatusRunning, Managed: true, StartedAt: &now},
				Events: []agentscope.Event{{Type: agentscope.SessionStarted, TS: now, Agent: "runner"}}}})
			if start[0].Err != nil {
				t.Fatal(start[0].Err)
			}
			if res, err := svc.Record(ctx, "managed", []json.RawMessage{json.RawMessage(fmt.Sprintf(call, ``))}); err != nil || !res[0].Accepted {
				t.Fatalf("%+v %v", res, err)
			}
			run, err := svc.EndRun(ctx, service.EndRunInput{SessionID: "managed", Status: "completed"})
			if err != nil {
				t.Fatal(err)
			}
			if run.CostUSD != 0 || run.EventCount != 3 {
				t.Errorf("managed run: cost %s, %d events; want 0 and 3 (nothing computed)", run.CostUSD, run.EventCount)
			}
		})
	}
}
