package investigator_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/spl"
)

func TestInvestigationEndToEnd(t *testing.T) {
	for _, b := range backends() {
		for _, ev := range []evidenceKind{viaAgentScope, viaSplunk} {
			name := map[evidenceKind]string{viaAgentScope: "agentscope-mcp", viaSplunk: "splunk-mcp"}[ev]
			t.Run(b.Name+"/"+name, func(t *testing.T) {
				ib := newInvestigator(t, b, invConfig{evidence: ev})
				ids := ib.loopingSession(t, "loop-1")
				ib.llm.Handle(func(r llmtest.Request) llmtest.Reply {
					return llmtest.Reply{Content: reportJSON, Usage: llmtest.Usage{PromptTokens: 3000, CompletionTokens: 200}}
				})
				run, rep := ib.investigate(t, "loop-1")
				if run.Status != agentscope.StatusCompleted {
					t.Fatalf("investigation %s: %s", run.Status, run.Error)
				}
				if rep.Status != agentscope.ReportCompleted || !rep.ModelAnalysis || rep.TargetSessionID != "loop-1" || rep.Agent != "support-bot" || rep.EvidenceBackend != name {
					t.Fatalf("report %+v", rep)
				}
				// Grounding: the fabricated and the evidence-less findings are dropped.
				if len(rep.Findings) != 1 || rep.Findings[0].Title != "Repeated identical tool calls" || rep.UngroundedDropped != 2 {
					t.Fatalf("findings %+v, dropped %d", rep.Findings, rep.UngroundedDropped)
				}
				// The detectors saw the loop and the unexplained switch; the
				// risk is raised to their severity.
				if k := kinds(rep); !strings.Contains(k, "loop") || !strings.Contains(k, "provider_switch") {
					t.Fatalf("detector kinds %q", k)
				}
				for _, f := range rep.DetectorFindings {
					// The loop is reported when it reaches 3 identical calls.
					if f.Kind == "loop" && strings.Join(f.EventIDs, ",") != "call-1,call-2,call-3" {
						t.Errorf("loop evidence %v", f.EventIDs)
					}
				}
				// The model said medium; the report's risk is the higher of
				// that and the detectors' (the loop is high).
				if want := max(agentscope.RiskMedium.Rank(), maxRank(rep)); rep.RiskLevel.Rank() != want || want < agentscope.RiskHigh.Rank() {
					t.Errorf("risk %s, detectors' highest rank %d", rep.RiskLevel, maxRank(rep))
				}
				// Every query ran through the MCP process, verbatim, and re-runs
				// unchanged in the embedded engine with the same row count.
				if len(rep.SPLQueries) < 3 || rep.SPLQueries[0].Purpose != "the investigated session's events in order" {
					t.Fatalf("queries %+v", rep.SPLQueries)
				}
				engine := spl.New(ib.Store, spl.Options{})
				for _, q := range rep.SPLQueries {
					if q.Error != "" || q.Backend != name {
						t.Errorf("query %+v", q)
					}
					res, err := engine.Run(context.Background(), org, q.Query, spl.QueryOptions{})
					got := 0
					for _, row := range res.Rows {
						// The link to the report was appended after the search.
						if row["type"] != string(agentscope.InvestigationReported) {
							got++
						}
					}
					if err != nil || got != q.Rows {
						t.Errorf("re-running %q: %v, %d rows, report says %d", q.Query, err, got, q.Rows)
					}
				}
				// The timeline held the target's events (SessionStarted, the 13
				// recorded, the computed cost of its one unpriced model call,
				// SessionCompleted) and nothing of the investigation's.
				if rep.SPLQueries[0].Rows != len(ids)+3 {
					t.Errorf("timeline rows %d, want %d", rep.SPLQueries[0].Rows, len(ids)+3)
				}
				reqs := ib.llm.Requests()
				if len(reqs) != 1 || !strings.Contains(string(reqs[0].ResponseFormat), `"json_schema"`) {
					t.Fatalf("model requests %d, response_format %s", len(reqs), reqs[0].ResponseFormat)
				}
				var brief struct {
					Timeline []map[string]any `json:"timeline"`
				}
				if err := json.Unmarshal([]byte(reqs[0].LastUser()), &brief); err != nil {
					t.Fatal(err)
				}
				for _, row := range brief.Timeline {
					if row["session_id"] != "loop-1" {
						t.Fatalf("the model saw a row of another session: %v", row)
					}
				}
				if len(brief.Timeline) != len(ids)+3 {
					t.Errorf("brief timeline %d rows", len(brief.Timeline))
				}
				// The investigation is recorded like any run, and the target's
				// timeline links to the report.
				own := ib.Events(t, run.SessionID)
				if len(find(own, agentscope.ToolCalled)) != len(rep.SPLQueries) || len(find(own, agentscope.ModelCompleted)) != 1 || len(find(own, agentscope.CostRecorded)) != 1 {
					t.Errorf("investigation events: %s", types(own))
				}
				links := find(ib.Events(t, "loop-1"), agentscope.InvestigationReported)
				if len(links) != 1 || attr(links[0], "investigation_session_id") != run.SessionID || attr(links[0], "risk_level") != string(rep.RiskLevel) {
					t.Errorf("link events %+v", links)
				}
				// Reports are found by either session and listed.
				if r2, err := ib.inv.GetReport(ib.Ctx(), "loop-1"); err != nil || r2.SessionID != run.SessionID {
					t.Errorf("report by target: %v %v", r2.SessionID, err)
				}
				if rs, err := ib.inv.ListReports(ib.Ctx(), agentscope.ReportFilter{Agent: "support-bot"}); err != nil || len(rs) != 1 {
					t.Errorf("list reports: %d %v", len(rs), err)
				}
			})
		}
	}
}

func maxRank(r agentscope.Report) int {
	m := 0
	for _, f := range r.DetectorFindings {
		m = max(m, f.Severity.Rank())
	}
	return m
}

func TestInvestigationRepairsInvalidReport(t *testing.T) {
	b := backends()[0]
	ib := newInvestigator(t, b, invConfig{evidence: viaAgentScope})
	ib.loopingSession(t, "loop-2")
	ib.llm.Script(
		llmtest.Reply{Content: "The agent looped. Risk: high."},
		llmtest.Reply{Content: `{"summary":"x","risk_level":"severe","findings":[],"recommendations":[]}`},
		llmtest.Reply{Content: "```json\n" + reportJSON + "\n```"},
	)
	run, rep := ib.investigate(t, "loop-2")
	if run.Status != agentscope.StatusCompleted || rep.Status != agentscope.ReportCompleted || len(rep.Findings) != 1 {
		t.Fatalf("run %s (%s), report %+v", run.Status, run.Error, rep)
	}
	reqs := ib.llm.Requests()
	if len(reqs) != 3 || !strings.Contains(reqs[1].LastUser(), "not JSON") || !strings.Contains(reqs[2].LastUser(), "risk_level") {
		t.Fatalf("repair requests: %d; %q; %q", len(reqs), reqs[1].LastUser(), reqs[len(reqs)-1].LastUser())
	}

	// Invalid three times: the run fails, the detectors' findings stay.
	ib.loopingSession(t, "loop-3")
	ib.llm.Script(llmtest.Reply{Content: "no"}, llmtest.Reply{Content: "{}"}, llmtest.Reply{Content: `{"summary":""}`})
	run, rep = ib.investigate(t, "loop-3")
	if run.Status != agentscope.StatusFailed || !strings.Contains(run.Error, "invalid after 3 attempts") {
		t.Fatalf("run %s: %s", run.Status, run.Error)
	}
	if rep.Status != agentscope.ReportFailed || rep.ModelAnalysis || len(rep.Findings) != 0 || !strings.Contains(kinds(rep), "loop") {
		t.Fatalf("report %+v", rep)
	}
}

func TestInvestigationFailsClosed(t *testing.T) {
	b := backends()[0]
	for _, tc := range []struct {
		name string
		cfg  invConfig
		want string
	}{
		{"no LLM key", invConfig{evidence: viaAgentScope, noLLM: true}, "no API key"},
		{"Splunk MCP server exits at once", invConfig{evidence: viaSplunk, splunkArgs: []string{"-mode", "exit"}}, "evidence search failed"},
		{"search error", invConfig{evidence: viaSplunk, splunkArgs: []string{"-mode", "fail"}}, "license expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ib := newInvestigator(t, b, tc.cfg)
			ib.loopingSession(t, "loop-x")
			ib.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: reportJSON} })
			run, rep := ib.investigate(t, "loop-x")
			if run.Status != agentscope.StatusFailed || !strings.Contains(run.Error, tc.want) {
				t.Fatalf("run %s: %q, want failed naming %q", run.Status, run.Error, tc.want)
			}
			if rep.Status != agentscope.ReportFailed || rep.ModelAnalysis || rep.Summary != "" || len(rep.Findings) != 0 || !strings.Contains(rep.Error, tc.want) {
				t.Fatalf("report %+v", rep)
			}
			if k := kinds(rep); !strings.Contains(k, "loop") {
				t.Fatalf("the detectors' findings are not kept: %q", k)
			}
			if n := len(ib.llm.Requests()); n != 0 {
				t.Errorf("the model was called %d times", n)
			}
			if failed := find(ib.Events(t, run.SessionID), agentscope.RunFailed); len(failed) != 1 || !strings.Contains(failed[0].Error, tc.want) {
				t.Errorf("RunFailed events %+v", failed)
			}
		})
	}
}

// TestInvestigationSurvivesServerCrash: the Splunk MCP server dies during
// the first search; the client spawns it again and the search is retried.
func TestInvestigationSurvivesServerCrash(t *testing.T) {
	crash := filepath.Join(t.TempDir(), "crashed")
	ib := newInvestigator(t, backends()[0], invConfig{evidence: viaSplunk, splunkArgs: []string{"-crash-file", crash}})
	ib.loopingSession(t, "loop-c")
	ib.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: reportJSON} })
	run, rep := ib.investigate(t, "loop-c")
	if _, err := os.Stat(crash); err != nil {
		t.Fatalf("the server did not crash: %v", err)
	}
	if run.Status != agentscope.StatusCompleted || rep.Status != agentscope.ReportCompleted || rep.SPLQueries[0].Rows == 0 {
		t.Fatalf("run %s (%s), report %+v", run.Status, run.Error, rep)
	}
}

func TestInvestigateRefusals(t *testing.T) {
	ib := newInvestigator(t, backends()[0], invConfig{evidence: viaAgentScope})
	for _, tc := range []struct{ sid, code string }{
		{"no such session", agentscope.EINVALID},
		{"missing-1", agentscope.ENOTFOUND},
	} {
		if _, err := ib.inv.Investigate(ib.Ctx(), tc.sid); agentscope.ErrorCode(err) != tc.code {
			t.Errorf("Investigate(%q) = %v, want %s", tc.sid, err, tc.code)
		}
	}
	// Another organisation's session is not found.
	ib.loopingSession(t, "loop-o")
	if _, err := ib.inv.Investigate(agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-other")), "loop-o"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("cross-org investigate: %v", err)
	}
}

// TestAutoInvestigation: with AutoInvestigate, a run that ends failed is
// investigated once, and the investigation itself is not.
func TestAutoInvestigation(t *testing.T) {
	ib := newInvestigator(t, backends()[0], invConfig{evidence: viaAgentScope, auto: true})
	ib.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "not a report"} })
	ctx := ib.Ctx()
	if _, err := ib.Svc.StartRun(ctx, service.StartRunInput{Agent: "support-bot", SessionID: "ok-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Svc.EndRun(ctx, service.EndRunInput{SessionID: "ok-1", Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Svc.StartRun(ctx, service.StartRunInput{Agent: "support-bot", SessionID: "bad-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Svc.EndRun(ctx, service.EndRunInput{SessionID: "bad-1", Status: "failed", Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	var rep agentscope.Report
	eventually(t, 60*time.Second, "the failed run's investigation report", func() bool {
		r, err := ib.inv.GetReport(ctx, "bad-1")
		rep = r
		return err == nil
	})
	// The investigation failed (the model never answers validly): that
	// failed run is not investigated in turn, and the completed run never was.
	inv := ib.Wait(t, rep.SessionID, 60*time.Second)
	if inv.Status != agentscope.StatusFailed {
		t.Fatalf("investigation %s", inv.Status)
	}
	// A completed run that went over a budget is investigated too.
	if _, err := ib.Svc.StartRun(ctx, service.StartRunInput{Agent: "support-bot", SessionID: "over-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: "over-1", Events: []agentscope.Event{{EventID: agentscope.NewEventID(),
		Type: agentscope.BudgetWarning, TS: time.Now(), Error: "agent \"support-bot\" has spent $2 of its $1 day soft budget"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Svc.EndRun(ctx, service.EndRunInput{SessionID: "over-1", Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the over-budget run's investigation report", func() bool {
		_, err := ib.inv.GetReport(ctx, "over-1")
		return err == nil
	})
	// The watcher handles triggers in order: once a later failed run's
	// report exists, a trigger from the failed investigation would have
	// been handled too.
	if _, err := ib.Svc.StartRun(ctx, service.StartRunInput{Agent: "support-bot", SessionID: "bad-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Svc.EndRun(ctx, service.EndRunInput{SessionID: "bad-2", Status: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the cancelled run's investigation report", func() bool {
		_, err := ib.inv.GetReport(ctx, "bad-2")
		return err == nil
	})
	if _, err := ib.inv.GetReport(ctx, "ok-1"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("the completed run was investigated: %v", err)
	}
	if rs, _ := ib.inv.ListReports(ctx, agentscope.ReportFilter{}); len(rs) != 3 {
		t.Errorf("%d reports, want 3 (no investigation of an investigation)", len(rs))
	}
	page, err := ib.Store.ListRuns(context.Background(), org, agentscope.RunFilter{Agent: agentscope.InvestigatorAgent})
	if err != nil || len(page.Runs) != 3 {
		t.Errorf("investigator runs: %d %v", len(page.Runs), err)
	}
}

// TestInvestigationRetriesTransientModelFailure: the model provider fails
// once with a 500; the run is attempted again and its report replaces the
// interim failed one; the target's timeline links each outcome once.
func TestInvestigationRetriesTransientModelFailure(t *testing.T) {
	ib := newInvestigator(t, backends()[0], invConfig{evidence: viaAgentScope})
	ib.loopingSession(t, "loop-t")
	ib.llm.Script(
		llmtest.Reply{Status: 500, ErrorMessage: "The server had an error while processing your request.", ErrorType: "server_error"},
		llmtest.Reply{Content: reportJSON},
	)
	run, rep := ib.investigate(t, "loop-t")
	if run.Status != agentscope.StatusCompleted || rep.Status != agentscope.ReportCompleted || len(rep.Findings) != 1 {
		t.Fatalf("run %s (%s), report %+v", run.Status, run.Error, rep)
	}
	if retried := find(ib.Events(t, run.SessionID), agentscope.RunRetried); len(retried) != 1 {
		t.Errorf("RunRetried events: %d", len(retried))
	}
	links := find(ib.Events(t, "loop-t"), agentscope.InvestigationReported)
	if len(links) != 2 || attr(links[0], "report_status") != "failed" || attr(links[1], "report_status") != "completed" {
		t.Errorf("links %+v", links)
	}
}

// A model that adds fields of its own — a confidence, and spl_queries, which
// the report schema names — has answered: the run completes without a
// repair, and the report's queries are the ones the investigation ran.
func TestInvestigationIgnoresExtraFields(t *testing.T) {
	ib := newInvestigator(t, backends()[0], invConfig{evidence: viaAgentScope})
	ib.loopingSession(t, "loop-extra")
	const invented = `index=invented | stats count`
	extra := strings.Replace(reportJSON, `"risk_level":"medium",`,
		`"risk_level":"medium","confidence":0.9,"spl_queries":[{"query":"`+invented+`","rows":7}],`, 1)
	extra = strings.Replace(extra, `"explanation":"lookup_order with order 42 four times."`,
		`"explanation":"lookup_order with order 42 four times.","confidence":"high"`, 1)
	if extra == reportJSON || !json.Valid([]byte(extra)) {
		t.Fatal("the test's report did not change")
	}
	ib.llm.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: extra} })
	run, rep := ib.investigate(t, "loop-extra")
	if run.Status != agentscope.StatusCompleted || rep.Status != agentscope.ReportCompleted || !rep.ModelAnalysis {
		t.Fatalf("run %s (%s), report %+v", run.Status, run.Error, rep)
	}
	if n := len(ib.llm.Requests()); n != 1 {
		t.Fatalf("%d model requests: extra fields were sent back for repair", n)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Title != "Repeated identical tool calls" {
		t.Fatalf("findings %+v", rep.Findings)
	}
	own := ib.Events(t, run.SessionID)
	if len(rep.SPLQueries) == 0 || len(rep.SPLQueries) != len(find(own, agentscope.ToolCalled)) {
		t.Fatalf("report queries %d, searches run %d", len(rep.SPLQueries), len(find(own, agentscope.ToolCalled)))
	}
	for _, q := range rep.SPLQueries {
		if q.Query == invented || q.Backend == "" {
			t.Errorf("report query %+v is not one the investigation ran", q)
		}
	}
}
