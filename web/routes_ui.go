package web

import (
	"net/http"

	"github.com/agentscope/agentscope/web/ui"
)

// routeUI registers the web interface. Pages need a signed-in session
// (cookie) and redirect to /login without one; the UI's own fetch and
// websocket endpoints live under /ui/ and answer 401 instead. Every
// state-changing request passes http.CrossOriginProtection and, once
// signed in, the session's CSRF token. The JSON API keeps bearer tokens.
func (s *Server) routeUI(mux *Router) {
	s.sessions = newSessionKeeper(s.opts)
	cop := http.NewCrossOriginProtection()
	handle := func(pattern string, h http.Handler) { mux.Handle(pattern, cop.Handler(uiHeaders(h))) }
	page := func(h http.HandlerFunc) http.Handler { return s.signedIn(h) }
	form := func(h http.HandlerFunc) http.Handler { return s.signedIn(s.csrfProtected(h)) }

	mux.Handle("GET "+ui.StaticPrefix, ui.Assets())
	handle("GET /login", http.HandlerFunc(s.handleLoginPage))
	handle("POST /login", http.HandlerFunc(s.handleLogin))
	handle("POST /logout", form(s.handleLogout))
	s.routeSignIn(handle, form)

	handle("GET /{$}", page(s.handleDashboardPage))
	handle("GET /agents", page(s.handleAgentsPage))
	handle("POST /agents/{name}/runs", form(s.handleRunAgent))
	handle("GET /sessions", page(s.handleSessionsPage))
	handle("GET /sessions/{session_id}", page(s.handleReplayPage))
	handle("GET /search", page(s.handleSearchPage))
	handle("POST /sessions/{session_id}/investigate", form(s.handleInvestigateSession))
	handle("POST /agents/{name}/investigate", form(s.handleInvestigateAgent))
	handle("GET /reports", page(s.handleReportsPage))
	handle("GET /reports/{session_id}", page(s.handleReportPage))
	handle("GET /keys", page(s.handleKeysPage))
	handle("POST /keys", form(s.handleCreateKey))
	handle("POST /keys/{id}/revoke", form(s.handleRevokeKey))
	handle("GET /audit", page(s.handleAuditPage))

	// Fragments and data for the script, with the cookie.
	handle("GET /ui/fragments/runs/{session_id}", s.signedInAPI(http.HandlerFunc(s.handleRunRowFragment)))
	handle("GET /ui/fragments/sessions/{session_id}/timeline", s.signedInAPI(http.HandlerFunc(s.handleTimelineFragment)))
	handle("GET /ui/fragments/reports/{session_id}", s.signedInAPI(http.HandlerFunc(s.handleReportFragment)))
	handle("GET /ui/fragments/investigations/{session_id}", s.signedInAPI(http.HandlerFunc(s.handleInvestigationFragment)))
	handle("GET /ui/api/sessions/{session_id}/events", s.signedInAPI(s.uiJSON(s.handleReplay)))
	handle("GET /ui/live/sessions/{session_id}", browserOrigin(s.signedInAPI(http.HandlerFunc(s.handleLive))))
	handle("GET /ui/live/org", browserOrigin(s.signedInAPI(http.HandlerFunc(s.handleOrgLive))))
}

// uiJSON serves an API endpoint's JSON to the signed-in script.
func (s *Server) uiJSON(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, v, err := h(w, r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, status, v)
	})
}
