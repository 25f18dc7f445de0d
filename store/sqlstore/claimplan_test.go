package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestClaimReadsOnlyClaimedEvents: the Postgres claim reads each claimed
// row's events by their primary key, before and after the tables are
// analyzed. A plain join had the planner read a session's whole index
// range for each row, or every event of the table for a hash join, so
// forwarding slowed as the table grew.
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
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := s.Pool().Exec(ctx, "ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+sqlstore.ClaimPostgresSQL(postgres.Dialect), "test", now+1, now+1, now, now, 500, 500, now, now)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		_ = tx.Rollback(ctx)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "using events_pkey on events") || strings.Contains(text, "Seq Scan on events") || strings.Contains(text, "events_by_session_ts") {
			t.Errorf("analyzed %v: the claim does not read events by their primary key:\n%s", analyzed, text)
		}
	}
}
