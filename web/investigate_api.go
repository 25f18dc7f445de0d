package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/agentscope/agentscope"
)

// InvestigationAPI is what the investigation endpoints and pages call
// (package investigator's Investigator implements it). The caller's organisation is
// in the context.
type InvestigationAPI interface {
	Investigate(ctx context.Context, sessionID string) (agentscope.Run, error)
	GetReport(ctx context.Context, sessionID string) (agentscope.Report, error)
	ListReports(ctx context.Context, f agentscope.ReportFilter) ([]agentscope.Report, error)
	SessionFindings(ctx context.Context, sessionID string) ([]agentscope.DetectorFinding, error)
}

// RouteInvestigations adds the investigation endpoints:
//
//	POST /api/v1/sessions/{session_id}/investigate  queue an investigation → 202 {"session_id", "status", "target_session_id"}
//	GET  /api/v1/sessions/{session_id}/findings     the deterministic detectors' findings now
//	GET  /api/v1/reports[?risk_level=&agent=&since=&limit=]  reports, newest first
//	GET  /api/v1/reports/{session_id}               a report by the investigation's or the investigated session's id
func (s *Server) RouteInvestigations(api InvestigationAPI) {
	s.investigations = api
	s.mux.Handle("POST /api/v1/sessions/{session_id}/investigate", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		target := r.PathValue("session_id")
		run, err := api.Investigate(r.Context(), target)
		return http.StatusAccepted, map[string]any{"session_id": run.SessionID, "status": run.Status, "target_session_id": target}, err
	}))
	s.mux.Handle("GET /api/v1/sessions/{session_id}/findings", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		fs, err := api.SessionFindings(r.Context(), r.PathValue("session_id"))
		return http.StatusOK, map[string]any{"session_id": r.PathValue("session_id"), "findings": fs, "note": "deterministic detector findings, not a model's analysis"}, err
	}))
	s.mux.Handle("GET /api/v1/reports", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		f, err := reportFilter(r)
		if err != nil {
			return 0, nil, err
		}
		rs, err := api.ListReports(r.Context(), f)
		return http.StatusOK, map[string]any{"reports": rs}, err
	}))
	s.mux.Handle("GET /api/v1/reports/{session_id}", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		rep, err := api.GetReport(r.Context(), r.PathValue("session_id"))
		return http.StatusOK, rep, err
	}))
}

// reportFilter reads GET /api/v1/reports' query.
func reportFilter(r *http.Request) (agentscope.ReportFilter, error) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return agentscope.ReportFilter{}, agentscope.FieldErrorf("limit", "must be a number, got %q", v)
		}
		limit = n
	}
	return agentscope.ParseReportFilter(q.Get("risk_level"), q.Get("agent"), q.Get("since"), limit, time.Now())
}
