package web

import (
	"context"
	"net/http"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

// sessionsPerPage is the session list's page size.
const sessionsPerPage = 50

// sincePresets are the session list's time filters.
var sincePresets = []struct {
	key, label string
	d          time.Duration
}{
	{"", "Any time", 0},
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
}

var runStatuses = []agentscope.RunStatus{agentscope.StatusQueued, agentscope.StatusRunning, agentscope.StatusCompleted, agentscope.StatusFailed, agentscope.StatusCancelled}

// handleSessionsPage lists runs newest first: ?agent=, ?status=, ?since=
// (a preset) and ?cursor= (the next page).
func (s *Server) handleSessionsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	p := s.withFeed(ctx, s.page(r, "Sessions", "sessions"))
	v := ui.Sessions{Agent: q.Get("agent"), Status: q.Get("status"), Since: q.Get("since"), Cursor: q.Get("cursor"), Now: time.Now()}
	in := service.ListRunsInput{Agent: v.Agent, Status: v.Status, Cursor: v.Cursor, Limit: sessionsPerPage}
	for _, ps := range sincePresets {
		v.Sinces = append(v.Sinces, ui.Option{Value: ps.key, Label: ps.label, Selected: ps.key == v.Since})
		if ps.key == v.Since && ps.d > 0 {
			in.Since = v.Now.Add(-ps.d).UTC().Format(time.RFC3339Nano)
		}
	}
	v.Statuses = []ui.Option{{Value: "", Label: "Any status", Selected: v.Status == ""}}
	for _, st := range runStatuses {
		v.Statuses = append(v.Statuses, ui.Option{Value: string(st), Label: string(st), Selected: string(st) == v.Status})
	}
	var err error
	if v.Agents, err = s.agentOptions(ctx, v.Agent); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	status := http.StatusOK
	page, err := s.svc.ListRuns(ctx, in)
	if err != nil {
		if agentscope.ErrorCode(err) == agentscope.EINTERNAL {
			s.pageError(w, r, p, err)
			return
		}
		v.Error, status = agentscope.ErrorMessage(err), codeStatus[agentscope.ErrorCode(err)]
	}
	v.Runs, v.NextCursor = page.Runs, page.NextCursor
	s.render(w, r, status, ui.SessionsPage(p, v))
}

// agentOptions lists the agents for a filter, keeping selected even if it
// is not (or no longer) registered.
func (s *Server) agentOptions(ctx context.Context, selected string) ([]ui.Option, error) {
	agents, err := s.svc.ListAgents(ctx)
	if err != nil {
		return nil, err
	}
	opts := []ui.Option{{Value: "", Label: "All agents", Selected: selected == ""}}
	found := selected == ""
	for _, a := range agents {
		opts = append(opts, ui.Option{Value: a.Name, Label: a.Name, Selected: a.Name == selected})
		found = found || a.Name == selected
	}
	if !found {
		opts = append(opts, ui.Option{Value: selected, Label: selected, Selected: true})
	}
	return opts, nil
}

// handleRunRowFragment renders one run's row for the script to insert or
// replace when the organisation feed reports a change: ?view=agent for the
// agents page, the session list's row otherwise. A run that no longer
// matches the list's ?agent= and ?status= answers 204.
func (s *Server) handleRunRowFragment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	run, err := s.svc.GetRun(r.Context(), r.PathValue("session_id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if (q.Get("agent") != "" && q.Get("agent") != run.Agent) || (q.Get("status") != "" && q.Get("status") != string(run.Status)) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if q.Get("view") == "agent" {
		s.render(w, r, http.StatusOK, ui.AgentRunRow(run, time.Now()))
		return
	}
	s.render(w, r, http.StatusOK, ui.SessionRow(run, time.Now()))
}
