package sqlstore_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestClaimReadsOnlyClaimedEvents: the Postgres claim leases rows without
// reading events, in its generic plan (which it uses); the read of the
// claimed rows whose events the hot outbox does not hold reads each row's
// events by their primary key. Both before and after the tables are
// analyzed, in generic and custom plans. A plain join had the planner read
// a session's whole index range for each row, or every event of the table
// for a hash join, so forwarding slowed as the table grew.
func TestClaimReadsOnlyClaimedEvents(t *testing.T) {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 4 {
		sid := fmt.Sprintf("s%d", i)
		evs := make([]agentscope.Event, 0, 1000)
		for j := range cap(evs) {
			evs = append(evs, agentscope.Event{Type: agentscope.ToolCalled, Tool: "t", CallID: fmt.Sprint(j), TS: time.Unix(1700000000+int64(j), 0)})
		}
		res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: "o", SessionID: sid, Start: &agentscope.Run{Agent: "a", Status: agentscope.StatusRunning}, Events: evs}})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	now := time.Now().UnixMicro()
	n := 0
	for _, c := range []struct {
		analyzed bool
		mode     string
	}{{false, "force_custom_plan"}, {false, "force_generic_plan"}, {true, "force_custom_plan"}, {true, "force_generic_plan"}} {
		n++
		analyzed := c.analyzed
		if analyzed {
			if _, err := s.Pool().Exec(ctx, "ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		plan := func(query, execArgs string) []string {
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = "+c.mode); err != nil {
				t.Fatal(err)
			}
			// A prepared statement, as pgx runs it, so that plan_cache_mode
			// chooses the plan EXPLAIN shows. PREPARE outlives the
			// transaction: DEALLOCATE before the connection goes back.
			name := fmt.Sprintf("claim_%d", n)
			if _, err := tx.Exec(ctx, "PREPARE "+name+" AS "+query); err != nil {
				t.Fatal(err)
			}
			defer func() { _, _ = tx.Conn().Exec(ctx, "DEALLOCATE "+name) }()
			rows, err := tx.Query(ctx, "EXPLAIN EXECUTE "+name+"("+execArgs+")")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return plan
		}
		for _, q := range []struct{ name, sql, args string }{
			{"the claim", sqlstore.ClaimRowsPGSQL(postgres.Dialect), fmt.Sprintf("'test', %d, %d, %d, %d, 500, 500, %d, %d", now+1, now+1, now, now, now, now)},
			{"the read of rows the hot outbox lacks", sqlstore.ClaimedEventsPGSQL(postgres.Dialect),
				"'{1,2,3,4}', '{o,o,o,o}', '{s0,s1,s2,s3}', '{1,1,1,1}', '{500,500,500,500}', '{0,0,0,0}', '{NULL,NULL,NULL,NULL}'"},
		} {
			n++
			text := strings.Join(plan(q.sql, q.args), "\n")
			// (The read's parameters are all inside unnest's Function Scan,
			// where EXPLAIN shows no $n either way.)
			if q.sql == sqlstore.ClaimRowsPGSQL(postgres.Dialect) {
				if generic := regexp.MustCompile(`\$[0-9]`).MatchString(text); generic != (c.mode == "force_generic_plan") {
					t.Fatalf("%s, %s: EXPLAIN shows a generic plan: %v", q.name, c.mode, generic)
				}
				if strings.Contains(text, " on events") {
					t.Errorf("analyzed %v, %s: %s reads events:\n%s", analyzed, c.mode, q.name, text)
				}
				continue
			}
			if !strings.Contains(text, "using events_pkey on events") || strings.Contains(text, "Seq Scan on events") || strings.Contains(text, "events_by_session_ts") {
				t.Errorf("analyzed %v, %s: %s does not read events by their primary key:\n%s", analyzed, c.mode, q.name, text)
			}
		}
	}
}
