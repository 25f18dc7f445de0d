package web

import (
	"net/http"
	"strings"

	"github.com/agentscope/agentscope/web/ui"
)

// handleLoginPage shows the sign-in form, or moves a signed-in browser on.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := s.readSession(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, ui.LoginPage("", next))
}

// handleLogin checks the token and opens a session. The login form has no
// session to bind a CSRF token to; http.CrossOriginProtection refuses it
// from other sites, and a forged sign-in would need the token anyway.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	org, ok := s.OrgForToken(token)
	if token == "" || !ok {
		s.log.Info("sign-in refused", "remote", r.RemoteAddr)
		s.render(w, r, http.StatusUnauthorized, ui.LoginPage("That token is not valid. Check for a missing character and try again.", next))
		return
	}
	_, cookie := s.sessions.issue(org, token, r.TLS != nil)
	http.SetCookie(w, cookie)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleLogout revokes the session and clears its cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sess, ok := sessionFrom(r.Context()); ok {
		s.sessions.revoke(sess)
	}
	http.SetCookie(w, s.sessions.clear(r.TLS != nil))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect on this site: a path, never a
// scheme-relative or absolute URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
