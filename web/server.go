// Package web is AgentScope's HTTP face: the JSON API, the websocket live
// feed, the MCP endpoint, health checks and the server-rendered UI. Handlers
// are thin: they call the same service functions as the MCP tools.
package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/oauth"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
)

// Options configure a Server.
type Options struct {
	// Tokens maps each instance token to its organisation: the web UI's
	// sign-in form takes them, and without Auth they are the only bearer
	// credentials accepted, each signing in as its organisation's owner.
	Tokens map[string]string
	// Auth authenticates bearer credentials (identity.Authenticator: the
	// instance tokens and API keys) for the JSON API, its websockets and
	// /mcp. Nil accepts Tokens only.
	Auth Authenticator
	// MCP serves /mcp, behind the same bearer authentication as the API
	// (it finds the caller in the request's context); nil leaves it out.
	MCP http.Handler
	// OAuth, when set, makes /mcp an OAuth protected resource with
	// AgentScope as its authorization server: its metadata, registration,
	// token and revocation endpoints, the consent page at
	// /oauth/authorize, access tokens accepted on /mcp (Auth must be a
	// ResourceAuthenticator) and resource_metadata in /mcp's 401 answers.
	OAuth *oauth.Server
	// Gateway, when set, is the LLM gateway (gateway.Gateway), served on
	// its routes (gateway.Routes) behind the API's authentication.
	Gateway http.Handler
	// Hub wakes live subscribers; the store stays the source of truth.
	Hub recorder.Hub
	// Ready reports whether the process can serve (database reachable).
	Ready func(ctx context.Context) error
	// MaxBodyBytes bounds each request body (default 32 MiB).
	MaxBodyBytes int64
	// MaxInflightBytes bounds the request bodies held at once, across all
	// requests (default DefaultMaxInflightBytes); past it a request is
	// answered 503 with Retry-After. It is at least MaxBodyBytes.
	MaxInflightBytes int64
	// StreamKeepAlive is how often open-ended responses show they are
	// alive (default DefaultStreamKeepAlive): live websockets are pinged
	// and event streams (text/event-stream) get a comment line, so proxies
	// in between do not close them as idle and a vanished client is found.
	StreamKeepAlive time.Duration
	// LivePoll is how often a live subscriber re-reads the store when no
	// wake-up arrived (default 1s): NOTIFY and in-process signals are hints.
	LivePoll time.Duration
	Logger   *slog.Logger
	// UI configures the web interface's optional backends and sessions.
	UI UIOptions
	// RateLimits bound each authenticated caller's request rate (zero:
	// no limit).
	RateLimits RateLimits
	// Metrics, when set, counts live websockets and is served at GET
	// /metrics to the instance token only (metrics describe the whole
	// instance, every organisation's traffic together).
	Metrics *metrics.Metrics
}

// Server routes AgentScope's HTTP endpoints.
type Server struct {
	svc  *service.Service
	opts Options
	log  *slog.Logger
	mux  *Router
	// sessions signs and checks the web interface's session cookies.
	sessions *sessionKeeper
	// inflight holds the bytes of the request bodies being read or served.
	inflight *semaphore.Weighted
	// investigations, once routed, serves the investigation buttons and
	// report pages.
	investigations InvestigationAPI
	// limits holds each caller's token bucket (Options.RateLimits).
	limits rateLimiter
	// draining ends when CloseStreams is called (drain); streams counts
	// the long-lived responses it ends.
	draining context.Context
	drain    context.CancelFunc
	streams  streamSet
	// billing, once routed, serves the Billing page's Stripe part.
	billing BillingStripeAPI
}

// New returns a Server over svc.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.MaxInflightBytes == 0 {
		opts.MaxInflightBytes = DefaultMaxInflightBytes
	}
	opts.MaxInflightBytes = max(opts.MaxInflightBytes, opts.MaxBodyBytes)
	if opts.StreamKeepAlive <= 0 {
		opts.StreamKeepAlive = DefaultStreamKeepAlive
	}
	if opts.LivePoll == 0 {
		opts.LivePoll = time.Second
	}
	if opts.Auth == nil {
		opts.Auth = instanceTokens(opts.Tokens)
	}
	if opts.Hub == nil {
		opts.Hub = svc.Recorder().Hub()
	}
	s := &Server{svc: svc, opts: opts, log: opts.Logger.With("component", "web"), mux: newRouter(), inflight: newInflight(opts.MaxInflightBytes),
		limits: newRateLimiter(opts.RateLimits)}
	s.draining, s.drain = context.WithCancel(context.Background())
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", s.bearer(instanceOnly(opts.Metrics.Handler(), s.log)))
	}
	if opts.MCP != nil {
		s.mux.Handle("/mcp", s.mcpBearer(opts.MCP))
	}
	s.routeAPI(s.mux)
	s.routeOTLP(s.mux)
	if opts.Gateway != nil {
		s.routeGateway(s.mux)
	}
	s.routeMembers(s.mux)
	s.routeUI(s.mux)
	if opts.OAuth != nil {
		s.routeOAuth(s.mux)
	}
	return s
}

// Mux returns the router, for the UI and later issues to add routes; its
// Patterns are every route the server has.
func (s *Server) Mux() *Router { return s.mux }

// ServeHTTP implements http.Handler.
// Every request's body is read under the limits first (limitRequest).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	release, ok := s.limitRequest(w, r)
	if !ok {
		return
	}
	defer release()
	if longLived(r) {
		var done func()
		r, done = s.trackStream(r)
		defer done()
	}
	// The gateway passes the provider's event streams on unchanged: no
	// keep-alive comments of ours go into them.
	if isStream(r) && strings.Contains(r.Header.Get("Accept"), "text/event-stream") && !gateway.IsRoute(r.URL.Path) {
		ka := newEventStreamKeepAlive(w, r, s.opts.StreamKeepAlive)
		defer ka.stop()
		w, r = ka, ka.req
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if h, pattern := s.mux.Handler(r); pattern == "" {
			noRoute(w, r, h)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// noRoute answers an API request no route takes with a JSON error, as
// every other API answer is, where the router answers plain text: 404
// naming the path, or 405 naming the methods the path takes (the router's
// Allow header).
func noRoute(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	var body errorBody
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		body.Error.Code, body.Error.Message = agentscope.EINVALID, fmt.Sprintf("%s does not take %s; it takes %s", r.URL.Path, r.Method, allow)
		writeJSON(w, http.StatusMethodNotAllowed, body)
		return
	}
	body.Error.Code, body.Error.Message = agentscope.ENOTFOUND, fmt.Sprintf("no API endpoint %s %s", r.Method, r.URL.Path)
	writeJSON(w, http.StatusNotFound, body)
}

// statusProbe keeps the status and headers the router's own answer would
// have had, and drops its plain-text body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *statusProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// OrgForToken returns the organisation of an instance token (Options.Tokens),
// comparing in constant time.
func (s *Server) OrgForToken(token string) (string, bool) {
	return instanceTokens(s.opts.Tokens).orgFor(token)
}

// Authenticator turns a request's Authorization header into the caller it
// signs in as, or an EUNAUTHORIZED error (identity.Authenticator).
type Authenticator interface {
	AuthenticateHeader(ctx context.Context, header string) (agentscope.Principal, error)
}

// instanceTokens is the Authenticator of Options.Tokens alone: each token
// signs in as the owner of its organisation.
type instanceTokens map[string]string

func (t instanceTokens) orgFor(token string) (string, bool) {
	found := ""
	for tok, org := range t {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(token)) == 1 {
			found = org
		}
	}
	return found, found != ""
}

func (t instanceTokens) AuthenticateHeader(_ context.Context, header string) (agentscope.Principal, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "missing Authorization: Bearer <token>")
	}
	org, ok := t.orgFor(strings.TrimSpace(token))
	if !ok {
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "invalid token")
	}
	return agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: org, Role: agentscope.RoleOwner}, nil
}

// bearer requires Authorization: Bearer <credential>, authenticates it
// (Options.Auth), takes a token from the caller's rate limit bucket
// (Options.RateLimits: 429 with Retry-After when it is empty) and puts the
// caller and its organisation into the request context
// (agentscope.WithPrincipal). It guards the JSON API, its
// websockets and /mcp alike.
func (s *Server) bearer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.opts.Auth.AuthenticateHeader(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			if agentscope.ErrorCode(err) == agentscope.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", bearerChallenge(r))
			}
			writeError(w, r, s.log, err)
			return
		}
		s.serveAs(w, r, h, p)
	})
}

// serveAs serves r as the authenticated caller p, once p's rate limit
// bucket (Options.RateLimits) gives it a token: 429 with Retry-After when
// it is empty.
func (s *Server) serveAs(w http.ResponseWriter, r *http.Request, h http.Handler, p agentscope.Principal) {
	if err := s.limits.admit(p); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	h.ServeHTTP(w, r.WithContext(agentscope.WithPrincipal(r.Context(), p)))
}

// instanceOnly serves h to the holder of the instance token; any other
// caller (an organisation's API key) is refused with 403.
func instanceOnly(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, _ := agentscope.PrincipalFrom(r.Context()); p.Kind != agentscope.PrincipalInstance {
			writeError(w, r, log, agentscope.Errorf(agentscope.EFORBIDDEN, "%s needs the instance token (AGENTSCOPE_TOKEN): it describes every organisation", r.URL.Path))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearerChallenge is the WWW-Authenticate header of every 401 a bearer
// credential gets, from the API and from /mcp alike: the one place to add
// the protected resource metadata's URL (resource_metadata="…", RFC 9728)
// when /mcp becomes an OAuth protected resource. A request that sent a
// credential is told it was not accepted (RFC 6750 section 3.1); one that
// sent none is only told the scheme.
func bearerChallenge(r *http.Request) string {
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); !strings.EqualFold(scheme, "Bearer") {
		return `Bearer realm="agentscope"`
	}
	return `Bearer realm="agentscope", error="invalid_token"`
}
