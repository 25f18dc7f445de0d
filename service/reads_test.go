package service_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// TestReads: on both stores, the reads the web pages make see only the
// context's organisation and refuse what the tools refuse.
func TestReads(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := serviceOver(t, open(t))
			mine, theirs := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-a")), agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-b"))
			if _, err := svc.StartRun(mine, service.StartRunInput{Agent: "bot", SessionID: "r-1"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Record(mine, "r-1", []json.RawMessage{json.RawMessage(`{"type":"ToolCalled","tool":"t","call_id":"1"}`)}); err != nil {
				t.Fatal(err)
			}

			if evs, err := svc.ListEvents(mine, "r-1", agentscope.EventFilter{}); err != nil || len(evs) != 2 {
				t.Errorf("ListEvents: %d events, %v; want 2", len(evs), err)
			}
			if _, err := svc.ListEvents(theirs, "r-1", agentscope.EventFilter{}); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Errorf("ListEvents of another organisation's session: %v, want not found", err)
			}
			if _, err := svc.ListEvents(mine, "../r-1", agentscope.EventFilter{}); agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Errorf("ListEvents of a bad session id: %v, want invalid", err)
			}
			for ctx, want := range map[context.Context]int{mine: 2, theirs: 0} {
				n := 0
				err := svc.ScanEvents(ctx, agentscope.EventQuery{}, func(evs []agentscope.Event) (bool, error) { n += len(evs); return true, nil })
				if err != nil || n != want {
					t.Errorf("ScanEvents: %d events, %v; want %d", n, err, want)
				}
			}
			if page, err := svc.Runs(mine, agentscope.RunFilter{Agent: "bot"}); err != nil || len(page.Runs) != 1 {
				t.Errorf("Runs: %+v, %v", page, err)
			}
			if page, err := svc.Runs(theirs, agentscope.RunFilter{}); err != nil || len(page.Runs) != 0 {
				t.Errorf("Runs of another organisation: %+v, %v", page, err)
			}
			for _, f := range []agentscope.RunFilter{{Limit: service.MaxRunsPage + 1}, {Limit: -1}, {Status: "sleeping"}} {
				if _, err := svc.Runs(mine, f); agentscope.ErrorCode(err) != agentscope.EINVALID {
					t.Errorf("Runs(%+v): %v, want invalid", f, err)
				}
			}
			if agents, err := svc.ListAgents(mine); err != nil || len(agents) != 1 || agents[0].Name != "bot" {
				t.Errorf("ListAgents: %+v, %v", agents, err)
			}
			if _, err := svc.GetAgent(theirs, "bot"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Errorf("GetAgent of another organisation's agent: %v, want not found", err)
			}
			if _, err := svc.ListAgents(context.Background()); err == nil {
				t.Error("ListAgents without an organisation answered")
			}
		})
	}
}
