package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// TestFailedInvestigationNeverShowsARisk: a failed investigation's panel
// says it failed and why (escaped), and shows no risk badge even when the
// report carries a risk level; a completed one shows its risk.
func TestFailedInvestigationNeverShowsARisk(t *testing.T) {
	render := func(rep agentscope.Report) string {
		var b strings.Builder
		p := ReportPanel{Configured: true, Target: "s1", Report: &ReportView{Report: rep}}
		if err := ReportPanelSection(p, "").Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	failed := render(agentscope.Report{SessionID: "inv-1", TargetSessionID: "s1", Status: agentscope.ReportFailed,
		RiskLevel: agentscope.RiskLevel("low"), Error: "no LLM credentials <configured>"})
	for _, want := range []string{"investigation failed", "The investigation failed:", "no LLM credentials &lt;configured&gt;"} {
		if !strings.Contains(failed, want) {
			t.Errorf("failed report panel lacks %q:\n%s", want, failed)
		}
	}
	for _, bad := range []string{"risk low", `data-risk="low"`, "<configured>"} {
		if strings.Contains(failed, bad) {
			t.Errorf("failed report panel shows %q:\n%s", bad, failed)
		}
	}
	done := render(agentscope.Report{SessionID: "inv-2", TargetSessionID: "s1", Status: agentscope.ReportCompleted, RiskLevel: agentscope.RiskLevel("high")})
	if !strings.Contains(done, "risk high") || strings.Contains(done, "investigation failed") {
		t.Errorf("completed report panel:\n%s", done)
	}
}
