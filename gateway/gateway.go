// Package gateway is AgentScope's LLM gateway: OpenAI-compatible
// POST /v1/chat/completions, /v1/responses and /v1/embeddings and
// Anthropic-compatible POST /v1/messages on the API's listener, passed
// through to the provider faithfully — the client gets the upstream's
// status, headers and bytes, server-sent events flushed as they arrive —
// while each call is recorded on the side: ModelInvoked, ModelCompleted
// (tokens, cached and reasoning tokens, duration, finish reason), the exact
// CostRecorded from the pricing table, ToolCalled for the tool calls the
// model asks for and ToolReturned for their results in the next request.
//
// Recording never blocks nor fails a call: events go to a bounded queue
// that workers commit; a full queue or a store error is counted (Stats) and
// the call goes through. An agent over a hard-cap budget is refused before
// anything is forwarded, in the provider's own error shape.
//
// The caller is authenticated by web (an AgentScope key in Authorization,
// or in X-AgentScope-Key when Authorization carries the client's own
// provider key: Credential) and found in the request's context.
package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/breaker"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/pricing"
)

// Service is what the gateway needs of AgentScope's service
// (service.Service).
type Service interface {
	// RecordGateway appends a call's events to a session, starting it as
	// a run of agent when it does not exist.
	RecordGateway(ctx context.Context, sessionID, agent string, evs []agentscope.Event) error
	// EndGatewaySession ends a session the gateway started.
	EndGatewaySession(ctx context.Context, sessionID string) error
	// GatewayHardCap returns a hard-cap budget of agent that its spend has
	// reached, or nil; an error when the caller may not record.
	GatewayHardCap(ctx context.Context, agent string) (*agentscope.BudgetStatus, error)
	// GatewayEventsAllowed refuses (EPLANLIMIT) a call that would record
	// n events when the caller's organisation's plan would not store
	// them; it is cheap (a short-lived view of the usage) and free with
	// billing off.
	GatewayEventsAllowed(ctx context.Context, n int64) error
}

// Provider APIs an upstream speaks.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
)

// Public endpoints, used when the client sends its own provider key.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com/v1"
)

// Headers the gateway reads; they are not forwarded.
const (
	HeaderKey       = "X-AgentScope-Key"
	HeaderSessionID = "X-AgentScope-Session-Id"
	HeaderAgent     = "X-AgentScope-Agent"
)

// DefaultAgent is the agent of calls that name none.
const DefaultAgent = "gateway"

// Routes are the gateway's routes (web mounts them).
var Routes = []string{"POST /v1/chat/completions", "POST /v1/responses", "POST /v1/embeddings", "POST /v1/messages"}

// IsRoute reports whether path is one of the gateway's.
func IsRoute(path string) bool {
	switch path {
	case "/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/messages":
		return true
	}
	return false
}

// Upstream is a configured provider the gateway forwards to when the
// client sends no provider key of its own.
type Upstream struct {
	// Name is the provider recorded on the calls and priced by
	// ("openai", "anthropic", …).
	Name string
	// API is OpenAI (an OpenAI-compatible API) or Anthropic.
	API string
	// BaseURL ends in the API version, as the SDKs take it
	// (https://api.openai.com/v1).
	BaseURL string
	// APIKey is a secret, never logged nor recorded.
	APIKey string
}

// Options configure a Gateway.
type Options struct {
	// Upstreams are tried in order for the calls of their API, skipping
	// those whose circuit breaker is open; a call that fails to connect or
	// is answered 429 or 5xx moves on to the next, while there is one.
	Upstreams []Upstream
	// OpenAIBaseURL and AnthropicBaseURL are the public endpoints the
	// client's own provider key is sent to (defaults
	// DefaultOpenAIBaseURL, DefaultAnthropicBaseURL).
	OpenAIBaseURL, AnthropicBaseURL string
	// Pricing prices the calls (default: the embedded table).
	Pricing *pricing.Table
	// IdleTimeout ends a session the gateway started (for calls without
	// X-AgentScope-Session-Id) once no call used it for this long
	// (default 30 minutes).
	IdleTimeout time.Duration
	// QueueSize bounds the calls waiting to be recorded (default 8192);
	// past it a call's record is dropped and counted.
	QueueSize int
	// CapCacheTTL is how long a budget check is reused for an agent
	// (default 1s); a cost the gateway records for the agent ends it at
	// once.
	CapCacheTTL time.Duration
	// Breakers are the configured upstreams' circuit breakers, keyed
	// breaker.Key(Name, BaseURL): cmd/agentscope gives the gateway and
	// the runtime the same set, so a provider failing for one is skipped
	// by both (default: a set of the gateway's own, default tuning).
	Breakers *breaker.Set
	// Transport makes the upstream calls (default: a clone of
	// http.DefaultTransport with more idle connections per host).
	Transport http.RoundTripper
	Logger    *slog.Logger
	Now       func() time.Time
	// Metrics counts the calls that reached an upstream, by provider (the
	// upstream's configured Name) and outcome, and their latency; the
	// model calls' tokens, cost and latency as the runtime's are counted;
	// and the calls refused for a hard cap. Nil counts nothing.
	Metrics *metrics.Metrics
}

// Stats counts, for one organisation, the calls through the gateway, what
// it recorded of them and what it could not.
type Stats struct {
	// Calls passed through.
	Calls uint64 `json:"calls"`
	// Recorded counts the records committed: a call makes two (its
	// ModelInvoked with the ToolReturned before it, then the rest).
	Recorded uint64 `json:"recorded"`
	// Dropped records: the queue was full.
	Dropped uint64 `json:"dropped"`
	// Failed records: the store refused them or failed.
	Failed uint64 `json:"failed"`
	// CapCheckErrors counts budget checks that failed (the call went
	// through).
	CapCheckErrors uint64 `json:"cap_check_errors"`
	// LastError is the last recording failure.
	LastError string `json:"last_error,omitempty"`
}

// Gateway is the LLM gateway. It is an http.Handler for its Routes.
type Gateway struct {
	svc    Service
	opts   Options
	log    *slog.Logger
	client *http.Client
	rec    *recorderQueue

	mu       sync.Mutex
	sessions map[string]*sessionState // by session id
	auto     map[string]string        // caller+agent → session id of a session the gateway started
	caps     map[string]capEntry      // org+agent → last budget check

	stop      chan struct{}
	closeOnce sync.Once
	stopped   chan struct{}
}

// sessionState is what the gateway keeps of a session between calls.
type sessionState struct {
	id, agent string
	autoKey   string // set when the gateway started it
	caller    agentscope.Principal
	lastUsed  time.Time
	// pending are the tool calls recorded as ToolCalled whose results no
	// request has carried yet.
	pending map[string]pendingCall
}

type pendingCall struct {
	tool string
	at   time.Time
}

// maxPending bounds the tool calls a session waits for results of.
const maxPending = 1024

type capEntry struct {
	status *agentscope.BudgetStatus
	at     time.Time
}

// New returns a Gateway; Close stops it.
func New(svc Service, opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OpenAIBaseURL == "" {
		opts.OpenAIBaseURL = DefaultOpenAIBaseURL
	}
	if opts.AnthropicBaseURL == "" {
		opts.AnthropicBaseURL = DefaultAnthropicBaseURL
	}
	if opts.Pricing == nil {
		opts.Pricing = pricing.Default()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.CapCacheTTL <= 0 {
		opts.CapCacheTTL = time.Second
	}
	if opts.Breakers == nil {
		opts.Breakers = breaker.NewSet(breaker.Config{})
	}
	if opts.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		opts.Transport = t
	}
	g := &Gateway{svc: svc, opts: opts, log: opts.Logger.With("component", "gateway"),
		client:   &http.Client{Transport: opts.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		sessions: map[string]*sessionState{}, auto: map[string]string{}, caps: map[string]capEntry{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	g.rec = newRecorderQueue(g, opts.QueueSize)
	go g.sweeper()
	return g
}

// Close ends the sessions the gateway started, records what is queued and
// stops. Calls after the first do nothing.
func (g *Gateway) Close() {
	g.closeOnce.Do(g.close)
}

func (g *Gateway) close() {
	close(g.stop)
	<-g.stopped
	g.mu.Lock()
	for id, st := range g.sessions {
		if st.autoKey != "" {
			g.rec.end(st)
		}
		delete(g.sessions, id)
	}
	g.mu.Unlock()
	g.rec.close()
}

// Stats returns the gateway's counters for an organisation's calls since
// the process started.
func (g *Gateway) Stats(org string) Stats { return g.rec.stats(org) }

// Flush waits until every call recorded so far is committed (or failed).
func (g *Gateway) Flush(ctx context.Context) error { return g.rec.flush(ctx) }

// sweeper ends idle sessions.
func (g *Gateway) sweeper() {
	defer close(g.stopped)
	tick := time.NewTicker(max(g.opts.IdleTimeout/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-tick.C:
			g.SweepIdle(g.opts.Now())
		}
	}
}

// SweepIdle forgets the sessions idle for IdleTimeout at now, ending those
// the gateway started, and the budget checks past CapCacheTTL.
func (g *Gateway) SweepIdle(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Budget checks past their time are dropped too, so that agents no
	// longer calling do not keep an entry.
	for k, e := range g.caps {
		if now.Sub(e.at) >= g.opts.CapCacheTTL {
			delete(g.caps, k)
		}
	}
	for id, st := range g.sessions {
		if now.Sub(st.lastUsed) < g.opts.IdleTimeout {
			continue
		}
		delete(g.sessions, id)
		if st.autoKey != "" {
			delete(g.auto, st.autoKey)
			g.rec.end(st)
		}
	}
}

// Credential returns the Authorization header value that carries the
// caller's AgentScope credential: X-AgentScope-Key when it is set (then
// Authorization, or Anthropic's x-api-key, is the client's own provider
// key), else Authorization, else (for Anthropic's SDK given the AgentScope
// key as its api_key) x-api-key.
func Credential(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get(HeaderKey)); k != "" {
		return "Bearer " + k
	}
	if a := r.Header.Get("Authorization"); a != "" {
		return a
	}
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" && r.URL.Path == "/v1/messages" {
		return "Bearer " + k
	}
	return ""
}

// clientKey reports whether the request carries the client's own provider
// key (sent on to the provider's public endpoint) rather than only the
// AgentScope credential.
func clientKey(h http.Header, api string) bool {
	if h.Get(HeaderKey) != "" {
		return h.Get("Authorization") != "" || (api == Anthropic && h.Get("X-Api-Key") != "")
	}
	// Authorization carries the AgentScope key; Anthropic's x-api-key
	// beside it is the client's.
	return api == Anthropic && h.Get("Authorization") != "" && h.Get("X-Api-Key") != ""
}

// ServeHTTP serves the gateway's routes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var kind, api string
	switch r.URL.Path {
	case "/v1/chat/completions":
		kind, api = apiChat, OpenAI
	case "/v1/responses":
		kind, api = apiResponses, OpenAI
	case "/v1/embeddings":
		kind, api = apiEmbeddings, OpenAI
	case "/v1/messages":
		kind, api = apiMessages, Anthropic
	default:
		http.NotFound(w, r)
		return
	}
	caller, ok := agentscope.PrincipalFrom(r.Context())
	if !ok {
		writeProviderError(w, api, http.StatusUnauthorized, "no AgentScope credential: send Authorization: Bearer <AgentScope key>, or X-AgentScope-Key with your own provider key in Authorization")
		return
	}
	// Every call is authorized as its caller, before anything cached per
	// organisation and agent (the budget check) can answer for it: a
	// read-only key must not ride on another key's recent check.
	if err := caller.Authorize(agentscope.ActionRecord); err != nil {
		status := http.StatusForbidden
		if agentscope.ErrorCode(err) == agentscope.EUNAUTHORIZED {
			status = http.StatusUnauthorized
		}
		writeProviderError(w, api, status, agentscope.ErrorMessage(err))
		return
	}
	agent := strings.TrimSpace(r.Header.Get(HeaderAgent))
	if agent == "" {
		agent = DefaultAgent
	}
	if err := agentscope.ValidateAgentName(agent); err != nil {
		writeProviderError(w, api, http.StatusBadRequest, HeaderAgent+": "+agentscope.ErrorMessage(err))
		return
	}
	sessionID := strings.TrimSpace(r.Header.Get(HeaderSessionID))
	if sessionID != "" && agentscope.ValidateSessionID(sessionID) != nil {
		// Recording never fails the call it records: a conversation id
		// that is not a session id (a slash, a space, too long) names the
		// session by its hash, as OTLP ingest does, and the answer says
		// which.
		sessionID = derivedSessionID(sessionID)
		w.Header().Set(HeaderSessionID, sessionID)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeProviderError(w, api, http.StatusBadRequest, "read request body: "+err.Error())
		return
	}
	if refused := g.checkCap(w, r.Context(), api, caller, agent); refused {
		return
	}
	if refused := g.checkPlan(w, r.Context(), api, caller, agent, sessionID); refused {
		return
	}
	ctx := r.Context()
	start := g.opts.Now()
	req := parseRequest(kind, body)

	// A call refused before any upstream saw it is not recorded, so it
	// opens no session: one opened here was ended later, never started,
	// and counted as a lost record.
	targets, own := g.targets(r.Header, api)
	if len(targets) == 0 {
		msg := "the gateway has no upstream for the " + api + " API: configure one (" + upstreamKeyHint(api) + "), or send your own provider key with your AgentScope key in " + HeaderKey
		if own {
			msg = "no upstream"
		}
		writeProviderError(w, api, http.StatusServiceUnavailable, msg)
		return
	}
	st := g.session(caller, agent, sessionID, start)
	span := newSpanID()
	var (
		resp *http.Response
		up   Upstream
		why  []string
	)
	for i, t := range targets {
		last := i == len(targets)-1
		// The client's own key goes to its one endpoint with no breaker:
		// its failures (its own quota) say nothing of the configured
		// providers, whose breakers the runtime shares.
		var br *breaker.Breaker
		if !own {
			br = g.opts.Breakers.Get(breaker.Key(t.Name, t.BaseURL))
			if ok, reason := br.Allow(g.opts.Now()); !ok {
				why = append(why, t.Name+": "+reason)
				if last {
					g.unavailable(w, st, span, t.Name, req, start, api, "AgentScope gateway: no provider is available: "+strings.Join(why, "; "), http.StatusServiceUnavailable)
					return
				}
				continue
			}
		}
		out, err := g.outgoing(ctx, r, body, t, own, api)
		if err != nil {
			br.Abandon()
			writeProviderError(w, api, http.StatusInternalServerError, err.Error())
			return
		}
		sent := g.opts.Now()
		resp, err = g.client.Do(out)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				br.Abandon()
				return // the client went away
			}
			msg := redactURLError(err)
			br.Failure(g.opts.Now(), msg)
			why = append(why, fmt.Sprintf("%s: %s", t.Name, msg))
			if last {
				g.unavailable(w, st, span, t.Name, req, start, api, "AgentScope gateway could not reach the provider: "+strings.Join(why, "; "), http.StatusBadGateway)
				return
			}
			continue
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && !last:
			br.Failure(g.opts.Now(), fmt.Sprintf("answered %d", resp.StatusCode))
			why = append(why, fmt.Sprintf("%s answered %d", t.Name, resp.StatusCode))
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			continue
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			br.Failure(g.opts.Now(), fmt.Sprintf("answered %d", resp.StatusCode))
		default:
			br.Success(g.opts.Now(), g.opts.Now().Sub(sent))
		}
		up = t
		break
	}
	defer resp.Body.Close()
	g.recordInvoked(st, span, up.Name, req, start)
	if len(why) > 0 {
		g.log.Info("gateway failed over", "provider", up.Name, "skipped", strings.Join(why, "; "))
	}

	h := w.Header()
	for k, vs := range resp.Header {
		if hopByHop[k] {
			continue
		}
		h[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	res := &callResult{}
	var copyErr error
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		copyErr = g.copyStream(w, resp.Body, kind, res)
	} else {
		copyErr = g.copyWhole(w, resp.Body, kind, res)
	}
	g.opts.Metrics.GatewayRequest(up.Name, outcome(resp.StatusCode, copyErr), g.opts.Now().Sub(start))
	g.recordCompleted(st, span, up.Name, req, res, resp.StatusCode, start, copyErr)
}

// unavailable answers a call no provider took (each was unreachable, or
// its breaker open) with status and msg, and records it as failed.
func (g *Gateway) unavailable(w http.ResponseWriter, st *sessionState, span, provider string, req callRequest, start time.Time, api, msg string, status int) {
	g.opts.Metrics.GatewayRequest(provider, "unreachable", g.opts.Now().Sub(start))
	g.recordInvoked(st, span, provider, req, start)
	g.recordFailed(st, span, provider, req, start, msg)
	writeProviderError(w, api, status, msg)
}

// outcome is a call's outcome label: ok, client_error (4xx but 429),
// provider_error (429, 5xx) or interrupted (the answer did not reach the
// client whole).
func outcome(status int, copyErr error) string {
	switch {
	case copyErr != nil:
		return "interrupted"
	case status == http.StatusTooManyRequests || status >= 500:
		return "provider_error"
	case status >= 400:
		return "client_error"
	}
	return "ok"
}

// hopByHop are the response headers that describe a connection, not the
// answer (RFC 9110 section 7.6.1), and are not passed on.
var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Transfer-Encoding": true, "Upgrade": true, "Trailer": true, "Te": true}

// maxCapture bounds the answer body read for recording; a larger answer
// is passed on whole and recorded without its usage.
const maxCapture = 16 << 20

// copyWhole passes an answer on as it comes and reads a copy of it.
func (g *Gateway) copyWhole(w http.ResponseWriter, body io.Reader, kind string, res *callResult) error {
	var buf bytes.Buffer
	cw := &captureWriter{w: w, buf: &buf}
	_, err := io.CopyBuffer(cw, body, make([]byte, 32<<10))
	if !cw.over {
		parseAnswer(kind, buf.Bytes(), res)
	}
	return err
}

type captureWriter struct {
	w    io.Writer
	buf  *bytes.Buffer
	over bool
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if !c.over {
		if c.buf.Len()+len(p) > maxCapture {
			c.over = true
			c.buf.Reset()
		} else {
			c.buf.Write(p)
		}
	}
	return c.w.Write(p)
}

// copyStream passes an event stream on, flushing each piece as it
// arrives, and reads a copy of its events.
func (g *Gateway) copyStream(w http.ResponseWriter, body io.Reader, kind string, res *callResult) error {
	rc := http.NewResponseController(w)
	sr := &streamReader{api: kind, res: res}
	p := newSSEParser(sr.event)
	buf := make([]byte, 32<<10)
	var err error
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				err = werr
				break
			}
			_ = rc.Flush()
			p.write(buf[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	sr.finish()
	return err
}

// targets are the upstreams to try for a request of api, and whether the
// client's own provider key goes to the public endpoint.
func (g *Gateway) targets(h http.Header, api string) ([]Upstream, bool) {
	if clientKey(h, api) {
		if api == Anthropic {
			return []Upstream{{Name: "anthropic", API: Anthropic, BaseURL: g.opts.AnthropicBaseURL}}, true
		}
		return []Upstream{{Name: "openai", API: OpenAI, BaseURL: g.opts.OpenAIBaseURL}}, true
	}
	var out []Upstream
	for _, u := range g.opts.Upstreams {
		if u.API == api {
			out = append(out, u)
		}
	}
	return out, false
}

// outgoing is the request to t: the client's method, path under the API
// version, query, headers and body, without AgentScope's headers, and with
// the configured key unless the client sent its own.
func (g *Gateway) outgoing(ctx context.Context, r *http.Request, body []byte, t Upstream, own bool, api string) (*http.Request, error) {
	u := strings.TrimRight(t.BaseURL, "/") + strings.TrimPrefix(r.URL.Path, "/v1")
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("upstream %s has a bad base URL", t.Name)
	}
	for k, vs := range r.Header {
		switch k {
		case "Host", "Content-Length", "Accept-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te", "Trailer", "Cookie":
			continue
		}
		if strings.HasPrefix(k, "X-Agentscope-") {
			continue
		}
		out.Header[k] = vs
	}
	switch {
	case own && r.Header.Get(HeaderKey) == "":
		// Authorization carried the AgentScope key; x-api-key is the
		// client's Anthropic key.
		out.Header.Del("Authorization")
	case !own:
		out.Header.Del("Authorization")
		out.Header.Del("X-Api-Key")
		if api == Anthropic {
			out.Header.Set("X-Api-Key", t.APIKey)
			if out.Header.Get("Anthropic-Version") == "" {
				out.Header.Set("Anthropic-Version", "2023-06-01")
			}
		} else {
			out.Header.Set("Authorization", "Bearer "+t.APIKey)
		}
	}
	out.ContentLength = int64(len(body))
	return out, nil
}

// redactURLError is a transport error without the URL's credentials.
func redactURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}

// checkCap refuses the call, in the provider's error shape, when the
// agent is over a hard-cap budget or the caller may not record. A budget
// check that fails is counted and lets the call through: recording is a
// side effect, and so is the check.
func (g *Gateway) checkCap(w http.ResponseWriter, ctx context.Context, api string, caller agentscope.Principal, agent string) bool {
	key := caller.OrgID + "\x00" + agent
	now := g.opts.Now()
	g.mu.Lock()
	e, ok := g.caps[key]
	g.mu.Unlock()
	if !ok || now.Sub(e.at) >= g.opts.CapCacheTTL || now.Before(e.at) {
		st, err := g.svc.GatewayHardCap(ctx, agent)
		if err != nil {
			switch agentscope.ErrorCode(err) {
			case agentscope.EFORBIDDEN:
				writeProviderError(w, api, http.StatusForbidden, agentscope.ErrorMessage(err))
				return true
			case agentscope.EUNAUTHORIZED:
				writeProviderError(w, api, http.StatusUnauthorized, agentscope.ErrorMessage(err))
				return true
			}
			g.rec.capCheckFailed(caller.OrgID, err)
			return false
		}
		e = capEntry{status: st, at: now}
		g.mu.Lock()
		g.caps[key] = e
		g.mu.Unlock()
	}
	if e.status == nil {
		return false
	}
	b := e.status
	g.opts.Metrics.Refusal("budget_hard_cap", "gateway_call")
	writeQuotaError(w, api, fmt.Sprintf("AgentScope: agent %q has reached its hard-cap %s budget of $%s (spent $%s since %s); calls are refused until the period ends or the budget is raised",
		agent, b.Period, b.LimitUSD.String(), b.SpentUSD.String(), b.PeriodStart.Format(time.RFC3339)))
	return true
}

// callEvents is how many events a call records at least: its
// ModelInvoked, ModelCompleted and CostRecorded, and the SessionStarted
// of a session the gateway does not know yet.
const callEvents = 3

// checkPlan refuses the call, in the provider's error shape, when the
// caller's organisation's plan would refuse the events it records
// (events_per_month): forwarded, it would be made and go unrecorded — its
// spend unseen by the agent's budgets. A check that fails otherwise is
// counted and lets the call through, as a budget check does.
func (g *Gateway) checkPlan(w http.ResponseWriter, ctx context.Context, api string, caller agentscope.Principal, agent, sessionID string) bool {
	n := int64(callEvents)
	if !g.knownSession(caller, agent, sessionID) {
		n++
	}
	err := g.svc.GatewayEventsAllowed(ctx, n)
	if err == nil {
		return false
	}
	if agentscope.ErrorCode(err) != agentscope.EPLANLIMIT {
		g.rec.capCheckFailed(caller.OrgID, err)
		return false
	}
	g.opts.Metrics.Refusal("plan_limit", "gateway_call")
	writeQuotaError(w, api, "AgentScope: "+agentscope.ErrorMessage(err))
	return true
}

// writeQuotaError refuses a call for a quota (a hard-cap budget, the
// plan's events) as the provider refuses one past the account's credit:
// OpenAI's 429 insufficient_quota, Anthropic's 400 invalid_request_error.
// X-Should-Retry: false tells the official SDKs (openai-node,
// anthropic-sdk-typescript, and the Python ones) not to retry it, which
// they would do for a 429: the refusal stands until the quota changes.
func writeQuotaError(w http.ResponseWriter, api, msg string) {
	w.Header().Set("X-Should-Retry", "false")
	if api == Anthropic {
		writeAnthropicError(w, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	writeOpenAIError(w, http.StatusTooManyRequests, msg, "insufficient_quota", "insufficient_quota")
}

// knownSession reports whether the call's session (sessionID, or the one
// the gateway keeps for the caller and agent) is one the gateway has
// recorded calls in since it started.
func (g *Gateway) knownSession(caller agentscope.Principal, agent, sessionID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if sessionID == "" {
		sessionID = g.auto[callerKey(caller)+"\x00"+agent]
	}
	_, ok := g.sessions[sessionID]
	return ok
}

// forgetCap drops the cached budget check of an agent, whose spend just
// changed.
func (g *Gateway) forgetCap(org, agent string) {
	g.mu.Lock()
	delete(g.caps, org+"\x00"+agent)
	g.mu.Unlock()
}

// session returns the state of the call's session: the one the client
// named, or the one the gateway keeps for the caller and agent, started
// now if it has none.
func (g *Gateway) session(caller agentscope.Principal, agent, id string, now time.Time) *sessionState {
	g.mu.Lock()
	defer g.mu.Unlock()
	autoKey := ""
	if id == "" {
		autoKey = callerKey(caller) + "\x00" + agent
		id = g.auto[autoKey]
		if id == "" {
			id = agentscope.NewSessionID()
			g.auto[autoKey] = id
		}
	}
	st := g.sessions[id]
	if st == nil {
		st = &sessionState{id: id, agent: agent, autoKey: autoKey, caller: caller}
		g.sessions[id] = st
	}
	st.lastUsed = now
	return st
}

// upstreamKeyHint names the setting that gives the gateway an upstream
// for api.
func upstreamKeyHint(api string) string {
	if api == Anthropic {
		return "set AGENTSCOPE_ANTHROPIC_API_KEY or ANTHROPIC_API_KEY"
	}
	return "set AGENTSCOPE_LLM_API_KEY or OPENAI_API_KEY"
}

// callerKey identifies an authenticated caller: its key, person, grant or
// the instance token, within its organisation.
func callerKey(p agentscope.Principal) string {
	return p.OrgID + "\x00" + string(p.Kind) + "\x00" + p.KeyID + p.UserID + p.GrantID
}

func newSpanID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WriteError answers a request to the gateway's route path with status
// and msg in the error shape of the route's provider (Anthropic's for
// /v1/messages, OpenAI's otherwise), which its SDKs read: web answers the
// gateway's authentication and rate-limit failures with it.
func WriteError(w http.ResponseWriter, path string, status int, msg string) {
	api := OpenAI
	if path == "/v1/messages" {
		api = Anthropic
	}
	writeProviderError(w, api, status, msg)
}

// anthropicErrorTypes and openAIErrors are the providers' error type (and
// OpenAI's code) for a status; other statuses are their server errors.
var (
	anthropicErrorTypes = map[int]string{400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error"}
	openAIErrors        = map[int][2]string{400: {"invalid_request_error", ""}, 401: {"invalid_request_error", "invalid_api_key"}, 402: {"insufficient_quota", "insufficient_quota"},
		403: {"invalid_request_error", ""}, 404: {"invalid_request_error", ""}, 413: {"invalid_request_error", ""}, 429: {"requests", "rate_limit_exceeded"}}
)

// writeProviderError answers in the error shape of api's provider.
func writeProviderError(w http.ResponseWriter, api string, status int, msg string) {
	if api == Anthropic {
		typ := anthropicErrorTypes[status]
		if typ == "" {
			typ = "api_error"
		}
		writeAnthropicError(w, status, typ, msg)
		return
	}
	e, ok := openAIErrors[status]
	if !ok {
		e[0] = "server_error"
	}
	writeOpenAIError(w, status, msg, e[0], e[1])
}

// writeOpenAIError writes OpenAI's error body:
// {"error":{"message","type","param","code"}}.
func writeOpenAIError(w http.ResponseWriter, status int, msg, typ, code string) {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

// writeAnthropicError writes Anthropic's error body:
// {"type":"error","error":{"type","message"}}.
func writeAnthropicError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// derivedSessionID is the session a conversation id that is not a valid
// session id names: "gw-" and a hash of it, the same for every call.
func derivedSessionID(conv string) string {
	h := sha256.Sum256([]byte(conv))
	return "gw-" + hex.EncodeToString(h[:16])
}
