package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/oauth"
	"github.com/agentscope/agentscope/web/ui"
)

// OAuth for MCP hosts (issue 17 item 5): /mcp is a protected resource and
// package oauth its authorization server. The web server mounts oauth's
// endpoints, authenticates /mcp for its resource (so an access token is
// accepted there and nowhere else), names the resource metadata in /mcp's
// 401 answers, and serves the consent page, which needs the signed-in
// person.

// ResourceAuthenticator is an Authenticator that also accepts credentials
// bound to a protected resource: OAuth access tokens on /mcp
// (identity.Authenticator).
type ResourceAuthenticator interface {
	AuthenticateResourceHeader(ctx context.Context, header, resource string) (agentscope.Principal, error)
}

// routeOAuth mounts the authorization server's endpoints, the consent
// page and the page of connected hosts.
func (s *Server) routeOAuth(mux *Router) {
	s.opts.OAuth.Route(mux)
	cop := http.NewCrossOriginProtection()
	mux.Handle("GET "+oauth.AuthorizePath, cop.Handler(uiHeaders(s.signedIn(s.handleAuthorize))))
	mux.Handle("POST "+oauth.AuthorizePath, cop.Handler(uiHeaders(s.signedIn(s.csrfProtected(s.handleConsent)))))
	mux.Handle("GET /connections", cop.Handler(uiHeaders(s.signedIn(s.handleConnectionsPage))))
	mux.Handle("POST /connections/{id}/revoke", cop.Handler(uiHeaders(s.signedIn(s.csrfProtected(s.handleRevokeConnection)))))
}

// mcpBearer authenticates /mcp: as bearer does, and, with OAuth on, also
// access tokens bound to /mcp, with the resource metadata's URL in every
// 401 (RFC 9728 5.1), where an MCP host starts its authorization.
func (s *Server) mcpBearer(h http.Handler) http.Handler {
	ra, ok := s.opts.Auth.(ResourceAuthenticator)
	if s.opts.OAuth == nil || !ok {
		return s.bearer(h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := ra.AuthenticateResourceHeader(r.Context(), r.Header.Get("Authorization"), s.opts.OAuth.Resource(r))
		if err != nil {
			if agentscope.ErrorCode(err) == agentscope.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", bearerChallenge(r)+`, resource_metadata="`+s.opts.OAuth.ResourceMetadataURL(r)+`"`)
			}
			writeError(w, r, s.log, err)
			return
		}
		s.serveAs(w, r, h, p)
	})
}

// authorizeParams are the request parameters the consent form carries
// back, all of them as received.
func authorizeParams(v url.Values) []ui.ConsentParam {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != "csrf" && k != "org" && k != "scope_grant" && k != "decision" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []ui.ConsentParam
	for _, k := range keys {
		for _, val := range v[k] {
			out = append(out, ui.ConsentParam{Name: k, Value: val})
		}
	}
	return out
}

// consentOrg is an organisation the signed-in person may grant access to.
type consentOrg struct {
	id, name string
	role     agentscope.Role
}

// consentOrgs lists the organisations the session may act in: a person's
// memberships, or the one organisation an instance token's session owns.
func (s *Server) consentOrgs(ctx context.Context) ([]consentOrg, agentscope.Principal, error) {
	p, ok := agentscope.PrincipalFrom(ctx)
	if !ok {
		return nil, p, agentscope.Errorf(agentscope.EUNAUTHORIZED, "sign in first")
	}
	if p.Kind == agentscope.PrincipalUser && s.opts.UI.Accounts != nil {
		orgs, err := s.opts.UI.Accounts.Orgs(ctx, p.UserID)
		if err != nil {
			return nil, p, err
		}
		out := make([]consentOrg, len(orgs))
		for i, o := range orgs {
			out[i] = consentOrg{o.ID, o.Name, o.Role}
		}
		return out, p, nil
	}
	return []consentOrg{{p.OrgID, p.OrgID, p.Role}}, p, nil
}

var scopeDescriptions = map[agentscope.Scope]string{
	agentscope.ScopeIngest: "record events, start and end runs",
	agentscope.ScopeRead:   "replay sessions, search, read reports",
	agentscope.ScopeRun:    "queue managed runs and investigations",
	agentscope.ScopeAdmin:  "manage agents, budgets, alert rules, keys and members",
}

// handleAuthorize checks an authorization request and shows the consent
// page. A request whose client or redirect URI is not registered is shown
// as an error here; other faults go back to the client.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	req, err := s.opts.OAuth.ParseAuthorize(r.Context(), r, r.URL.Query())
	if err != nil {
		s.authorizeError(w, r, err)
		return
	}
	s.renderConsent(w, r, req, r.URL.Query(), http.StatusOK, "")
}

func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, err error) {
	var re *oauth.RedirectError
	if errors.As(err, &re) {
		s.opts.OAuth.Redirect(w, r, re)
		return
	}
	s.pageError(w, r, s.page(r, "Connect an MCP host", ""), err)
}

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest, params url.Values, status int, msg string) {
	orgs, _, err := s.consentOrgs(r.Context())
	if err != nil {
		s.pageError(w, r, s.page(r, "Connect an MCP host", ""), err)
		return
	}
	if len(orgs) == 0 {
		s.pageError(w, r, s.page(r, "Connect an MCP host", ""), agentscope.Errorf(agentscope.EFORBIDDEN, "you belong to no organisation an MCP host could act in"))
		return
	}
	name := req.Client.Name
	if name == "" {
		name = "An MCP host"
	}
	redirect, _ := url.Parse(req.RedirectURI)
	v := ui.ConsentView{ClientName: name, ClientID: req.Client.ID, RedirectHost: redirect.Host, Params: authorizeParams(params), Error: msg}
	chosen := params.Get("org")
	for i, o := range orgs {
		v.Orgs = append(v.Orgs, ui.ConsentOrg{ID: o.id, Name: o.name, Role: string(o.role),
			Scopes: strings.ReplaceAll(agentscope.JoinScopes(agentscope.ScopesForRole(o.role)), ",", ", "), Selected: o.id == chosen || (chosen == "" && i == 0)})
	}
	granted := params["scope_grant"]
	for _, sc := range req.Scopes {
		v.Scopes = append(v.Scopes, ui.ConsentScope{Name: string(sc), Description: scopeDescriptions[sc],
			Checked: slices.Contains(granted, string(sc)) || (msg == "" && len(granted) == 0)})
	}
	// The decision's redirect goes to the host: the page's form-action
	// must allow its origin, or browsers stop the redirect.
	w.Header().Set("Content-Security-Policy", strings.Replace(w.Header().Get("Content-Security-Policy"), "form-action 'self'", "form-action 'self' "+req.RedirectOrigin(), 1))
	s.render(w, r, status, ui.ConsentPage(s.page(r, "Connect an MCP host", ""), v))
}

// handleConsent takes the person's decision: deny sends access_denied to
// the host; allow checks the organisation (one the session may act in)
// and the scopes (asked for, and within the role there) and sends the
// host its code.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	params := r.PostForm
	req, err := s.opts.OAuth.ParseAuthorize(r.Context(), r, url.Values(authorizeValues(params)))
	if err != nil {
		s.authorizeError(w, r, err)
		return
	}
	if params.Get("decision") != "approve" {
		s.opts.OAuth.Deny(w, r, req)
		return
	}
	orgs, p, err := s.consentOrgs(r.Context())
	if err != nil {
		s.pageError(w, r, s.page(r, "Connect an MCP host", ""), err)
		return
	}
	i := slices.IndexFunc(orgs, func(o consentOrg) bool { return o.id == params.Get("org") })
	if i < 0 {
		// Another organisation's id answers as a missing one.
		s.renderConsent(w, r, req, params, http.StatusNotFound, "Pick one of your organisations.")
		return
	}
	var scopes []agentscope.Scope
	for _, name := range params["scope_grant"] {
		scopes = append(scopes, agentscope.Scope(name))
	}
	if len(scopes) == 0 {
		s.renderConsent(w, r, req, params, http.StatusBadRequest, "Pick at least one scope, or deny.")
		return
	}
	err = s.opts.OAuth.Approve(w, r, req, oauth.Approval{OrgID: orgs[i].id, Actor: p.Actor(), UserID: p.UserID, Role: orgs[i].role, Scopes: scopes})
	if err != nil {
		if code := agentscope.ErrorCode(err); code == agentscope.EFORBIDDEN || code == agentscope.EINVALID {
			s.renderConsent(w, r, req, params, http.StatusForbidden, agentscope.ErrorMessage(err))
			return
		}
		s.pageError(w, r, s.page(r, "Connect an MCP host", ""), err)
	}
}

// authorizeValues are the authorization request's parameters among a
// consent form's fields.
func authorizeValues(form url.Values) url.Values {
	out := url.Values{}
	for _, p := range authorizeParams(form) {
		out.Add(p.Name, p.Value)
	}
	return out
}

// handleListOAuthGrants lists the organisation's OAuth grants: which MCP
// hosts may act in it, approved by whom, with which scopes.
func (s *Server) handleListOAuthGrants(w http.ResponseWriter, r *http.Request) (int, any, error) {
	grants, err := s.svc.ListOAuthGrants(r.Context())
	return http.StatusOK, map[string]any{"grants": grants}, err
}

// handleRevokeOAuthGrant ends an OAuth grant and its tokens.
func (s *Server) handleRevokeOAuthGrant(w http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := s.svc.RevokeOAuthGrant(r.Context(), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"status": "revoked"}, nil
}

// handleConnectionsPage lists the MCP hosts connected to the
// organisation with OAuth (an administrator's, as keys are).
func (s *Server) handleConnectionsPage(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Connected MCP hosts", "connections")
	grants, err := s.svc.ListOAuthGrants(r.Context())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v := ui.Connections{}
	for i := len(grants) - 1; i >= 0; i-- {
		g := grants[i]
		client := g.ClientName
		if client == "" {
			client = g.ClientID
		}
		v.Grants = append(v.Grants, ui.Connection{ID: g.ID, Client: client, Actor: g.Actor, Scopes: strings.ReplaceAll(agentscope.JoinScopes(g.Scopes), ",", ", "),
			Created: g.CreatedAt, Revoked: g.RevokedAt != nil})
	}
	s.render(w, r, http.StatusOK, ui.ConnectionsPage(p, v))
}

// handleRevokeConnection ends a grant from the page of connected hosts.
func (s *Server) handleRevokeConnection(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.RevokeOAuthGrant(r.Context(), r.PathValue("id")); err != nil {
		s.pageError(w, r, s.page(r, "Connected MCP hosts", ""), err)
		return
	}
	redirectOnSite(w, r, "/connections")
}
