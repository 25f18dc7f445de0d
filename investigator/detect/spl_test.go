package detect

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestFindingSPL runs every finding's SPL with the embedded engine over
// the fixtures stored in SQLite: the query parses, passes the read-only
// check that guards Splunk, and lists the finding's evidence.
func TestFindingSPL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "detect.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const org = "acme"
	cases := detectorCases()
	var reqs []agentscope.AppendRequest
	for _, c := range cases {
		start := c.b.evs[0].TS
		reqs = append(reqs, agentscope.AppendRequest{OrgID: org, SessionID: c.b.id, Events: c.b.evs,
			Start: &agentscope.Run{Agent: agentOf(c.b.evs), Status: agentscope.StatusRunning, CreatedAt: start, StartedAt: &start}})
	}
	for i, res := range st.Append(ctx, reqs) {
		if res.Err != nil {
			t.Fatalf("append %s: %v", reqs[i].SessionID, res.Err)
		}
		for j, ev := range res.Events {
			if want := reqs[i].Events[j]; ev.Seq != want.Seq || ev.EventID != want.EventID {
				t.Fatalf("stored %s as seq %d, fixture says %s seq %d", ev.EventID, ev.Seq, want.EventID, want.Seq)
			}
		}
	}
	eng := spl.New(st, spl.Options{})
	ran := 0
	for _, c := range cases {
		fs, err := Run(c.b.id, c.b.evs, c.base, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if err := spl.CheckReadOnly(f.SPL); err != nil {
				t.Errorf("%s/%s: %v\n%s", c.name, f.Kind, err, f.SPL)
			}
			res, err := eng.Run(ctx, org, f.SPL, spl.QueryOptions{})
			if err != nil {
				t.Errorf("%s/%s: %v\n%s", c.name, f.Kind, err, f.SPL)
				continue
			}
			rows := map[string]map[string]any{}
			for _, r := range res.Rows {
				id, _ := r["event_id"].(string)
				rows[id] = r
			}
			for _, id := range f.EventIDs {
				if rows[id] == nil {
					t.Errorf("%s/%s: event %s is not among the %d rows of\n%s", c.name, f.Kind, id, len(res.Rows), f.SPL)
				}
			}
			for id := range rows {
				if len(id) < len(c.b.id) || id[:len(c.b.id)] != c.b.id {
					t.Errorf("%s/%s: row %s is from another session", c.name, f.Kind, id)
				}
			}
			if c.name == "loop_tool_hostile_name" && f.Kind == KindLoop {
				for id, r := range rows {
					if r["tool"] != hostileTool {
						t.Errorf("row %s has tool %q", id, r["tool"])
					}
				}
				if len(rows) != 3 {
					t.Errorf("%d rows, want the 3 calls of the hostile tool", len(rows))
				}
			}
			ran++
		}
	}
	if ran < len(Kinds()) {
		t.Errorf("only %d queries ran", ran)
	}
}

func agentOf(evs []agentscope.Event) string {
	for _, ev := range evs {
		if ev.Agent != "" {
			return ev.Agent
		}
	}
	return "planner"
}
