package oauth

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// AuthorizeRequest is a checked authorization request (RFC 6749 4.1.1
// with PKCE, RFC 7636, and a resource, RFC 8707), as the consent page
// shows it and sends it back.
type AuthorizeRequest struct {
	Client      agentscope.OAuthClient
	RedirectURI string
	State       string
	// CodeChallenge is the S256 PKCE challenge.
	CodeChallenge string
	// Resource is /mcp's canonical URI, what the token will be bound to.
	Resource string
	// Scopes are the requested scopes AgentScope knows, in order; all of
	// them when the request names none. Unknown names (offline_access,
	// another server's) are left out: a server may grant less than asked
	// (RFC 6749 3.3).
	Scopes []agentscope.Scope
	// Params are the request's parameters as received, for the consent
	// form to send back.
	Params url.Values
}

// Approval is what the person on the consent page decided: the
// organisation, the scopes (within what their role there allows) and who
// they are.
type Approval struct {
	OrgID  string
	Actor  string // Principal.Actor of the person approving
	UserID string // empty for the instance token's holder
	Role   agentscope.Role
	Scopes []agentscope.Scope
}

// RedirectError is an authorization request error that goes back to the
// client at its redirect URI (RFC 6749 4.1.2.1), not to the person.
type RedirectError struct {
	Err *Error
	req *AuthorizeRequest
}

func (e *RedirectError) Error() string { return e.Err.Error() }

// ParseAuthorize checks an authorization request's parameters (the query
// of GET /oauth/authorize, or the consent form sending them back). An
// error that is not a *RedirectError (unknown client, a redirect URI not
// registered) must be shown to the person and never sent to the redirect
// URI (RFC 6749 4.1.2.1); a *RedirectError is sent back to the client
// with Redirect.
func (s *Server) ParseAuthorize(ctx context.Context, r *http.Request, params url.Values) (*AuthorizeRequest, error) {
	clientID := params.Get("client_id")
	if clientID == "" {
		return nil, agentscope.FieldErrorf("client_id", "is required")
	}
	var client agentscope.OAuthClient
	var err error
	if isMetadataDocumentURL(clientID) {
		client, err = s.fetchClient(ctx, clientID)
	} else {
		client, err = s.store.GetOAuthClient(ctx, clientID)
	}
	if err != nil {
		if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
			return nil, agentscope.FieldErrorf("client_id", "no MCP host is registered as %q; let it register again", clientID)
		}
		return nil, err
	}
	redirect := params.Get("redirect_uri")
	if redirect == "" && len(client.RedirectURIs) == 1 {
		redirect = client.RedirectURIs[0]
	}
	if !agentscope.RedirectURIMatches(client.RedirectURIs, redirect) {
		return nil, agentscope.FieldErrorf("redirect_uri", "is not one the MCP host registered")
	}
	req := &AuthorizeRequest{Client: client, RedirectURI: redirect, State: params.Get("state"), Params: params}
	fail := func(code, format string, args ...any) (*AuthorizeRequest, error) {
		return nil, &RedirectError{Err: oauthErr(code, format, args...), req: req}
	}
	for _, p := range []string{"client_id", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method", "resource", "scope"} {
		if len(params[p]) > 1 {
			return fail("invalid_request", "%s is given more than once", p)
		}
	}
	if rt := params.Get("response_type"); rt != "code" {
		return fail("unsupported_response_type", "response_type must be code")
	}
	if m := params.Get("code_challenge_method"); m != "S256" {
		return fail("invalid_request", "code_challenge_method must be S256 (PKCE); plain is not accepted")
	}
	req.CodeChallenge = params.Get("code_challenge")
	if !validChallenge(req.CodeChallenge) {
		return fail("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)")
	}
	if req.Resource, err = s.resourceFor(r, params.Get("resource")); err != nil {
		return fail("invalid_target", "resource must be %s", s.Resource(r))
	}
	req.Scopes = parseScope(params.Get("scope"))
	if len(req.Scopes) == 0 && strings.TrimSpace(params.Get("scope")) != "" {
		return fail("invalid_scope", "none of the requested scopes is AgentScope's: ingest, read, run, admin")
	}
	if len(req.Scopes) == 0 {
		req.Scopes = slices.Clone(agentscope.Scopes)
	}
	return req, nil
}

// parseScope reads a scope parameter (space-separated, RFC 6749 3.3) and
// keeps AgentScope's scopes, in order, once each.
func parseScope(s string) []agentscope.Scope {
	var got []agentscope.Scope
	for _, name := range strings.Fields(s) {
		if sc := agentscope.Scope(name); sc.Valid() && !slices.Contains(got, sc) {
			got = append(got, sc)
		}
	}
	if len(got) == 0 {
		return nil
	}
	out, _ := agentscope.NormalizeScopes(got)
	return out
}

// validChallenge reports whether c looks like an S256 challenge: 43
// base64url characters (a SHA-256 without padding).
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := range len(c) {
		b := c[i]
		if (b < 'A' || b > 'Z') && (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '-' && b != '_' {
			return false
		}
	}
	return true
}

// Approve keeps an authorization code for what the person approved and
// sends the browser back to the client with it. Scopes beyond both the
// request and the approver's role are refused (EFORBIDDEN), and the
// caller shows that to the person.
func (s *Server) Approve(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, a Approval) error {
	scopes, err := agentscope.NormalizeScopes(a.Scopes)
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		if !slices.Contains(req.Scopes, sc) {
			return agentscope.Errorf(agentscope.EFORBIDDEN, "the MCP host did not ask for the %s scope", sc)
		}
		if !slices.Contains(agentscope.ScopesForRole(a.Role), sc) {
			return agentscope.Errorf(agentscope.EFORBIDDEN, "your %s role cannot grant the %s scope", a.Role, sc)
		}
	}
	_, code, err := s.store.CreateOAuthCode(r.Context(), agentscope.OAuthCode{
		Grant: agentscope.OAuthGrant{
			OrgID: a.OrgID, ClientID: req.Client.ID, Actor: a.Actor, UserID: a.UserID, Role: a.Role,
			Scopes: scopes, Resource: req.Resource,
		},
		RedirectURI: req.RedirectURI, CodeChallenge: req.CodeChallenge, ExpiresAt: time.Now().Add(s.opts.CodeTTL),
	})
	if err != nil {
		return err
	}
	s.log.Info("OAuth authorization approved", "client_id", req.Client.ID, "org", a.OrgID, "actor", a.Actor, "scopes", agentscope.JoinScopes(scopes))
	s.redirect(w, r, req, url.Values{"code": {code.Reveal()}})
	return nil
}

// Deny sends the browser back to the client with access_denied.
func (s *Server) Deny(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) {
	s.redirect(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"the person declined"}})
}

// Redirect sends an authorization request error back to its client.
func (s *Server) Redirect(w http.ResponseWriter, r *http.Request, e *RedirectError) {
	s.redirect(w, r, e.req, url.Values{"error": {e.Err.Code}, "error_description": {e.Err.Description}})
}

// redirect answers 303 to the request's redirect URI (registered, checked
// by ParseAuthorize) with v, the state and the issuer (RFC 9207) added to
// its query.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, v url.Values) {
	u, _ := url.Parse(req.RedirectURI) // parsed when it was registered
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	q.Set("iss", s.Issuer(r))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// RedirectOrigin is the origin (scheme://host) of the request's redirect
// URI, which the consent page's Content-Security-Policy must allow as a
// form action: browsers hold a form's redirect to it.
func (req *AuthorizeRequest) RedirectOrigin() string {
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
