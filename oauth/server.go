// Package oauth is AgentScope's OAuth 2.1 authorization server for its own
// /mcp, as the MCP authorization specification describes it: /mcp is a
// protected resource whose metadata (RFC 9728) names AgentScope as its
// authorization server (RFC 8414); MCP hosts register themselves (RFC
// 7591), send a person through the authorization code flow with PKCE
// (S256 only) and the consent page of the signed-in web UI, and receive
// short-lived access tokens bound to one organisation and to the /mcp
// resource (RFC 8707), with refresh tokens that rotate on every use, and
// may revoke them (RFC 7009).
//
// This package serves the metadata, registration, token and revocation
// endpoints, checks authorization requests and finishes them (the code,
// the redirect to the client); the web UI owns the consent page, since
// only it knows the signed-in person and the organisations they may act
// in. The identity package accepts the access tokens on /mcp.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/ratelimit"
)

// Store keeps clients, codes, grants and tokens (*sqlstore.Store).
type Store interface {
	CreateOAuthClient(ctx context.Context, c agentscope.OAuthClient) (agentscope.OAuthClient, error)
	GetOAuthClient(ctx context.Context, id string) (agentscope.OAuthClient, error)
	PutOAuthClient(ctx context.Context, c agentscope.OAuthClient) (agentscope.OAuthClient, error)
	CreateOAuthCode(ctx context.Context, c agentscope.OAuthCode) (agentscope.OAuthCode, agentscope.Credential, error)
	ExchangeOAuthCode(ctx context.Context, credential string, accessTTL, refreshTTL time.Duration, check func(agentscope.OAuthCode) error) (agentscope.OAuthTokens, error)
	RefreshOAuthGrant(ctx context.Context, credential, clientID string, accessTTL, refreshTTL time.Duration) (agentscope.OAuthTokens, error)
	RevokeOAuthToken(ctx context.Context, credential string) error
}

// Options configure a Server.
type Options struct {
	// Issuer is AgentScope's public base URL, e.g.
	// https://agentscope.example (AGENTSCOPE_PUBLIC_URL): the
	// authorization server's issuer, and with "/mcp" the protected
	// resource. Empty derives it from each request (https when the
	// request came over TLS, and its Host), which suits a server reached
	// directly; behind a proxy that terminates TLS, set it.
	Issuer string
	// AccessTTL is how long an access token lasts (default 15 minutes:
	// what a person's leaving or demotion may lag by, as a refresh checks
	// their membership again).
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh token lasts unused (default 30
	// days); each use replaces it with a new one.
	RefreshTTL time.Duration
	// CodeTTL is how long an authorization code waits for its exchange
	// (default 5 minutes).
	CodeTTL time.Duration
	// RegisterLimit bounds client registrations per remote address (they
	// need no credential, and each keeps a row): default a burst of 30,
	// then one a minute. A negative Rate turns it off.
	RegisterLimit ratelimit.Limit
	// MetadataClient fetches the client metadata documents of hosts whose
	// client_id is an https URL; nil is a client that reaches public
	// addresses only, with no redirects.
	MetadataClient *http.Client
	// Now returns the current time for the limits; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server is the authorization server.
type Server struct {
	store Store
	opts  Options
	log   *slog.Logger
	// registrations limits client registrations per remote address.
	registrations *ratelimit.Limiter
}

// Paths of the endpoints. AuthorizePath is served by the web UI (the
// consent page), the others by Route.
const (
	AuthorizePath        = "/oauth/authorize"
	TokenPath            = "/oauth/token"
	RegisterPath         = "/oauth/register"
	RevokePath           = "/oauth/revoke"
	ResourcePath         = "/mcp"
	ResourceMetadataPath = "/.well-known/oauth-protected-resource"
	ServerMetadataPath   = "/.well-known/oauth-authorization-server"
)

// New returns an authorization server over store. An Issuer that is not
// an absolute http(s) URL without path, query or fragment is refused.
func New(store Store, opts Options) (*Server, error) {
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = 15 * time.Minute
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 30 * 24 * time.Hour
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MetadataClient == nil {
		opts.MetadataClient = publicOnlyClient()
	}
	switch {
	case opts.RegisterLimit.Rate < 0:
		opts.RegisterLimit = ratelimit.Limit{}
	case opts.RegisterLimit.Off():
		opts.RegisterLimit = ratelimit.Limit{Rate: 1.0 / 60, Burst: 30}
	}
	if opts.Issuer != "" {
		u, err := url.Parse(opts.Issuer)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, agentscope.FieldErrorf("public_url", "%q is not a base URL such as https://agentscope.example", opts.Issuer)
		}
		opts.Issuer = u.Scheme + "://" + strings.ToLower(u.Host)
	}
	return &Server{store: store, opts: opts, log: opts.Logger.With("component", "oauth"), registrations: ratelimit.New(opts.RegisterLimit, opts.Now)}, nil
}

// Issuer is the authorization server's issuer for a request: the
// configured public URL, or the request's own.
func (s *Server) Issuer(r *http.Request) string {
	if s.opts.Issuer != "" {
		return s.opts.Issuer
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + strings.ToLower(r.Host)
}

// Resource is the canonical URI of /mcp for a request: what access tokens
// are bound to and what /mcp accepts.
func (s *Server) Resource(r *http.Request) string { return s.Issuer(r) + ResourcePath }

// ResourceMetadataURL is where /mcp's protected resource metadata is, for
// the WWW-Authenticate header of its 401 answers.
func (s *Server) ResourceMetadataURL(r *http.Request) string {
	return s.Issuer(r) + ResourceMetadataPath + ResourcePath
}

// Challenge is the WWW-Authenticate value of a 401 from /mcp (RFC 9728
// 5.1; MCP authorization: "Protected Resource Metadata Discovery").
func (s *Server) Challenge(r *http.Request) string {
	return `Bearer resource_metadata="` + s.ResourceMetadataURL(r) + `"`
}

// resourceFor reads a request's resource parameter (RFC 8707): it must
// name this server's /mcp, or this server itself (what the metadata at the
// root well-known URI calls the resource, RFC 9728 3.1), and the token is
// bound to /mcp. Absent, it is /mcp, the only resource here.
func (s *Server) resourceFor(r *http.Request, given string) (string, error) {
	want := s.Resource(r)
	if given == "" {
		return want, nil
	}
	u, err := url.Parse(given)
	if err != nil || u.Fragment != "" || u.RawQuery != "" {
		return "", errTarget
	}
	canon := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimSuffix(u.Path, "/")
	if canon != want && canon != s.Issuer(r) {
		return "", errTarget
	}
	return want, nil
}

var errTarget = &Error{Code: "invalid_target", Description: "resource must be this AgentScope's /mcp"}

// Mux is where Route registers its endpoints: an *http.ServeMux, or a
// router that wraps one.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Route adds the metadata, registration, token and revocation endpoints to
// mux. The authorization endpoint is the web UI's (AuthorizePath).
func (s *Server) Route(mux Mux) {
	mux.Handle("GET "+ResourceMetadataPath, public(http.HandlerFunc(s.handleResourceMetadata)))
	mux.Handle("GET "+ResourceMetadataPath+ResourcePath, public(http.HandlerFunc(s.handleResourceMetadata)))
	mux.Handle("GET "+ServerMetadataPath, public(http.HandlerFunc(s.handleServerMetadata)))
	mux.Handle("POST "+RegisterPath, public(http.HandlerFunc(s.handleRegister)))
	mux.Handle("POST "+TokenPath, public(http.HandlerFunc(s.handleToken)))
	mux.Handle("POST "+RevokePath, public(http.HandlerFunc(s.handleRevoke)))
	for _, p := range []string{ResourceMetadataPath, ResourceMetadataPath + ResourcePath, ServerMetadataPath, RegisterPath, TokenPath, RevokePath} {
		mux.Handle("OPTIONS "+p, public(http.NotFoundHandler()))
	}
}

// public lets browser-based MCP hosts call an endpoint from any origin
// (none of them takes a cookie: the answers are public metadata, or need
// a code or token the caller holds), and answers preflight requests.
func public(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, MCP-Protocol-Version")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func scopeNames() []string {
	out := make([]string, len(agentscope.Scopes))
	for i, sc := range agentscope.Scopes {
		out[i] = string(sc)
	}
	return out
}

// handleResourceMetadata serves /mcp's protected resource metadata (RFC
// 9728). At the path-suffixed URI it describes /mcp; at the root, this
// server as a whole, whose only protected resource is /mcp.
func (s *Server) handleResourceMetadata(w http.ResponseWriter, r *http.Request) {
	resource := s.Resource(r)
	if r.URL.Path == ResourceMetadataPath {
		resource = s.Issuer(r)
	}
	writeJSON(w, http.StatusOK, &oauthex.ProtectedResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   []string{s.Issuer(r)},
		ScopesSupported:        scopeNames(),
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "AgentScope",
	})
}

// serverMetadata is RFC 8414's document. (oauthex.AuthServerMeta would
// serve "jwks_uri": "", which strict clients refuse as an invalid URL.)
type serverMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RegistrationEndpoint              string   `json:"registration_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported bool     `json:"client_id_metadata_document_supported"`
}

func (s *Server) handleServerMetadata(w http.ResponseWriter, r *http.Request) {
	iss := s.Issuer(r)
	writeJSON(w, http.StatusOK, serverMetadata{
		Issuer:                            iss,
		AuthorizationEndpoint:             iss + AuthorizePath,
		TokenEndpoint:                     iss + TokenPath,
		RegistrationEndpoint:              iss + RegisterPath,
		RevocationEndpoint:                iss + RevokePath,
		ScopesSupported:                   scopeNames(),
		ResponseTypesSupported:            []string{"code"},
		GrantTypesSupported:               []string{grantAuthorizationCode, grantRefreshToken},
		TokenEndpointAuthMethodsSupported: []string{"none"},
		RevocationEndpointAuthMethods:     []string{"none"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		AuthorizationResponseIssSupported: true,
		ClientIDMetadataDocumentSupported: true,
	})
}

const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
)

// Error is an OAuth error answer (RFC 6749 5.2, RFC 7591 3.2.2): a code
// from the RFCs' lists and a description for the developer.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// writeOAuthError answers err as an OAuth error: an *Error as is, a
// field error as invalid_request naming the field, an unauthorized error
// as invalid_grant, anything else as server_error, logged.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error, fallback string) {
	var e *Error
	if !errors.As(err, &e) {
		switch agentscope.ErrorCode(err) {
		case agentscope.EINVALID, agentscope.EFORBIDDEN, agentscope.ETOOLARGE:
			e = &Error{Code: fallback, Description: agentscope.ErrorMessage(err)}
		case agentscope.EUNAUTHORIZED, agentscope.ENOTFOUND:
			e = &Error{Code: "invalid_grant", Description: agentscope.ErrorMessage(err)}
		default:
			s.log.Error("OAuth request failed", "path", r.URL.Path, "err", err)
			e = &Error{Code: "server_error", Description: "internal error", status: http.StatusInternalServerError}
		}
	}
	status := e.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if e.Code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
