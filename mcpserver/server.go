// Package mcpserver is AgentScope's own MCP server: the tools through which
// Claude, any MCP client and third-party agents open runs, record what they
// do, close them and replay them. It serves the same service functions as the
// HTTP API, over stdio (agentscope mcp), Streamable HTTP (/mcp of agentscope
// serve) and in-memory transports (managed agents).
package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/internal/version"
	"github.com/agentscope/agentscope/service"
)

// Version is reported in the MCP initialize handshake: the binary's release
// version and commit, from the one source `agentscope version` prints.
var Version = version.Get().Announced()

// Options configure a Server.
type Options struct {
	// Local is the caller that reaches the server without HTTP
	// authentication (stdio and in-memory transports): the operator's
	// agentscope mcp acts as agentscope.OperatorPrincipal, a managed agent as
	// agentscope.ManagedAgentPrincipal. Zero refuses such callers.
	Local  agentscope.Principal
	Logger *slog.Logger
	// Investigations serves investigate, get_report, list_reports,
	// session_findings and the reports resource; nil leaves them out.
	Investigations Investigations
	// AlertRules serves create_alert_rule, list_alert_rules,
	// update_alert_rule and delete_alert_rule; nil leaves them out.
	AlertRules AlertRules
	// Metrics counts tool calls by tool and outcome; nil counts nothing.
	Metrics *metrics.Metrics
}

// Server is AgentScope's MCP server.
type Server struct {
	MCP  *mcp.Server
	svc  *service.Service
	opts Options
	log  *slog.Logger
	// watches follows the sessions MCP clients subscribed to.
	watches watches
	// recordArgs checks record_event's arguments; fast holds the HTTP
	// sessions whose record_event calls skip go-sdk (fastpath.go).
	recordArgs argChecker
	fast       fastSessions
	// toolArgs check the arguments of the tools addTool registered
	// (checkToolArgs).
	toolArgs map[string]argChecker
	// toolCalls are the counters of each tool (countToolCalls);
	// recordCalls record_event's, for its fast path.
	toolCalls   map[string]metrics.ToolCalls
	recordCalls metrics.ToolCalls
}

// New returns a server exposing svc's operations as MCP tools.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{svc: svc, opts: opts, log: opts.Logger.With("component", "mcpserver"), fast: fastSessions{now: time.Now}, toolCalls: map[string]metrics.ToolCalls{}, toolArgs: map[string]argChecker{}}
	s.MCP = mcp.NewServer(&mcp.Implementation{Name: "agentscope", Title: "AgentScope", Version: Version}, &mcp.ServerOptions{
		Instructions:       instructions,
		Logger:             s.log,
		CompletionHandler:  s.complete,
		SubscribeHandler:   s.subscribe,
		UnsubscribeHandler: s.unsubscribe,
	})
	s.addRunTools()
	s.addSearchTools()
	s.addSessionResource()
	s.addPrompts()
	s.MCP.AddReceivingMiddleware(s.listRecent, checkLogLevel, s.checkToolArgs)
	if opts.Metrics != nil {
		s.MCP.AddReceivingMiddleware(s.countToolCalls)
	}
	s.MCP.AddSendingMiddleware(s.onlyOwnUpdates)
	s.addAgentTools()
	s.addContextSearch()
	if opts.Investigations != nil {
		s.addInvestigations(opts.Investigations)
	}
	if opts.AlertRules != nil {
		s.addAlertRules(opts.AlertRules)
	}
	return s
}

// Service returns the service layer the server calls.
func (s *Server) Service() *service.Service { return s.svc }

const instructions = `AgentScope records what AI agents do. Call start_run when a run begins (it returns the session_id), record_event for each model call, tool call and cost (flat fields, see each type's required fields), end_run when it ends, and replay_session to read a timeline back.`

// orgContext puts the caller into ctx (agentscope.WithPrincipal): over
// HTTP the principal the bearer credential signed in as, which
// HTTPHandler's verifier put into the token info; over stdio and in-memory
// transports Options.Local.
func (s *Server) orgContext(ctx context.Context, extra *mcp.RequestExtra) (context.Context, error) {
	info := auth.TokenInfoFromContext(ctx) // requests go-sdk makes itself (subscriptions/listen) carry no Extra
	if extra != nil && extra.TokenInfo != nil {
		info = extra.TokenInfo
	}
	if info != nil {
		if p, ok := info.Extra[PrincipalKey].(agentscope.Principal); ok && p.OrgID != "" {
			return agentscope.WithPrincipal(ctx, p), nil
		}
		return ctx, agentscope.Errorf(agentscope.EUNAUTHORIZED, "token has no caller")
	}
	if s.opts.Local.OrgID == "" {
		return ctx, agentscope.Errorf(agentscope.EUNAUTHORIZED, "unauthenticated")
	}
	return agentscope.WithPrincipal(ctx, s.opts.Local), nil
}

// OrgKey is the TokenInfo.Extra key under which HTTPHandler's verifier
// puts the caller's organisation, and PrincipalKey the caller
// (agentscope.Principal).
const (
	OrgKey       = "org_id"
	PrincipalKey = "principal"
)

// toolError turns a service error into the text of an isError result: an
// application error's message as is, anything else logged and hidden.
func (s *Server) toolError(tool string, err error) error {
	if agentscope.ErrorCode(err) == agentscope.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.log.Error("tool failed", "tool", tool, "err", err)
	}
	return errors.New(agentscope.ErrorMessage(err))
}

// HTTPHandler returns the Streamable HTTP handler for /mcp. It serves
// callers already authenticated in front of it: the request's context
// carries the principal (agentscope.WithPrincipal; web.Server's bearer
// authentication puts it there, answering 401 itself). A request without
// one gets 401 here too. A foreign Origin or (on loopback) Host is refused.
func (s *Server) HTTPHandler() http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.MCP }, &mcp.StreamableHTTPOptions{
		Logger:              s.log,
		MaxRequestBodyBytes: maxRequestBody,
		// Every tool answers once, so a plain JSON response serves as well
		// as an event stream, at less cost per call.
		JSONResponse: true,
		// A client that went away without closing its session frees it.
		SessionTimeout: 30 * time.Minute,
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse(w, "Forbidden: cross-origin request", http.StatusForbidden)
	}))
	return cop.Handler(auth.RequireBearerToken(principalToken, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(refuseStatelessDiscover(s.fastRecord(h))))
}

// principalToken is the token verifier of HTTPHandler: it hands go-sdk the
// caller authenticated in front of the handler, as the token info go-sdk
// gives each request (orgContext reads it). A session belongs to one
// caller: go-sdk refuses its requests from another (UserID).
func principalToken(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
	p, ok := agentscope.PrincipalFrom(r.Context())
	if !ok || p.OrgID == "" {
		return nil, auth.ErrInvalidToken
	}
	scopes := make([]string, len(p.Scopes))
	for i, sc := range p.Scopes {
		scopes[i] = string(sc)
	}
	return &auth.TokenInfo{UserID: p.OrgID + "/" + p.Actor(), Scopes: scopes, Extra: map[string]any{OrgKey: p.OrgID, PrincipalKey: p}}, nil
}

// refuse answers a request to /mcp that the transport refuses, before it
// reaches a session, as go-sdk's handler answers its own (the patch in
// third_party/go-sdk/PATCHED.md): status, and a JSON-RPC error of code
// -32000 and id null, which an MCP client reads where text/plain is not.
func refuse(w http.ResponseWriter, message string, status int) {
	type rpcError struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		JSONRPC string    `json:"jsonrpc"`
		ID      *struct{} `json:"id"`
		Error   rpcError  `json:"error"`
	}{"2.0", nil, rpcError{-32000, message}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// maxRequestBody bounds a POST to /mcp.
const maxRequestBody = 8 << 20
