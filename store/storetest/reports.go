package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlstore"
)

func testReports(t *testing.T, connect func() *sqlstore.Store) {
	s := connect()
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	mk := func(sid, target, agent string, risk agentscope.RiskLevel, at time.Duration) agentscope.Report {
		return agentscope.Report{SessionID: sid, TargetSessionID: target, Agent: agent, Status: agentscope.ReportCompleted,
			CreatedAt: base.Add(at), ModelAnalysis: true, Summary: "s " + sid, RiskLevel: risk,
			Findings:         []agentscope.ReportFinding{{Title: "loop", Severity: risk, Evidence: []string{"e1"}, Explanation: "x"}},
			Recommendations:  []string{"cap retries"},
			DetectorFindings: []agentscope.DetectorFinding{{Kind: "loop", Severity: agentscope.RiskHigh, EventIDs: []string{"e1"}, Seqs: []int64{3}, SPL: `session_id="t1"`}},
			SPLQueries:       []agentscope.SPLQuery{{Query: `session_id="t1" | table _time`, Purpose: "timeline", Rows: 9}},
		}
	}
	reports := []agentscope.Report{
		mk("inv-1", "t1", "bot", agentscope.RiskHigh, 0),
		mk("inv-2", "t1", "bot", agentscope.RiskLow, time.Minute),
		mk("inv-3", "t2", "other", agentscope.RiskCritical, 2*time.Minute),
	}
	for _, r := range reports {
		if err := s.PutReport(ctx, org, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutReport(ctx, "org-b", mk("inv-b", "tb", "bot", agentscope.RiskHigh, 0)); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetReport(ctx, org, "inv-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, reports[0]) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, reports[0])
	}
	// By the investigated session: the latest report about it.
	if got, err := s.GetReport(ctx, org, "t1"); err != nil || got.SessionID != "inv-2" {
		t.Fatalf("by target: %v %v", got.SessionID, err)
	}
	// Organisations are apart.
	if _, err := s.GetReport(ctx, org, "inv-b"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("org-b's report seen from %s: %v", org, err)
	}
	if _, err := s.GetReport(ctx, "org-b", "inv-1"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Fatalf("%s's report seen from org-b: %v", org, err)
	}

	ids := func(f agentscope.ReportFilter) []string {
		t.Helper()
		rs, err := s.ListReports(ctx, org, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, r := range rs {
			out = append(out, r.SessionID)
		}
		return out
	}
	for _, tc := range []struct {
		f    agentscope.ReportFilter
		want []string
	}{
		{agentscope.ReportFilter{}, []string{"inv-3", "inv-2", "inv-1"}},
		{agentscope.ReportFilter{RiskLevel: agentscope.RiskHigh}, []string{"inv-1"}},
		{agentscope.ReportFilter{Agent: "bot"}, []string{"inv-2", "inv-1"}},
		{agentscope.ReportFilter{Since: base.Add(time.Minute)}, []string{"inv-3", "inv-2"}},
		{agentscope.ReportFilter{Limit: 1}, []string{"inv-3"}},
	} {
		if got := ids(tc.f); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListReports(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	if _, err := s.ListReports(ctx, org, agentscope.ReportFilter{RiskLevel: "severe"}); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Fatalf("bad risk level: %v", err)
	}

	// The investigated session has ended: its link to the report is still
	// appended; an ordinary event is not.
	res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "t9", Start: &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusCompleted}}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	link := agentscope.Event{EventID: "link-1", Type: agentscope.InvestigationReported, TS: base, Attributes: map[string]any{"investigation_session_id": "inv-9"}}
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "t9", Events: []agentscope.Event{link}}}); res[0].Err != nil {
		t.Fatalf("annotation on an ended session: %v", res[0].Err)
	}
	tool := agentscope.Event{EventID: "tool-1", Type: agentscope.ToolCalled, TS: base, Tool: "x", CallID: "c"}
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "t9", Events: []agentscope.Event{link, tool}}}); agentscope.ErrorCode(res[0].Err) != agentscope.ECONFLICT {
		t.Fatalf("ordinary event on an ended session: %v", res[0].Err)
	}
	if res := s.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "t9", Events: []agentscope.Event{link}, Update: &agentscope.RunUpdate{Status: agentscope.StatusFailed}}}); agentscope.ErrorCode(res[0].Err) != agentscope.ECONFLICT {
		t.Fatalf("status change of an ended session: %v", res[0].Err)
	}

	// Replacing a report (an investigation that failed, then retried).
	r := reports[2]
	r.Status, r.Error, r.RiskLevel = agentscope.ReportFailed, "no LLM key", agentscope.RiskMedium
	if err := s.PutReport(ctx, org, r); err != nil {
		t.Fatal(err)
	}
	if got := ids(agentscope.ReportFilter{RiskLevel: agentscope.RiskCritical}); len(got) != 0 {
		t.Fatalf("replaced report still indexed as critical: %v", got)
	}
	if got, _ := s.GetReport(ctx, org, "inv-3"); got.Status != agentscope.ReportFailed || got.Error != "no LLM key" {
		t.Fatalf("replaced: %+v", got)
	}
}
