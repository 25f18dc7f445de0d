package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/agentscope/agentscope"
)

type sessionCtxKey struct{}

// sessionFrom returns the signed-in session of a request that passed
// signedIn or signedInAPI.
func sessionFrom(ctx context.Context) (uiSession, bool) {
	s, ok := ctx.Value(sessionCtxKey{}).(uiSession)
	return s, ok
}

// readSession returns the request's valid session, if any.
func (s *Server) readSession(r *http.Request) (uiSession, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return uiSession{}, false
	}
	sess, err := s.sessions.verify(r.Context(), c.Value)
	if err != nil {
		return uiSession{}, false
	}
	if sess.UserID != "" {
		// A person's role is read on every request: a removed member
		// loses access at once, a changed role applies at the next page.
		if s.opts.UI.Accounts == nil {
			return uiSession{}, false
		}
		p, err := s.opts.UI.Accounts.Principal(r.Context(), sess.UserID, sess.OrgID)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				s.log.Warn("read membership for a session", "err", err)
			}
			return uiSession{}, false
		}
		sess.p = p
	}
	return sess, true
}

func withSession(r *http.Request, sess uiSession) *http.Request {
	ctx := context.WithValue(r.Context(), sessionCtxKey{}, sess)
	return r.WithContext(agentscope.WithPrincipal(ctx, sess.principal()))
}

// signedIn requires a session for a page; without one the browser is sent
// to /login and brought back afterwards.
func (s *Server) signedIn(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.readSession(r)
		if !ok {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			redirectOnSite(w, r, "/login?next="+url.QueryEscape(next))
			return
		}
		h(w, withSession(r, sess))
	})
}

// signedInAPI requires a session for the UI's own fetch and websocket
// endpoints, answering 401 without one.
func (s *Server) signedInAPI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.readSession(r)
		if !ok {
			writeError(w, r, s.log, agentscope.Errorf(agentscope.EUNAUTHORIZED, "sign in at /login"))
			return
		}
		h.ServeHTTP(w, withSession(r, sess))
	})
}

// csrfProtected refuses a state-changing request of a signed-in session
// unless it carries the session's CSRF token, in the form field "csrf" or
// the X-CSRF-Token header. Cross-origin requests were already refused by
// http.CrossOriginProtection; this also covers browsers that send neither
// Sec-Fetch-Site nor Origin.
func (s *Server) csrfProtected(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := sessionFrom(r.Context())
		token := r.Header.Get("X-CSRF-Token")
		if token == "" {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			token = r.PostFormValue("csrf")
		}
		if !s.sessions.checkCSRF(sess, token) {
			http.Error(w, "Forbidden: the form's security token is missing or stale. Reload the page and try again.", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// maxFormBytes bounds the UI's form bodies.
const maxFormBytes = 1 << 20

// browserOrigin admits a websocket upgrade of the UI only from a page of
// this host. A cookie-authenticated socket must see an Origin (every
// browser sends one), which shuts out cross-site websocket hijacking.
func browserOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !sameOrigin(r) {
			http.Error(w, "Forbidden: cross-origin websocket", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// uiHeaders sets the security headers of every UI response. Inline style
// attributes are allowed for the waterfall's computed positions; scripts
// and stylesheets come only from this server.
func uiHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/ui/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// principal is who a session acts as: a person with their role as of
// this request, or the holder of an instance token, the owner of its
// organisation.
func (s uiSession) principal() agentscope.Principal {
	if s.UserID != "" {
		return s.p
	}
	return agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: s.OrgID, Role: agentscope.RoleOwner}
}
