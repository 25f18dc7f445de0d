package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

const (
	// investigatorAgent is the built-in investigator: its runs are the
	// investigations.
	investigatorAgent = agentscope.InvestigatorAgent
	// recentInvestigations is how many of the investigator's latest runs
	// are searched for the newest one about a session.
	recentInvestigations = 100
	// reportsListed is how many reports the reports page lists.
	reportsListed = 100
)

// errNotConfigured refuses an investigation on a server without an
// investigator.
var errNotConfigured = agentscope.Errorf(agentscope.EUNAVAILABLE, "investigations are not configured on this server")

// investigationTarget returns the session an investigation run
// investigates; ok is false for a run that is not an investigation.
func investigationTarget(run agentscope.Run) (target string, ok bool) {
	if run.Agent != investigatorAgent {
		return "", false
	}
	if t := run.Metadata["investigates"]; t != "" {
		return t, true
	}
	// Started through start_run rather than investigate: the input names
	// the session, as an object or a bare string.
	var in struct {
		SessionID string `json:"session_id"`
	}
	if json.Unmarshal(run.Input, &in) != nil || in.SessionID == "" {
		if json.Unmarshal(run.Input, &in.SessionID) != nil {
			return "", false
		}
	}
	return in.SessionID, in.SessionID != ""
}

// handleReportPage renders /reports/{session_id}: with an investigation's
// id, that investigation; with any other session's, its latest report and
// its newest investigation.
func (s *Server) handleReportPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := s.withFeed(ctx, s.page(r, "Report", "reports"))
	v, err := s.reportPageView(ctx, r.PathValue("session_id"))
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v.Panel.CSRF = p.CSRF
	p.Title = "Investigation of " + ui.ShortID(v.Panel.Target)
	s.render(w, r, http.StatusOK, ui.ReportPage(p, v))
}

// handleReportFragment renders the report panel alone, for the script to
// refresh as the investigation it watches moves on.
func (s *Server) handleReportFragment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("session_id")
	v, err := s.reportPageView(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v.Panel.CSRF = s.page(r, "", "").CSRF
	s.render(w, r, http.StatusOK, ui.ReportPanelSection(v.Panel, ui.ReportFragmentURL(id)))
}

func (s *Server) reportPageView(ctx context.Context, id string) (ui.ReportPageView, error) {
	// The run is read even without an investigator, so an unknown or
	// another organisation's session is not found either way.
	run, err := s.svc.GetRun(ctx, id)
	if err != nil {
		return ui.ReportPageView{}, err
	}
	if target, ok := investigationTarget(run); ok {
		return ui.ReportPageView{Panel: s.reportPanel(ctx, target, &run, nil), Investigation: id}, nil
	}
	return ui.ReportPageView{Panel: s.reportPanel(ctx, id, nil, nil)}, nil
}

// reportPanel gathers what the panel about session target shows. With inv
// it is about that investigation alone; without, about the latest report
// and the newest investigation. events, when the caller has read them, are
// the target's (from seq 1), to link the evidence without reading again.
// Failures to read a report are shown in the panel, not returned: the
// page around it still renders.
func (s *Server) reportPanel(ctx context.Context, target string, inv *agentscope.Run, events []agentscope.Event) ui.ReportPanel {
	panel := ui.ReportPanel{Configured: s.investigations != nil, Target: target}
	if !panel.Configured {
		return panel
	}
	reportOf := target
	if inv != nil {
		panel.Latest, reportOf = inv, inv.SessionID
	} else {
		latest, err := s.latestInvestigation(ctx, target)
		if err != nil {
			panel.Error = s.panelError("list investigations", err)
		}
		panel.Latest = latest
	}
	rep, err := s.investigations.GetReport(ctx, reportOf)
	switch agentscope.ErrorCode(err) {
	case "":
		v, err := s.reportView(ctx, rep, events)
		if err != nil {
			panel.Error = s.panelError("read the investigated session", err)
		}
		panel.Report = &v
	case agentscope.ENOTFOUND:
	default:
		panel.Error = s.panelError("read report", err)
	}
	return panel
}

// panelError logs an internal failure once and returns client-safe words.
func (s *Server) panelError(doing string, err error) string {
	if agentscope.ErrorCode(err) == agentscope.EINTERNAL {
		s.log.Error(doing, "err", err)
	}
	return "Could not " + doing + ": " + agentscope.ErrorMessage(err)
}

// latestInvestigation is the newest of the investigator's recent runs
// about target, or nil.
func (s *Server) latestInvestigation(ctx context.Context, target string) (*agentscope.Run, error) {
	page, err := s.svc.Runs(ctx, agentscope.RunFilter{Agent: investigatorAgent, Limit: recentInvestigations})
	if err != nil {
		return nil, err
	}
	for _, run := range page.Runs {
		if t, ok := investigationTarget(run); ok && t == target {
			return &run, nil
		}
	}
	return nil, nil
}

// reportView links a report's evidence to the rows of the investigated
// session's replay. An event that is not among the session's events (as
// far as they are read) is shown without a link.
func (s *Server) reportView(ctx context.Context, rep agentscope.Report, events []agentscope.Event) (ui.ReportView, error) {
	v := ui.ReportView{Report: rep}
	var err error
	if events == nil {
		events, err = s.svc.ListEvents(ctx, rep.TargetSessionID, agentscope.EventFilter{Limit: timelineEvents})
	}
	seqs := make(map[string]int64, len(events))
	for _, ev := range events {
		seqs[ev.EventID] = ev.Seq
	}
	link := func(id string) ui.EventLink { return ui.NewEventLink(rep.TargetSessionID, id, seqs[id]) }
	for _, f := range rep.Findings {
		fv := ui.FindingView{ReportFinding: f}
		for _, id := range f.Evidence {
			fv.Events = append(fv.Events, link(id))
		}
		v.Findings = append(v.Findings, fv)
	}
	for _, d := range rep.DetectorFindings {
		dv := ui.DetectorView{DetectorFinding: d}
		for i, id := range d.EventIDs {
			l := link(id)
			if l.Seq == 0 && len(d.Seqs) == len(d.EventIDs) {
				// The detectors name each event's seq too.
				l = ui.NewEventLink(rep.TargetSessionID, id, d.Seqs[i])
			}
			dv.Events = append(dv.Events, l)
		}
		v.Detectors = append(v.Detectors, dv)
	}
	return v, err
}

// investigate queues an investigation of session sid.
func (s *Server) investigate(ctx context.Context, sid string) (agentscope.Run, error) {
	if s.investigations == nil {
		return agentscope.Run{}, errNotConfigured
	}
	return s.investigations.Investigate(ctx, sid)
}

// handleInvestigateSession queues an investigation from a replay page's
// Investigate form. The script posts it with X-Requested-With: fetch and
// swaps in the returned panel, which then follows the investigation live;
// without the script the browser goes to the investigation's report page.
func (s *Server) handleInvestigateSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sid := r.PathValue("session_id")
	run, err := s.investigate(ctx, sid)
	if err != nil {
		s.formRefused(w, r, "queue investigation", err, func(msg string) {
			s.pageError(w, r, s.page(r, "Investigate", "sessions"), err)
		})
		return
	}
	if r.Header.Get("X-Requested-With") != "fetch" {
		redirectOnSite(w, r, "/reports/"+url.PathEscape(run.SessionID))
		return
	}
	panel := s.reportPanel(ctx, sid, nil, nil)
	panel.Latest, panel.CSRF = &run, s.page(r, "", "").CSRF
	s.render(w, r, http.StatusCreated, ui.ReportPanelSection(panel, ui.ReportFragmentURL(sid)))
}

// handleInvestigateAgent queues an investigation of an agent's most recent
// run from the agents page's Run Splunk Investigation form. The script
// lists the returned investigation, which follows its run live; without
// the script the browser goes to the investigation's report page.
func (s *Server) handleInvestigateAgent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	run, target, err := s.investigateLatest(ctx, name)
	if err != nil {
		s.formRefused(w, r, "queue investigation", err, func(msg string) {
			s.renderAgents(w, r, codeStatus[agentscope.ErrorCode(err)], formResult{agent: name, investigateErr: msg})
		})
		return
	}
	if r.Header.Get("X-Requested-With") != "fetch" {
		redirectOnSite(w, r, "/reports/"+url.PathEscape(run.SessionID))
		return
	}
	s.render(w, r, http.StatusCreated, ui.InvestigationChipItem(ui.InvestigationChip{Run: run, Target: target}))
}

// investigateLatest queues an investigation of agent name's most recent
// run and returns it with the run it investigates.
func (s *Server) investigateLatest(ctx context.Context, name string) (agentscope.Run, string, error) {
	if s.investigations == nil {
		return agentscope.Run{}, "", errNotConfigured
	}
	if _, err := s.svc.GetAgent(ctx, name); err != nil {
		return agentscope.Run{}, "", err
	}
	page, err := s.svc.Runs(ctx, agentscope.RunFilter{Agent: name, Limit: 1})
	if err != nil {
		return agentscope.Run{}, "", err
	}
	if len(page.Runs) == 0 {
		return agentscope.Run{}, "", agentscope.Errorf(agentscope.EINVALID, "%s has no runs to investigate yet", name)
	}
	target := page.Runs[0].SessionID
	run, err := s.investigations.Investigate(ctx, target)
	return run, target, err
}

// formRefused answers a refused form: the script gets the message as text
// with the error's status; a browser without it gets page(msg).
func (s *Server) formRefused(w http.ResponseWriter, r *http.Request, doing string, err error, page func(msg string)) {
	code := agentscope.ErrorCode(err)
	if code == agentscope.EINTERNAL {
		s.log.Error(doing, "path", r.URL.Path, "err", err)
	}
	if r.Header.Get("X-Requested-With") == "fetch" {
		http.Error(w, agentscope.ErrorMessage(err), codeStatus[code])
		return
	}
	page(agentscope.ErrorMessage(err))
}

// handleInvestigationFragment renders an investigation queued from the
// agents page, for the script to refresh as its run moves on.
func (s *Server) handleInvestigationFragment(w http.ResponseWriter, r *http.Request) {
	run, err := s.svc.GetRun(r.Context(), r.PathValue("session_id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	target, ok := investigationTarget(run)
	if !ok {
		writeError(w, r, s.log, agentscope.Errorf(agentscope.ENOTFOUND, "session %q is not an investigation", run.SessionID))
		return
	}
	s.render(w, r, http.StatusOK, ui.InvestigationChipItem(ui.InvestigationChip{Run: run, Target: target}))
}

// riskOptions are the reports page's risk filter.
var riskOptions = []agentscope.RiskLevel{agentscope.RiskCritical, agentscope.RiskHigh, agentscope.RiskMedium, agentscope.RiskLow}

// handleReportsPage lists the organisation's reports, newest first,
// optionally of one risk level.
func (s *Server) handleReportsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := s.page(r, "Reports", "reports")
	v := ui.Reports{Configured: s.investigations != nil, Risk: r.URL.Query().Get("risk_level")}
	f := agentscope.ReportFilter{Limit: reportsListed}
	if v.Risk != "" {
		rl, err := agentscope.ParseRiskLevel("risk_level", v.Risk)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		f.RiskLevel = rl
	}
	v.Risks = append(v.Risks, ui.Option{Value: "", Label: "Any", Selected: v.Risk == ""})
	for _, rl := range riskOptions {
		v.Risks = append(v.Risks, ui.Option{Value: string(rl), Label: string(rl), Selected: v.Risk == string(rl)})
	}
	if v.Configured {
		rs, err := s.investigations.ListReports(ctx, f)
		if err != nil {
			v.Error = s.panelError("list reports", err)
		}
		v.Reports = rs
	}
	s.render(w, r, http.StatusOK, ui.ReportsPage(p, v))
}
