package oauth

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/agentscope/agentscope"
)

// maxRegistrationBytes bounds a registration request: anyone may send one.
const maxRegistrationBytes = 64 << 10

// registration is the part of RFC 7591's client metadata AgentScope
// reads; other fields are ignored, as 2 allows.
type registration struct {
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope"`
}

// registered is the answer to a registration (RFC 7591 3.2.1).
type registered struct {
	ClientID                string   `json:"client_id"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientName              string   `json:"client_name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

// handleRegister registers a client (RFC 7591). Every client is public:
// whatever authentication method it asks for, it is given "none" (3.2.1
// lets the server replace requested values), as PKCE binds its codes and
// a secret on a person's machine would protect nothing. Redirect URIs must
// be https or loopback http (agentscope.ValidateRedirectURI).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	if ok, wait := s.registrations.Allow(addr); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Round(time.Second)/time.Second))))
		writeJSON(w, http.StatusTooManyRequests, oauthErr("rate_limited", "too many registrations from this address; try again in %s", wait.Round(time.Second)))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRegistrationBytes)
	var req registration
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			s.writeOAuthError(w, r, oauthErr("invalid_client_metadata", "the registration is larger than %d bytes", maxRegistrationBytes), "")
			return
		}
		s.writeOAuthError(w, r, oauthErr("invalid_client_metadata", "the body is not a JSON object of client metadata"), "")
		return
	}
	for _, g := range req.GrantTypes {
		if g != grantAuthorizationCode && g != grantRefreshToken {
			s.writeOAuthError(w, r, oauthErr("invalid_client_metadata", "grant_types: %q is not supported; use authorization_code and refresh_token", g), "")
			return
		}
	}
	for _, rt := range req.ResponseTypes {
		if rt != "code" {
			s.writeOAuthError(w, r, oauthErr("invalid_client_metadata", "response_types: %q is not supported; use code", rt), "")
			return
		}
	}
	c, err := s.store.CreateOAuthClient(r.Context(), agentscope.OAuthClient{Name: req.ClientName, RedirectURIs: req.RedirectURIs})
	if err != nil {
		code := "invalid_client_metadata"
		var e *agentscope.Error
		if errors.As(err, &e) && e.Field == "redirect_uris" {
			code = "invalid_redirect_uri"
		}
		s.writeOAuthError(w, r, err, code)
		return
	}
	grants := []string{grantAuthorizationCode, grantRefreshToken}
	if len(req.GrantTypes) > 0 && !slices.Contains(req.GrantTypes, grantRefreshToken) {
		grants = []string{grantAuthorizationCode}
	}
	s.log.Info("OAuth client registered", "client_id", c.ID, "client_name", c.Name)
	writeJSON(w, http.StatusCreated, registered{
		ClientID: c.ID, ClientIDIssuedAt: c.CreatedAt.Unix(), ClientName: c.Name, RedirectURIs: c.RedirectURIs,
		GrantTypes: grants, ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "none",
	})
}
