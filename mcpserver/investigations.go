package mcpserver

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
)

// Investigations is what the investigation tools call (package
// investigator's Investigator implements it), with the caller's
// organisation in ctx.
type Investigations interface {
	// Investigate queues an investigation of a session and returns its run.
	Investigate(ctx context.Context, sessionID string) (agentscope.Run, error)
	// GetReport returns a report by the investigation's or the
	// investigated session's id.
	GetReport(ctx context.Context, sessionID string) (agentscope.Report, error)
	// ListReports lists reports, newest first.
	ListReports(ctx context.Context, f agentscope.ReportFilter) ([]agentscope.Report, error)
	// SessionFindings runs the deterministic detectors over a session now.
	SessionFindings(ctx context.Context, sessionID string) ([]agentscope.DetectorFinding, error)
}

// ListReportsInput is list_reports' input.
type ListReportsInput struct {
	RiskLevel string `json:"risk_level,omitempty" jsonschema:"only reports of this risk level: low, medium, high or critical"`
	Agent     string `json:"agent,omitempty" jsonschema:"only reports about runs of this agent"`
	Since     string `json:"since,omitempty" jsonschema:"only reports made at or after this time (RFC 3339) or this long ago (a duration such as 24h)"`
	Limit     int    `json:"limit,omitempty" jsonschema:"most reports to return (default 50, at most 500)"`
}

// ReportFilter validates the input into a filter.
func (in ListReportsInput) ReportFilter(now time.Time) (agentscope.ReportFilter, error) {
	return agentscope.ParseReportFilter(in.RiskLevel, in.Agent, in.Since, in.Limit, now)
}

// ReportsOutput is list_reports' result.
type ReportsOutput struct {
	Reports []agentscope.Report `json:"reports"`
}

// FindingsOutput is session_findings' result.
type FindingsOutput struct {
	SessionID string                       `json:"session_id"`
	Findings  []agentscope.DetectorFinding `json:"findings"`
	// Note says what the findings are.
	Note string `json:"note"`
}

// InvestigateOutput is investigate's result.
type InvestigateOutput struct {
	SessionID       string `json:"session_id"`
	Status          string `json:"status"`
	TargetSessionID string `json:"target_session_id"`
	// Report is the finished investigation's report, when the call waited
	// for it.
	Report *agentscope.Report `json:"report,omitempty"`
}

// InvestigateToolInput is the investigate tool's input.
type InvestigateToolInput struct {
	SessionID   string `json:"session_id" jsonschema:"the session to investigate"`
	WaitSeconds int    `json:"wait_seconds,omitempty" jsonschema:"wait up to this many seconds (at most 600) for the report, with progress notifications as the investigation moves on; 0 returns at once"`
}

// maxInvestigateWait bounds investigate's wait_seconds.
const maxInvestigateWait = 600

// awaitInvestigation waits up to d for the investigation run sid to end,
// reporting its status as progress, and returns it as it stands then.
func (s *Server) awaitInvestigation(ctx context.Context, org, sid string, d time.Duration) (agentscope.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	sub := s.svc.Recorder().Hub().Subscribe(org, sid)
	defer sub.Close()
	tick := time.NewTicker(time.Second) // wake-ups are hints; the store decides
	defer tick.Stop()
	stages := map[agentscope.RunStatus]float64{agentscope.StatusQueued: 0.2, agentscope.StatusRunning: 0.5}
	for {
		run, err := s.svc.Store().GetRun(context.WithoutCancel(ctx), org, sid)
		if err != nil || run.Status.Terminal() {
			return run, err
		}
		reportProgress(ctx, stages[run.Status], 1, "investigation "+string(run.Status))
		select {
		case <-ctx.Done():
			return run, nil // still going: the caller gets its status
		case <-sub.Ready:
			sub.Take()
		case <-tick.C:
		}
	}
}

// addInvestigations adds investigate, get_report, list_reports,
// session_findings and the reports resource, served by inv.
func (s *Server) addInvestigations(inv Investigations) {
	addTool(s, &mcp.Tool{
		Name:  "investigate",
		Title: "Investigate a session",
		Description: "Queue an investigation of a recorded session by AgentScope's investigator: deterministic detectors (loops, retry storms, provider switches, cost spikes, latency, tool errors, stalls, budget proximity, schema drift), " +
			"evidence searched through Splunk's MCP server (or AgentScope's own), and a risk-graded report whose findings cite the session's events with the exact SPL. Returns the investigation's session_id at once, or with wait_seconds waits for the report (sending progress notifications as it moves on); get_report with the session_id returns the report when the run completes.",
		Annotations: &mcp.ToolAnnotations{Title: "Investigate a session", DestructiveHint: ptr(false), OpenWorldHint: ptr(true)},
	}, func(ctx context.Context, in InvestigateToolInput) (InvestigateOutput, error) {
		if in.WaitSeconds < 0 || in.WaitSeconds > maxInvestigateWait {
			return InvestigateOutput{}, agentscope.FieldErrorf("wait_seconds", "must be 0 to %d, got %d", maxInvestigateWait, in.WaitSeconds)
		}
		run, err := inv.Investigate(ctx, in.SessionID)
		if err != nil || in.WaitSeconds == 0 {
			return InvestigateOutput{SessionID: run.SessionID, Status: string(run.Status), TargetSessionID: in.SessionID}, err
		}
		org, _ := agentscope.OrgFrom(ctx)
		if run, err = s.awaitInvestigation(ctx, org, run.SessionID, time.Duration(in.WaitSeconds)*time.Second); err != nil {
			return InvestigateOutput{}, err
		}
		out := InvestigateOutput{SessionID: run.SessionID, Status: string(run.Status), TargetSessionID: in.SessionID}
		if run.Status.Terminal() {
			if rep, err := inv.GetReport(ctx, run.SessionID); err == nil {
				out.Report = &rep
			}
		}
		return out, nil
	})
	addTool(s, &mcp.Tool{
		Name:        "get_report",
		Title:       "Get an investigation report",
		Description: "Return an investigation's report, by the investigation's session_id or by the investigated session's (its latest report): summary, risk_level, findings citing event_ids, the detectors' findings, recommendations and the SPL queries run with their row counts.",
		Annotations: &mcp.ToolAnnotations{Title: "Get a report", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in SessionIDInput) (agentscope.Report, error) {
		return inv.GetReport(ctx, in.SessionID)
	})
	addTool(s, &mcp.Tool{
		Name:        "list_reports",
		Title:       "List investigation reports",
		Description: "List investigation reports, newest first, optionally only of one risk level, about one agent's runs, or since a time.",
		Annotations: &mcp.ToolAnnotations{Title: "List reports", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in ListReportsInput) (ReportsOutput, error) {
		f, err := in.ReportFilter(time.Now())
		if err != nil {
			return ReportsOutput{}, err
		}
		rs, err := inv.ListReports(ctx, f)
		return ReportsOutput{Reports: rs}, err
	})
	addTool(s, &mcp.Tool{
		Name:        "session_findings",
		Title:       "Detector findings of a session",
		Description: "Run AgentScope's deterministic detectors over one session now and return their findings, each with the event_ids and seqs that show it and the SPL that lists them. No model is involved.",
		Annotations: &mcp.ToolAnnotations{Title: "Session findings", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)},
	}, func(ctx context.Context, in SessionIDInput) (FindingsOutput, error) {
		fs, err := inv.SessionFindings(ctx, in.SessionID)
		return FindingsOutput{SessionID: in.SessionID, Findings: fs, Note: "deterministic detector findings, not a model's analysis"}, err
	})
	s.MCP.AddResourceTemplate(&mcp.ResourceTemplate{
		Name:        "report",
		Title:       "Investigation report",
		URITemplate: "agentscope://reports/{session_id}",
		Description: "An investigation's report as JSON, by the investigation's or the investigated session's id.",
		MIMEType:    "application/json",
	}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		u, err := url.Parse(req.Params.URI)
		if err != nil || u.Scheme != "agentscope" || u.Host != "reports" {
			return nil, mcp.ResourceNotFoundError(req.Params.URI)
		}
		sid := strings.TrimPrefix(u.Path, "/")
		ctx, err = s.orgContext(ctx, req.Extra)
		if err != nil {
			return nil, err
		}
		r, err := inv.GetReport(ctx, sid)
		if agentscope.ErrorCode(err) == agentscope.ENOTFOUND || agentscope.ErrorCode(err) == agentscope.EINVALID {
			return nil, mcp.ResourceNotFoundError(req.Params.URI)
		} else if err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return nil, err
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "application/json", Text: string(b)}}}, nil
	})
}
