package main

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// TestFailedReportRiskNotAssessed: a failed investigation (no model) must
// not print as an assessed low risk; a completed one prints the model's.
func TestFailedReportRiskNotAssessed(t *testing.T) {
	var b strings.Builder
	printReport(&b, agentscope.Report{SessionID: "inv", TargetSessionID: "s", Agent: "a", Status: agentscope.ReportFailed,
		Error: "no model is available", RiskLevel: agentscope.RiskLow})
	if out := b.String(); !strings.Contains(out, "Risk: NOT ASSESSED (DETECTORS: LOW)") || strings.Contains(out, "Risk: LOW") {
		t.Errorf("failed report printed as:\n%s", out)
	}
	b.Reset()
	printReport(&b, agentscope.Report{SessionID: "inv", TargetSessionID: "s", Agent: "a", Status: agentscope.ReportCompleted,
		ModelAnalysis: true, RiskLevel: agentscope.RiskHigh})
	if out := b.String(); !strings.Contains(out, "Risk: HIGH\n") {
		t.Errorf("completed report printed as:\n%s", out)
	}
}
