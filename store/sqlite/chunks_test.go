package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestAppendInChunks: one group commit of several sessions, whose events
// SQLite inserts in chunks of the prepared sizes, stores every event once
// with its seq and body, and enqueues one outbox row per session's run of
// events, however the chunks cut the batch.
func TestAppendInChunks(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	sizes := map[string]int{"s300": 300, "s77": 77, "s1": 1, "s256": 256}
	var reqs []agentscope.AppendRequest
	for sid, n := range sizes {
		evs := []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bot", TS: now}}
		for i := range n - 1 {
			evs = append(evs, agentscope.Event{EventID: fmt.Sprintf("%s-%d", sid, i), Type: agentscope.ToolCalled, Tool: "t", TS: now})
		}
		reqs = append(reqs, agentscope.AppendRequest{OrgID: "o", SessionID: sid, Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, StartedAt: &now}, Events: evs})
	}
	for i, res := range st.Append(ctx, reqs) {
		if res.Err != nil || len(res.Events) != sizes[reqs[i].SessionID] {
			t.Fatalf("append %s: %d events, %v", reqs[i].SessionID, len(res.Events), res.Err)
		}
	}
	for sid, n := range sizes {
		var count, lo, hi, bodies int
		if err := st.WriteDB().QueryRow(`SELECT count(*), min(seq), max(seq), count(DISTINCT body) FROM events WHERE org_id = 'o' AND session_id = ?`, sid).Scan(&count, &lo, &hi, &bodies); err != nil {
			t.Fatal(err)
		}
		if count != n || lo != 1 || hi != n || bodies != n {
			t.Errorf("%s: %d events, seqs %d..%d, %d distinct bodies; want %d, 1..%d", sid, count, lo, hi, bodies, n, n)
		}
		rows, err := st.WriteDB().Query(`SELECT seq, seq_end FROM outbox WHERE org_id = 'o' AND session_id = ?`, sid)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var from, to int
			if err := rows.Scan(&from, &to); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d..%d", from, to))
		}
		rows.Close()
		if want := fmt.Sprintf("[1..%d]", n); fmt.Sprint(got) != want {
			t.Errorf("%s: outbox rows %v, want %s", sid, got, want)
		}
	}
}
