package web

import (
	"context"
	"net/http"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

// An organisation's members and invitations: the JSON API (bearer) and the
// Members page (session). Both call signin.Accounts, which checks the
// caller's role; the store keeps an owner.

func (s *Server) routeMembers(mux *Router) {
	if s.opts.UI.Accounts == nil {
		return
	}
	mux.Handle("GET /api/v1/members", s.api(s.handleListMembers))
	mux.Handle("PATCH /api/v1/members/{user_id}", s.api(s.handleSetMemberRole))
	mux.Handle("DELETE /api/v1/members/{user_id}", s.api(s.handleRemoveMember))
	mux.Handle("GET /api/v1/invitations", s.api(s.handleListInvitations))
	mux.Handle("POST /api/v1/invitations", s.api(s.handleInvite))
	mux.Handle("DELETE /api/v1/invitations/{id}", s.api(s.handleRevokeInvitation))
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) (int, any, error) {
	m, err := s.opts.UI.Accounts.ListMembers(r.Context())
	if m == nil {
		m = []agentscope.Member{}
	}
	return http.StatusOK, map[string]any{"members": m}, err
}

func (s *Server) handleSetMemberRole(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var in struct {
		Role agentscope.Role `json:"role"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	m, err := s.opts.UI.Accounts.SetMemberRole(r.Context(), r.PathValue("user_id"), in.Role)
	return http.StatusOK, m, err
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) (int, any, error) {
	err := s.opts.UI.Accounts.RemoveMember(r.Context(), r.PathValue("user_id"))
	return http.StatusOK, map[string]string{"status": "removed"}, err
}

func (s *Server) handleListInvitations(w http.ResponseWriter, r *http.Request) (int, any, error) {
	list, err := s.opts.UI.Accounts.ListInvitations(r.Context())
	if list == nil {
		list = []agentscope.EmailToken{}
	}
	return http.StatusOK, map[string]any{"invitations": list}, err
}

func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var in struct {
		Email string          `json:"email"`
		Role  agentscope.Role `json:"role"`
	}
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	inv, err := s.opts.UI.Accounts.Invite(r.Context(), in.Email, in.Role)
	return http.StatusCreated, inv, err
}

func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request) (int, any, error) {
	err := s.opts.UI.Accounts.RevokeInvitation(r.Context(), r.PathValue("id"))
	return http.StatusOK, map[string]string{"status": "revoked"}, err
}

// personOnPage shows a signed-in person and their organisations on a page.
func (s *Server) personOnPage(ctx context.Context, p *ui.Page, sess uiSession) {
	if u, err := s.opts.UI.Accounts.User(ctx, sess.UserID); err == nil {
		p.User = u.Email
	}
	orgs, err := s.opts.UI.Accounts.Orgs(ctx, sess.UserID)
	if err != nil {
		s.log.Warn("list a user's organisations", "err", err)
		return
	}
	for _, o := range orgs {
		if o.ID == sess.OrgID {
			p.Org = o.Name
		}
	}
	p.Orgs = orgOptions(orgs, sess.OrgID)
}

// orgOptions are the organisation switcher's choices: each organisation's
// name and the person's role in it, and its id as well where another of
// theirs has the same name (people's own organisations, made at their
// first sign-in, may share names), so that no two read the same.
func orgOptions(orgs []agentscope.UserOrg, current string) []ui.Option {
	named := map[string]int{}
	for _, o := range orgs {
		named[agentscope.OrgNameKey(o.Name)]++
	}
	out := make([]ui.Option, 0, len(orgs))
	for _, o := range orgs {
		label := o.Name + " (" + string(o.Role) + ")"
		if named[agentscope.OrgNameKey(o.Name)] > 1 {
			label = o.Name + " (" + string(o.Role) + ", " + o.ID + ")"
		}
		out = append(out, ui.Option{Value: o.ID, Label: label, Selected: o.ID == current})
	}
	return out
}

// handleMembersPage shows the organisation's members, and to those who
// manage them the pending invitations and the forms.
func (s *Server) handleMembersPage(w http.ResponseWriter, r *http.Request) {
	s.membersPage(w, r, http.StatusOK, nil)
}

func (s *Server) membersPage(w http.ResponseWriter, r *http.Request, status int, notice *ui.Notice) {
	ctx := r.Context()
	p := s.page(r, "Members", "members")
	members, err := s.opts.UI.Accounts.ListMembers(ctx)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	caller, _ := agentscope.PrincipalFrom(ctx)
	v := ui.Members{CanManage: caller.Allows(agentscope.ActionManageMembers), Mail: s.opts.UI.Accounts.MailEnabled()}
	for _, role := range agentscope.Roles {
		v.Roles = append(v.Roles, string(role))
	}
	for _, m := range members {
		v.Members = append(v.Members, ui.MemberRow{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: string(m.Role), You: m.UserID == caller.UserID && caller.UserID != ""})
	}
	if v.CanManage {
		inv, err := s.opts.UI.Accounts.ListInvitations(ctx)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		for _, i := range inv {
			v.Invitations = append(v.Invitations, ui.InvitationRow{ID: i.ID, Email: i.Email, Role: string(i.Role), Expires: i.ExpiresAt.UTC().Format(time.RFC3339)})
		}
	}
	if caller.Allows(agentscope.ActionDeleteOrg) && caller.OrgID != agentscope.DefaultOrgID {
		if o, ok := s.currentOrgName(r); ok {
			v.DeleteOrg = o
		}
	}
	if notice != nil {
		v.Notices = append(v.Notices, *notice)
	}
	s.render(w, r, status, ui.MembersPage(p, v))
}

// membersFormDone answers a Members form: back to the page on success, the
// page with the error (and its status) otherwise.
func (s *Server) membersFormDone(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		redirectOnSite(w, r, "/members")
		return
	}
	code := agentscope.ErrorCode(err)
	if code == agentscope.EINTERNAL {
		s.log.Error("members form", "path", r.URL.Path, "err", err)
	}
	setRetryAfter(w, err)
	s.membersPage(w, r, codeStatus[code], &ui.Notice{Kind: "error", Text: agentscope.ErrorMessage(err)})
}

func (s *Server) handleInviteForm(w http.ResponseWriter, r *http.Request) {
	_, err := s.opts.UI.Accounts.Invite(r.Context(), r.PostFormValue("email"), agentscope.Role(r.PostFormValue("role")))
	s.membersFormDone(w, r, err)
}

func (s *Server) handleRoleForm(w http.ResponseWriter, r *http.Request) {
	_, err := s.opts.UI.Accounts.SetMemberRole(r.Context(), r.PathValue("user_id"), agentscope.Role(r.PostFormValue("role")))
	s.membersFormDone(w, r, err)
}

func (s *Server) handleRemoveForm(w http.ResponseWriter, r *http.Request) {
	err := s.opts.UI.Accounts.RemoveMember(r.Context(), r.PathValue("user_id"))
	if sess, _ := sessionFrom(r.Context()); err == nil && sess.UserID == r.PathValue("user_id") {
		redirectOnSite(w, r, "/") // left the organisation
		return
	}
	s.membersFormDone(w, r, err)
}

func (s *Server) handleRevokeForm(w http.ResponseWriter, r *http.Request) {
	s.membersFormDone(w, r, s.opts.UI.Accounts.RevokeInvitation(r.Context(), r.PathValue("id")))
}

// currentOrgName is the name of the organisation the signed-in session is
// in, as its organisation switcher lists it.
func (s *Server) currentOrgName(r *http.Request) (string, bool) {
	sess, ok := sessionFrom(r.Context())
	if !ok || sess.UserID == "" {
		return "", false
	}
	orgs, err := s.opts.UI.Accounts.Orgs(r.Context(), sess.UserID)
	if err != nil {
		return "", false
	}
	for _, o := range orgs {
		if o.ID == sess.OrgID {
			return o.Name, true
		}
	}
	return "", false
}

// handleDeleteOrgForm deletes the session's organisation (an owner, who
// typed its name to confirm) and goes home: the session's next request
// finds no membership there and signs in again, to another organisation
// or a new one.
func (s *Server) handleDeleteOrgForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.DeleteOrg(r.Context(), service.DeleteOrgInput{Confirm: r.PostFormValue("confirm")}); err != nil {
		s.membersFormDone(w, r, err)
		return
	}
	redirectOnSite(w, r, "/")
}
