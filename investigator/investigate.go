package investigator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	openai "github.com/sashabaranov/go-openai"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/investigator/detect"
	"github.com/agentscope/agentscope/runtime"
)

// Bounds of an investigation.
const (
	// maxRepairs is how many times an invalid report is sent back to the
	// model before the run fails.
	maxRepairs = 2
	// maxTimelineRows bounds the timeline rows shown to the model: the
	// first and the last ones when the session is longer.
	maxTimelineRows = 400
	// maxDetectorQueries bounds the detector queries run as evidence.
	maxDetectorQueries = 12
	// baselineSessions is how many of the agent's recent sessions the
	// detectors compare with.
	baselineSessions = 20
	// evidenceRowLimit bounds the rows of one evidence search.
	evidenceRowLimit = 10000
)

// InvestigateInput is an investigation run's input.
type InvestigateInput struct {
	SessionID string `json:"session_id" jsonschema:"the session to investigate"`
}

// reportSchemaJSON is the structured output the model must produce.
const reportSchemaJSON = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["summary", "risk_level", "findings", "recommendations"],
  "properties": {
    "summary": {"type": "string", "minLength": 1},
    "risk_level": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
    "findings": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "severity", "evidence", "explanation"],
        "properties": {
          "title": {"type": "string", "minLength": 1},
          "severity": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
          "evidence": {"type": "array", "items": {"type": "string"}},
          "explanation": {"type": "string"}
        }
      }
    },
    "recommendations": {"type": "array", "items": {"type": "string"}}
  }
}`

// reportSchema checks the model's answer. It is the schema the model is
// asked for less its "additionalProperties": false: strict structured output
// needs that keyword in the request, but a model that adds a field of its own
// (a confidence, or spl_queries, which the report names) has still answered,
// and the extra field is ignored rather than sent back for repair. A missing
// or ill-typed required field is still a reason to repair.
var reportSchema = func() *jsonschema.Resolved {
	var doc any
	if err := json.Unmarshal([]byte(reportSchemaJSON), &doc); err != nil {
		panic(err)
	}
	allowExtraFields(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		panic(err)
	}
	r, err := s.Resolve(nil)
	if err != nil {
		panic(err)
	}
	return r
}()

// allowExtraFields removes every "additionalProperties": false from a
// decoded JSON schema.
func allowExtraFields(v any) {
	switch v := v.(type) {
	case map[string]any:
		if v["additionalProperties"] == false {
			delete(v, "additionalProperties")
		}
		for _, sub := range v {
			allowExtraFields(sub)
		}
	case []any:
		for _, sub := range v {
			allowExtraFields(sub)
		}
	}
}

// modelReport is the model's structured output.
type modelReport struct {
	Summary         string                     `json:"summary"`
	RiskLevel       agentscope.RiskLevel       `json:"risk_level"`
	Findings        []agentscope.ReportFinding `json:"findings"`
	Recommendations []string                   `json:"recommendations"`
}

// parseModelReport validates content against the report schema.
func parseModelReport(content string) (modelReport, error) {
	var r modelReport
	s := strings.TrimSpace(content)
	// Some providers wrap JSON in a Markdown fence despite the format.
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		rest = strings.TrimPrefix(rest, "json")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "```"))
	}
	var inst any // numbers as float64, as the validator reads them
	if err := json.Unmarshal([]byte(s), &inst); err != nil {
		return r, fmt.Errorf("the answer is not JSON: %v", err)
	}
	if err := reportSchema.Validate(inst); err != nil {
		return r, fmt.Errorf("the JSON does not match the report schema: %v", err)
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return r, fmt.Errorf("the JSON does not match the report schema: %v", err)
	}
	return r, nil
}

// investigation is one attempt of an investigator run.
type investigation struct {
	iv     *Investigator
	x      *runtime.Execution
	target agentscope.Run
	events []agentscope.Event
	report agentscope.Report
}

// Execute implements runtime.Executor: it runs one attempt of an
// investigation and returns the report as the run's output, or a permanent
// error after storing a failed report.
func (iv *Investigator) Execute(ctx context.Context, x *runtime.Execution) (any, error) {
	var in InvestigateInput
	run := x.Run()
	if err := json.Unmarshal(run.Input, &in); err != nil {
		var s string
		if json.Unmarshal(run.Input, &s) != nil {
			return nil, runtime.Permanentf(`the investigator's input must be {"session_id": "…"}: %v`, err)
		}
		in.SessionID = s
	}
	if err := agentscope.ValidateSessionID(in.SessionID); err != nil {
		return nil, runtime.Permanentf("the investigator's input: %s", agentscope.ErrorMessage(err))
	}
	if in.SessionID == x.SessionID() {
		return nil, runtime.Permanentf("an investigation cannot investigate its own session")
	}
	target, err := iv.store.GetRun(ctx, x.Org(), in.SessionID)
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return nil, runtime.Permanentf("session %q does not exist in this organisation", in.SessionID)
	} else if err != nil {
		return nil, err
	}
	inv := &investigation{iv: iv, x: x, target: target}
	inv.report = agentscope.Report{SessionID: x.SessionID(), TargetSessionID: target.SessionID, Agent: target.Agent,
		Findings: []agentscope.ReportFinding{}, Recommendations: []string{}, DetectorFindings: []agentscope.DetectorFinding{}, SPLQueries: []agentscope.SPLQuery{}}
	if inv.events, err = iv.sessionEvents(ctx, x.Org(), target.SessionID); err != nil {
		return nil, err
	}
	findings, err := iv.detectSession(ctx, x.Org(), target, inv.events, x.Now())
	if err != nil {
		return nil, err
	}
	inv.report.DetectorFindings = toDetectorFindings(findings)
	inv.report.RiskLevel = detectorRisk(findings)

	if err := x.ResolveProviders(); err != nil {
		return nil, inv.fail(ctx, "no model is available for the analysis: "+err.Error())
	}
	if err := x.LoadBudgets(ctx); err != nil {
		return nil, err
	}
	if iv.opts.Evidence == nil {
		return nil, inv.fail(ctx, "no evidence search is configured: set AGENTSCOPE_SPLUNK_MCP_COMMAND or AGENTSCOPE_SPLUNK_MCP_URL, or let AgentScope spawn its own MCP server")
	}
	inv.report.EvidenceBackend = iv.opts.EvidenceBackend

	timeline, err := inv.gatherEvidence(ctx, findings)
	if err != nil {
		return nil, inv.fail(ctx, err.Error())
	}
	mr, model, err := inv.analyse(ctx, timeline, findings)
	if err != nil {
		if runtime.IsPermanent(err) {
			return nil, inv.fail(ctx, err.Error())
		}
		if ctx.Err() == nil {
			// A transient failure (the provider's 5xx, a timeout): River
			// attempts the run again, and a later attempt's report
			// replaces this one; until then the detectors' findings show.
			inv.failed(ctx, err.Error())
		}
		return nil, err
	}
	inv.ground(mr)
	inv.report.Model = model
	inv.report.Status = agentscope.ReportCompleted
	inv.report.ModelAnalysis = true
	if err := inv.store(ctx); err != nil {
		return nil, err
	}
	return inv.report, nil
}

// fail stores the report as failed with reason and returns the permanent
// error that fails the run.
func (inv *investigation) fail(ctx context.Context, reason string) error {
	inv.failed(ctx, reason)
	return runtime.Permanentf("investigation failed: %s", reason)
}

// failed stores the report as failed with reason: the detectors' findings
// only.
func (inv *investigation) failed(ctx context.Context, reason string) {
	inv.report.Status, inv.report.Error = agentscope.ReportFailed, reason
	inv.report.ModelAnalysis = false
	inv.report.Summary = ""
	inv.report.Findings = []agentscope.ReportFinding{}
	inv.report.Recommendations = []string{}
	if err := inv.store(context.WithoutCancel(ctx)); err != nil {
		inv.x.Logger().Error("store failed investigation report", "err", err)
	}
}

// store saves the report and links it from the target's timeline.
func (inv *investigation) store(ctx context.Context) error {
	iv, org := inv.iv, inv.x.Org()
	inv.report.CreatedAt = inv.x.Now()
	if err := iv.store.PutReport(ctx, org, inv.report); err != nil {
		return err
	}
	// One link per investigation and outcome, however many attempts.
	linkID := fmt.Sprintf("report-%s-%s", inv.report.SessionID, inv.report.Status)
	ev := agentscope.Event{EventID: linkID, Type: agentscope.InvestigationReported, TS: inv.x.Now(), Error: inv.report.Error,
		Attributes: map[string]any{"investigation_session_id": inv.report.SessionID, "report_status": string(inv.report.Status), "risk_level": string(inv.report.RiskLevel)}}
	_, err := iv.opts.Recorder.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: inv.report.TargetSessionID, Events: []agentscope.Event{ev}, KeepFirst: true, Bookkeeping: true})
	if err != nil {
		inv.x.Logger().Warn("link report from the investigated session", "err", err)
	}
	if _, err := iv.opts.Alerts.RaiseAlerts(ctx, org, inv.report.TargetSessionID, alerts.ReportSignals(inv.report)); err != nil {
		inv.x.Logger().Warn("raise the report's alerts", "err", err)
	}
	return nil
}

// gatherEvidence runs the session-scoped timeline search and the detector
// queries through the evidence searcher, recording each as a tool call of
// the investigation and in the report. It returns the timeline rows.
func (inv *investigation) gatherEvidence(ctx context.Context, findings []detect.Finding) ([]map[string]any, error) {
	q, err := TimelineQuery(inv.iv.opts.SplunkIndex, inv.target.SessionID)
	if err != nil {
		return nil, err
	}
	rows, err := inv.search(ctx, "timeline", "the investigated session's events in order", q)
	if err != nil {
		return nil, err
	}
	// The query names the session by its indexed field, so rows of another
	// session (the investigation's own, say) cannot match; should a
	// backend return any, they are not evidence.
	kept := rows[:0]
	for _, r := range rows {
		if fmt.Sprint(r["session_id"]) == inv.target.SessionID {
			kept = append(kept, r)
		}
	}
	if n := len(rows) - len(kept); n > 0 {
		inv.x.Logger().Warn("evidence search returned rows of other sessions; dropped", "rows", n)
	}
	seen := map[string]bool{q: true}
	n := 0
	for _, f := range findings {
		if f.SPL == "" || seen[f.SPL] || n >= maxDetectorQueries {
			continue
		}
		seen[f.SPL] = true
		n++
		if _, err := inv.search(ctx, "detector", fmt.Sprintf("%s: %s", f.Kind, f.Title), f.SPL); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// TimelineQuery is the investigator's timeline search of one session: its
// events in seq order, with the fields the analysis reads.
func TimelineQuery(index, sessionID string) (string, error) {
	base, err := agentscope.SessionQuery(index, sessionID)
	if err != nil {
		return "", err
	}
	return base + ` | sort 0 seq | table _time seq event_id session_id type agent provider model tool call_id status error duration_ms tokens_in tokens_out amount_usd arguments`, nil
}

// search runs one evidence query, recorded as run_spl tool call events on
// the investigation's session and kept in the report.
func (inv *investigation) search(ctx context.Context, span, purpose, query string) ([]map[string]any, error) {
	x, opts := inv.x, inv.iv.opts
	span = fmt.Sprintf("a%d.%s%d", x.Attempt(), span, len(inv.report.SPLQueries)+1)
	args, _ := json.Marshal(map[string]any{"query": query, "row_limit": evidenceRowLimit})
	_ = x.Record(agentscope.Event{Type: agentscope.ToolCalled, SpanID: span, Tool: "run_spl", CallID: span, Arguments: args,
		Attributes: map[string]any{"purpose": purpose, "backend": opts.EvidenceBackend}})
	start := x.Now()
	var rows []map[string]any
	res, err := opts.Evidence.Search(ctx, x.Org(), agentscope.SearchQuery{Query: query, Limit: evidenceRowLimit})
	if err == nil {
		rows = res.Results
	}
	ms := float64(x.Now().Sub(start).Microseconds()) / 1000
	q := agentscope.SPLQuery{Query: query, Purpose: purpose, Rows: len(rows), Backend: opts.EvidenceBackend}
	ret := agentscope.Event{Type: agentscope.ToolReturned, SpanID: span, Tool: "run_spl", CallID: span, DurationMS: &ms, Status: "ok"}
	if err != nil {
		q.Rows, q.Error = 0, agentscope.ErrorMessage(err)
		ret.Status, ret.Error = "error", q.Error
	} else {
		ret.Result, _ = json.Marshal(map[string]any{"rows": len(rows)})
	}
	_ = x.Record(ret)
	inv.report.SPLQueries = append(inv.report.SPLQueries, q)
	if err != nil {
		return nil, fmt.Errorf("the evidence search failed (%s): %s", opts.EvidenceBackend, q.Error)
	}
	return rows, nil
}

// analyse asks the model for the report, sending invalid answers back for
// repair a bounded number of times.
func (inv *investigation) analyse(ctx context.Context, timeline []map[string]any, findings []detect.Finding) (modelReport, string, error) {
	x := inv.x
	brief, err := inv.brief(timeline, findings)
	if err != nil {
		return modelReport{}, "", err
	}
	format := &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "investigation_report", Schema: json.RawMessage(reportSchemaJSON), Strict: true}}
	messages := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: x.Spec().SystemPrompt + "\n\nAnswer with only a JSON object matching this schema:\n" + reportSchemaJSON},
		{Role: openai.ChatMessageRoleUser, Content: brief},
	}
	var last error
	for step := 1; step <= 1+maxRepairs; step++ {
		if err := x.CheckHardCaps(ctx); err != nil {
			return modelReport{}, "", err
		}
		res, err := x.CallModel(ctx, fmt.Sprintf("a%d.m%d", x.Attempt(), step), step, messages, format)
		if err != nil {
			return modelReport{}, "", err
		}
		mr, perr := parseModelReport(res.Content)
		if perr == nil {
			return mr, res.Model, nil
		}
		last = perr
		x.Logger().Info("investigation report invalid; asking for a repair", "step", step, "err", perr)
		messages = append(messages,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: res.Content},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: "That answer was invalid: " + perr.Error() + ". Answer again with only the JSON object, matching the schema exactly."})
	}
	return modelReport{}, "", runtime.Permanentf("the model's report was invalid after %d attempts: %v", 1+maxRepairs, last)
}

// brief is the model's evidence: the target run, its timeline as searched,
// the detectors' findings and the queries run.
func (inv *investigation) brief(timeline []map[string]any, findings []detect.Finding) (string, error) {
	rows := timeline
	omitted := 0
	if len(rows) > maxTimelineRows {
		head, tail := maxTimelineRows/4, maxTimelineRows-maxTimelineRows/4
		omitted = len(rows) - maxTimelineRows
		rows = append(slices.Clip(rows[:head]), rows[len(rows)-tail:]...)
	}
	t := inv.target
	doc := map[string]any{
		"investigated_run": map[string]any{"session_id": t.SessionID, "agent": t.Agent, "status": t.Status, "error": t.Error,
			"cost_usd": json.Number(t.CostUSD.String()), "event_count": t.EventCount, "created_at": t.CreatedAt},
		"timeline":          rows,
		"timeline_omitted":  omitted,
		"detector_findings": findings,
		"queries":           inv.report.SPLQueries,
		"instructions": "Cite events only by the event_id values in the timeline. Every finding needs at least one event_id as evidence; " +
			"findings citing anything else are discarded. The detector findings are deterministic; confirm or qualify them from the timeline.",
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ground keeps the model's findings whose evidence all exists in the
// target session and counts the others, then sets the risk level: the
// model's, raised to the detectors' highest severity.
func (inv *investigation) ground(mr modelReport) {
	ids := make(map[string]bool, len(inv.events))
	for _, e := range inv.events {
		ids[e.EventID] = true
	}
	kept := []agentscope.ReportFinding{}
	dropped := 0
	for _, f := range mr.Findings {
		ok := len(f.Evidence) > 0
		for _, id := range f.Evidence {
			ok = ok && ids[id]
		}
		if !ok {
			dropped++
			continue
		}
		kept = append(kept, f)
	}
	inv.report.Summary = mr.Summary
	inv.report.Findings = kept
	inv.report.UngroundedDropped = dropped
	inv.report.Recommendations = mr.Recommendations
	if inv.report.Recommendations == nil {
		inv.report.Recommendations = []string{}
	}
	risk := mr.RiskLevel
	if inv.report.RiskLevel.Rank() > risk.Rank() {
		risk = inv.report.RiskLevel
	}
	inv.report.RiskLevel = risk
}
