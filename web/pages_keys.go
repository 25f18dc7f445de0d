package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

// The API keys page: the organisation's keys, a form that makes one (shown
// once, on the page its POST answers, never in a URL) and a Revoke button
// for each active key. It calls the service as POST, GET and DELETE
// /api/v1/keys do, so the session's caller is authorized the same way.

// scopeHelp says what each scope allows, for the form.
var scopeHelp = map[agentscope.Scope]string{
	agentscope.ScopeIngest: "record events, start and end runs",
	agentscope.ScopeRead:   "replay sessions, search, read reports",
	agentscope.ScopeRun:    "queue managed runs, investigate",
	agentscope.ScopeAdmin:  "everything, and agents, budgets, alerts, keys",
}

func (s *Server) handleKeysPage(w http.ResponseWriter, r *http.Request) {
	s.renderKeys(w, r, http.StatusOK, ui.KeyForm{Scopes: scopeOptions(nil)}, nil)
}

// handleCreateKey makes a key from the form and shows it once, or shows
// the form again with what was wrong.
func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	form := ui.KeyForm{Name: r.PostFormValue("name"), Expires: r.PostFormValue("expires")}
	var scopes []agentscope.Scope
	for _, v := range r.PostForm["scopes"] {
		scopes = append(scopes, agentscope.Scope(v))
	}
	form.Scopes = scopeOptions(scopes)
	in := service.CreateKeyInput{Name: form.Name, Scopes: scopes}
	var err error
	if form.Expires != "" {
		// A date: the key works through that day (UTC).
		var day time.Time
		if day, err = time.Parse(time.DateOnly, form.Expires); err != nil {
			err = agentscope.FieldErrorf("expires", "must be a date such as 2027-01-31")
		} else {
			at := day.Add(24*time.Hour - time.Second)
			in.ExpiresAt = &at
		}
	}
	var (
		k    agentscope.APIKey
		cred agentscope.Credential
	)
	if err == nil {
		k, cred, err = s.svc.CreateKey(r.Context(), in)
	}
	if err != nil {
		if agentscope.ErrorCode(err) == agentscope.EINTERNAL {
			s.log.Error("create API key", "err", err)
		}
		form.Error = agentscope.ErrorMessage(err)
		s.renderKeys(w, r, codeStatus[agentscope.ErrorCode(err)], form, nil)
		return
	}
	s.renderKeys(w, r, http.StatusCreated, ui.KeyForm{Scopes: scopeOptions(nil)}, &ui.CreatedKey{Name: k.Name, Key: cred.Reveal()})
}

// handleRevokeKey revokes a key and goes back to the list.
func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.RevokeKey(r.Context(), r.PathValue("id")); err != nil {
		s.pageError(w, r, s.page(r, "API keys", "keys"), err)
		return
	}
	redirectOnSite(w, r, "/keys")
}

func (s *Server) renderKeys(w http.ResponseWriter, r *http.Request, status int, form ui.KeyForm, created *ui.CreatedKey) {
	p := s.page(r, "API keys", "keys")
	keys, err := s.svc.ListKeys(r.Context())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v := ui.Keys{Form: form, Created: created}
	now := time.Now()
	for _, k := range keys {
		state := "active"
		switch {
		case k.RevokedAt != nil:
			state = "revoked"
		case !k.Usable(now):
			state = "expired"
		}
		v.Keys = append(v.Keys, ui.KeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: agentscope.JoinScopes(k.Scopes),
			CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, State: state})
	}
	s.render(w, r, status, ui.KeysPage(p, v))
}

// scopeOptions are the form's scope checkboxes, those in ticked.
func scopeOptions(ticked []agentscope.Scope) []ui.Option {
	out := make([]ui.Option, len(agentscope.Scopes))
	for i, sc := range agentscope.Scopes {
		out[i] = ui.Option{Value: string(sc), Label: scopeHelp[sc], Selected: slices.Contains(ticked, sc)}
	}
	return out
}
