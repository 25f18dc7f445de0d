package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/web/ui"
)

// People's sign-in (package signin does the work): the providers' redirect
// flows under /auth/{provider}/, email sign-in links, invitations, and the
// organisation switcher. Routed only when UIOptions.Accounts is set.

func (s *Server) routeSignIn(handle func(string, http.Handler), form func(http.HandlerFunc) http.Handler) {
	if s.opts.UI.Accounts == nil {
		return
	}
	if s.opts.UI.Flows != nil {
		handle("GET /auth/{provider}/start", http.HandlerFunc(s.handleAuthStart))
		handle("GET /auth/{provider}/callback", http.HandlerFunc(s.handleAuthCallback))
	}
	handle("POST /auth/email", http.HandlerFunc(s.handleEmailLink))
	handle("GET /auth/email/confirm", http.HandlerFunc(s.handleEmailConfirmPage))
	handle("POST /auth/email/confirm", http.HandlerFunc(s.handleEmailConfirm))
	handle("GET /invitations/accept", http.HandlerFunc(s.handleInvitationPage))
	handle("POST /invitations/accept", http.HandlerFunc(s.handleInvitationAccept))
	handle("POST /orgs/switch", form(s.handleSwitchOrg))
	handle("GET /members", s.signedIn(s.handleMembersPage))
	handle("POST /members/invite", form(s.handleInviteForm))
	handle("POST /members/{user_id}/role", form(s.handleRoleForm))
	handle("POST /members/{user_id}/remove", form(s.handleRemoveForm))
	handle("POST /invitations/{id}/revoke", form(s.handleRevokeForm))
	handle("POST /org/delete", form(s.handleDeleteOrgForm))
}

// loginView is the sign-in page's configured ways in.
func (s *Server) loginView(next string) ui.Login {
	v := ui.Login{Next: next}
	if a := s.opts.UI.Accounts; a != nil {
		v.Email = a.MailEnabled()
	}
	if f := s.opts.UI.Flows; f != nil {
		for _, p := range f.Providers() {
			v.Providers = append(v.Providers, ui.Provider{ID: p.ID, Label: p.Label})
		}
	}
	return v
}

// loginError shows the sign-in page with err's message and status (429
// with Retry-After when rate limited).
func (s *Server) loginError(w http.ResponseWriter, r *http.Request, err error, next string) {
	code := agentscope.ErrorCode(err)
	if code == agentscope.EINTERNAL {
		s.log.Error("sign-in failed", "path", r.URL.Path, "err", err)
	} else {
		s.log.Info("sign-in refused", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
	}
	setRetryAfter(w, err)
	v := s.loginView(next)
	v.Err = agentscope.ErrorMessage(err)
	s.render(w, r, codeStatus[code], ui.LoginPage(v))
}

// setRetryAfter sends err's RetryAfter, if any.
func setRetryAfter(w http.ResponseWriter, err error) {
	var e *agentscope.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter.Round(time.Second)/time.Second))))
	}
}

// redirectToProvider sends the browser to a sign-in provider's
// authorization endpoint: the one redirect off this site, and only ever to
// a URL signin.Flows.Begin built from the configuration.
func redirectToProvider(w http.ResponseWriter, r *http.Request, authURL string) {
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

func (s *Server) handleAuthStart(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	u, c, err := s.opts.UI.Flows.Begin(r.Context(), r.PathValue("provider"), next, r.TLS != nil)
	if err != nil {
		s.loginError(w, r, err, next)
		return
	}
	http.SetCookie(w, c)
	redirectToProvider(w, r, u)
}

func (s *Server) handleAuthCallback(w http.ResponseWriter, r *http.Request) {
	who, next, clear, err := s.opts.UI.Flows.Finish(r.Context(), r.PathValue("provider"), r)
	http.SetCookie(w, clear)
	if err != nil {
		s.loginError(w, r, err, "/")
		return
	}
	signed, err := s.opts.UI.Accounts.SignIn(r.Context(), who)
	if err != nil {
		s.loginError(w, r, err, "/")
		return
	}
	s.startUserSession(w, r, signed, next, r.PathValue("provider"))
}

// startUserSession opens a session for a person who just signed in, in
// the organisation they start in, and moves on to next.
func (s *Server) startUserSession(w http.ResponseWriter, r *http.Request, signed signin.SignedIn, next, method string) {
	if signed.OrgID == "" {
		s.loginError(w, r, agentscope.Errorf(agentscope.EFORBIDDEN, "%s is not a member of any organisation; ask an admin for an invitation", signed.User.Email), "/")
		return
	}
	_, cookie := s.sessions.issueUser(signed.User.ID, signed.OrgID, r.TLS != nil)
	s.auditSignIn(r, signed.OrgID, "user:"+signed.User.ID, method)
	http.SetCookie(w, cookie)
	s.log.Info("signed in", "user", signed.User.ID, "org", signed.OrgID, "first", signed.Created)
	redirectOnSite(w, r, safeNext(next))
}

// handleEmailLink mails a sign-in link. The answer is the same whether or
// not the address has an account.
func (s *Server) handleEmailLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	email := strings.TrimSpace(r.PostFormValue("email"))
	next := safeNext(r.PostFormValue("next"))
	if err := s.opts.UI.Accounts.SendSignInLink(r.Context(), email); err != nil {
		s.loginError(w, r, err, next)
		return
	}
	v := s.loginView(next)
	v.Notice = "A sign-in link is on its way to " + email + ". It works once, within a few minutes."
	s.render(w, r, http.StatusOK, ui.LoginPage(v))
}

// linkRefused shows why an emailed link does not work.
func (s *Server) linkRefused(w http.ResponseWriter, r *http.Request, title string, err error) {
	s.log.Info("emailed link refused", "path", r.URL.Path, "err", err)
	setRetryAfter(w, err)
	s.render(w, r, codeStatus[agentscope.ErrorCode(err)], ui.ConfirmPage(ui.Confirm{Title: title, Err: agentscope.ErrorMessage(err)}))
}

func (s *Server) handleEmailConfirmPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	e, err := s.opts.UI.Accounts.CheckSignInLink(r.Context(), token)
	if err != nil {
		s.linkRefused(w, r, "Sign in", err)
		return
	}
	s.render(w, r, http.StatusOK, ui.ConfirmPage(ui.Confirm{Title: "Sign in", Text: "Sign in to AgentScope as " + e.Email + ".",
		Action: "/auth/email/confirm", Token: token, Button: "Sign in"}))
}

func (s *Server) handleEmailConfirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	signed, err := s.opts.UI.Accounts.UseSignInLink(r.Context(), r.PostFormValue("token"))
	if err != nil {
		s.linkRefused(w, r, "Sign in", err)
		return
	}
	s.startUserSession(w, r, signed, "/", "email")
}

func (s *Server) handleInvitationPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	inv, err := s.opts.UI.Accounts.CheckInvitation(r.Context(), token)
	if err != nil {
		s.linkRefused(w, r, "Invitation", err)
		return
	}
	s.render(w, r, http.StatusOK, ui.ConfirmPage(ui.Confirm{Title: "Join " + inv.OrgName,
		Text:   "You are invited to join " + inv.OrgName + " as " + string(inv.Role) + ". Accepting signs you in as " + inv.Email + ".",
		Action: "/invitations/accept", Token: token, Button: "Accept and sign in"}))
}

func (s *Server) handleInvitationAccept(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	signed, err := s.opts.UI.Accounts.AcceptInvitation(r.Context(), r.PostFormValue("token"))
	if err != nil {
		s.linkRefused(w, r, "Invitation", err)
		return
	}
	s.startUserSession(w, r, signed, "/", "invitation")
}

// auditSignIn records a sign-in in the organisation's audit log. The
// session is open by then: a failure is logged as an error, not hidden,
// and does not undo the sign-in.
func (s *Server) auditSignIn(r *http.Request, org, actor, method string) {
	if s.opts.UI.Accounts == nil {
		return
	}
	if err := s.opts.UI.Accounts.RecordSignIn(r.Context(), org, actor, method); err != nil {
		s.log.Error("audit a sign-in", "org", org, "actor", actor, "method", method, "err", err)
	}
}

// handleSwitchOrg moves a person's session to another of their
// organisations: a new session (new id and CSRF token) in that one, the
// old one revoked. Not a member there answers as a missing organisation.
func (s *Server) handleSwitchOrg(w http.ResponseWriter, r *http.Request) {
	sess, _ := sessionFrom(r.Context())
	org := r.PostFormValue("org_id")
	if sess.UserID == "" {
		s.pageError(w, r, s.page(r, "", ""), agentscope.Errorf(agentscope.ENOTFOUND, "organisation %q not found", org))
		return
	}
	if _, err := s.opts.UI.Accounts.Principal(r.Context(), sess.UserID, org); err != nil {
		if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
			err = agentscope.Errorf(agentscope.ENOTFOUND, "organisation %q not found", org)
		}
		s.pageError(w, r, s.page(r, "", ""), err)
		return
	}
	if err := s.sessions.revoke(r.Context(), sess); err != nil {
		s.log.Warn("revoke the session left by switching organisation", "err", err)
	}
	_, cookie := s.sessions.issueUser(sess.UserID, org, r.TLS != nil)
	http.SetCookie(w, cookie)
	redirectOnSite(w, r, "/")
}
