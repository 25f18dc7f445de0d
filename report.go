package agentscope

import (
	"fmt"
	"time"
)

// InvestigationReported is written on an investigated session when an
// investigation of it ends, so its timeline links to the report
// (attributes: investigation_session_id, report_status, risk_level). It
// may be appended after the session ended.
const InvestigationReported EventType = "InvestigationReported"

func init() {
	RegisterEventType(InvestigationReported, EventSpec{Optional: []string{"error"}, System: true, AfterEnd: true})
}

// RiskLevel grades an investigation's report, and a finding's severity.
type RiskLevel string

// Risk levels, from least to most severe.
const (
	RiskLow      RiskLevel = "low"
	RiskMedium   RiskLevel = "medium"
	RiskHigh     RiskLevel = "high"
	RiskCritical RiskLevel = "critical"
)

// Rank orders risk levels: 1 (low) to 4 (critical), 0 for anything else.
func (r RiskLevel) Rank() int {
	switch r {
	case RiskLow:
		return 1
	case RiskMedium:
		return 2
	case RiskHigh:
		return 3
	case RiskCritical:
		return 4
	}
	return 0
}

// Valid reports whether r is one of the four levels.
func (r RiskLevel) Valid() bool { return r.Rank() > 0 }

// ParseRiskLevel returns the level named s, or EINVALID naming field.
func ParseRiskLevel(field, s string) (RiskLevel, error) {
	r := RiskLevel(s)
	if !r.Valid() {
		return "", FieldErrorf(field, "must be low, medium, high or critical, got %q", s)
	}
	return r, nil
}

// ReportStatus says whether an investigation produced the model's analysis.
type ReportStatus string

// Report statuses.
const (
	// ReportCompleted: the model's analysis, grounded, with the detectors'
	// findings beside it.
	ReportCompleted ReportStatus = "completed"
	// ReportFailed: the investigation failed (Error says why); only the
	// deterministic detectors' findings, if any, are shown.
	ReportFailed ReportStatus = "failed"
)

// Report is an investigation's result: the investigator's findings about
// one session, grounded in its events, with the SPL that shows them.
type Report struct {
	// SessionID is the investigation's own session (its run).
	SessionID string `json:"session_id"`
	// TargetSessionID is the investigated session.
	TargetSessionID string `json:"target_session_id"`
	// Agent is the investigated run's agent.
	Agent     string       `json:"agent"`
	Status    ReportStatus `json:"status"`
	Error     string       `json:"error,omitempty"`
	CreatedAt time.Time    `json:"created_at"`

	// ModelAnalysis is true when Summary, Findings and Recommendations come
	// from the model; false when only the detectors ran.
	ModelAnalysis bool   `json:"model_analysis"`
	Summary       string `json:"summary,omitempty"`
	// RiskLevel is the model's grading; without ModelAnalysis (a failed
	// investigation) it is the deterministic detectors' alone.
	RiskLevel       RiskLevel       `json:"risk_level"`
	Findings        []ReportFinding `json:"findings"`
	Recommendations []string        `json:"recommendations"`
	// DetectorFindings are the deterministic detectors' findings: no model
	// involved.
	DetectorFindings []DetectorFinding `json:"detector_findings"`
	// SPLQueries are the queries the investigation ran, verbatim.
	SPLQueries []SPLQuery `json:"spl_queries"`
	// UngroundedDropped counts the model's findings dropped because they
	// cited no event, or an event not in the target session.
	UngroundedDropped int `json:"ungrounded_dropped"`
	// Model is the model that wrote the analysis.
	Model string `json:"model,omitempty"`
	// EvidenceBackend is how the evidence was searched (splunk-mcp, or
	// agentscope-mcp: AgentScope's own MCP server's run_spl).
	EvidenceBackend string `json:"evidence_backend,omitempty"`
}

// ReportFinding is one finding of the model's analysis.
type ReportFinding struct {
	Title    string    `json:"title"`
	Severity RiskLevel `json:"severity"`
	// Evidence lists the event_ids of the target session that show it.
	Evidence    []string `json:"evidence"`
	Explanation string   `json:"explanation"`
}

// DetectorFinding is one deterministic detector's finding.
type DetectorFinding struct {
	Kind     string    `json:"kind"`
	Severity RiskLevel `json:"severity"`
	Title    string    `json:"title"`
	Detail   string    `json:"detail"`
	EventIDs []string  `json:"event_ids"`
	Seqs     []int64   `json:"seqs"`
	SPL      string    `json:"spl"`
}

// SPLQuery is one query an investigation ran.
type SPLQuery struct {
	Query   string `json:"query"`
	Purpose string `json:"purpose"`
	Rows    int    `json:"rows"`
	Backend string `json:"backend,omitempty"`
	Error   string `json:"error,omitempty"`
}

// ReportFilter selects reports; zero fields select all.
type ReportFilter struct {
	RiskLevel RiskLevel
	Agent     string
	Since     time.Time
	// Limit bounds the reports returned (default 50, at most 500).
	Limit int
}

// ParseReportFilter builds a filter from its parts as callers write them
// (list_reports, GET /api/v1/reports, agentscope reports list): riskLevel
// a level's name, since an RFC 3339 time or a duration ago (such as 24h)
// from now. Empty parts select all; the filter is validated.
func ParseReportFilter(riskLevel, agent, since string, limit int, now time.Time) (ReportFilter, error) {
	f := ReportFilter{Agent: agent, Limit: limit}
	if riskLevel != "" {
		r, err := ParseRiskLevel("risk_level", riskLevel)
		if err != nil {
			return f, err
		}
		f.RiskLevel = r
	}
	if since != "" {
		t, err := ParseSince(since, now)
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	return f, f.Validate()
}

// ParseSince reads a since parameter: an RFC 3339 time, or how long
// before now as a positive duration such as 24h or 90m.
func ParseSince(since string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(since); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, since); err == nil {
		return t, nil
	}
	return time.Time{}, FieldErrorf("since", "must be an RFC 3339 time or a duration such as 24h, got %q", since)
}

// Validate checks f's fields.
func (f ReportFilter) Validate() error {
	if f.RiskLevel != "" && !f.RiskLevel.Valid() {
		return FieldErrorf("risk_level", "must be low, medium, high or critical, got %q", f.RiskLevel)
	}
	if f.Limit < 0 || f.Limit > 500 {
		return FieldErrorf("limit", "must be from 1 to 500, got %d", f.Limit)
	}
	if f.Agent != "" {
		if err := ValidateAgentName(f.Agent); err != nil {
			return err
		}
	}
	return nil
}

// String describes the report in one line.
func (r Report) String() string {
	return fmt.Sprintf("report %s on %s: %s, risk %s, %d findings", r.SessionID, r.TargetSessionID, r.Status, r.RiskLevel, len(r.Findings))
}
