package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/agentscope/agentscope/web/ui"
)

// handleLoginPage shows the sign-in form, or moves a signed-in browser on.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := s.readSession(r); ok {
		redirectOnSite(w, r, next)
		return
	}
	s.render(w, r, http.StatusOK, ui.LoginPage(s.loginView(next)))
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
		v := s.loginView(next)
		v.Err = "That token is not valid. Check for a missing character and try again."
		s.render(w, r, http.StatusUnauthorized, ui.LoginPage(v))
		return
	}
	_, cookie := s.sessions.issue(org, token, r.TLS != nil)
	s.auditSignIn(r, org, "instance", "token")
	http.SetCookie(w, cookie)
	redirectOnSite(w, r, next)
}

// handleLogout revokes the session and clears its cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if sess, ok := sessionFrom(r.Context()); ok {
		if err := s.sessions.revoke(r.Context(), sess); err != nil {
			// Signed out here and the cookie is cleared; other processes
			// keep the session until it expires.
			s.log.Warn("sign-out not recorded in the store", "err", err)
		}
	}
	http.SetCookie(w, s.sessions.clear(r.TLS != nil))
	redirectOnSite(w, r, "/login")
}

// redirectOnSite answers 303 See Other to target, a path on this site.
// Every redirect the web server makes goes through here (a test checks),
// so each passes safeNext: a target that could leave the site, however it
// was built, becomes "/".
func redirectOnSite(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, safeNext(target), http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect on this site: a path, never a
// scheme-relative or absolute URL. Browsers drop ASCII tab, CR and LF from
// a URL and read a backslash as '/', so "/<TAB>/evil.example" and "/\\evil" would
// leave the site; such values, any other control character, and a path
// whose decoded form starts "//" or "/\\" all fall back to "/".
func safeNext(next string) string {
	if !sameSitePath(next) {
		return "/"
	}
	if dec, err := url.PathUnescape(next); err != nil || !sameSitePath(dec) {
		return "/"
	}
	return next
}

// sameSitePath reports whether p is an absolute path with no host part
// and no character a browser would strip or reinterpret.
func sameSitePath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' || c == utf8.RuneError {
			return false
		}
	}
	return true
}
