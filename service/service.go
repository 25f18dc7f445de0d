// Package service holds the operations AgentScope offers — start a run,
// record events, end it, list and replay, search, administer agents and
// their budgets — once, for every transport. The
// MCP tools and the HTTP handlers are thin adapters over these functions, so
// their behaviour cannot drift apart. The caller's organisation always comes
// from the context, never from request data, and every operation first asks
// agentscope.Authorize whether the caller there (agentscope.WithPrincipal)
// may take its action: the one check, for HTTP and MCP alike.
package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/pricing"
	"github.com/agentscope/agentscope/recorder"
)

// Launcher executes managed agents; the runtime implements it. Without one,
// every run is self-reported.
type Launcher interface {
	// Launch admits and queues a run of a managed agent and returns it in
	// status queued. run names the session, input and metadata of the run
	// start_run opens.
	Launch(ctx context.Context, orgID string, agent agentscope.Agent, run agentscope.Run) (agentscope.Run, error)
	// Cancel stops a queued or running managed run.
	Cancel(ctx context.Context, orgID, sessionID string) (agentscope.Run, error)
	// AgentTools lists the AgentScope tools an agent of orgID may be
	// given; a definition naming any other is refused when it is saved.
	AgentTools(ctx context.Context, orgID string) ([]string, error)
}

// Options configure a Service; every field may be left zero.
type Options struct {
	Logger *slog.Logger
	// Launcher executes managed agents (the runtime). Without one every run
	// is self-reported: start_run of a managed agent fails, saying so.
	Launcher Launcher
	// Agents keeps agents' definitions and budgets (the SQL store). Without
	// it agent and budget administration is not available and no starter
	// agents are made.
	Agents AgentStore
	// Audit reads organisations' audit logs (the SQL store); without it
	// ListAudit is not available.
	Audit AuditLog
	// OAuthGrants keeps MCP hosts' OAuth grants (the SQL store); without
	// it listing and revoking them is not available.
	OAuthGrants OAuthGrants
	// Keys keeps the organisations' API keys (the SQL store). Without it
	// key management is not available.
	Keys KeyStore
	// Orgs keeps the organisations (the SQL store). Without it deleting
	// one is not available.
	Orgs OrgStore
	// Billing is the organisations' plans (billing.Service); nil is
	// billing off: every organisation unlimited.
	Billing Billing
	// Idle finds capture sessions gone idle (the SQL store). Without it
	// EndIdleSessions ends none.
	Idle IdleRuns
	// Metrics counts what the service refuses itself (a self-reported
	// run's start past its agent's hard cap); nil counts nothing.
	Metrics *metrics.Metrics
}

// Billing reads an organisation's plan and usage and refuses what its plan
// does not allow (EPLANLIMIT). billing.Service implements it; the event
// limit itself is the store's, in the append's transaction.
type Billing interface {
	OrgUsage(ctx context.Context, orgID string) (agentscope.BillingUsage, error)
	CheckAPIKey(ctx context.Context, orgID string) error
	CheckManagedRun(ctx context.Context, orgID string) error
	// CheckEvents refuses n more events of orgID when its plan would not
	// store them this period (from a short-lived view of its usage).
	CheckEvents(ctx context.Context, orgID string, n int64) error
}

// Service is AgentScope's service layer.
type Service struct {
	rec      *recorder.Recorder
	store    agentscope.Store
	launcher Launcher
	agents   AgentStore
	audit    AuditLog
	grants   OAuthGrants
	keys     KeyStore
	orgs     OrgStore
	billing  Billing
	idle     IdleRuns
	metrics  *metrics.Metrics
	starters starterSet
	log      *slog.Logger
	now      func() time.Time
	// MaxEventBytes bounds one event's JSON (default 256 KiB).
	MaxEventBytes int
	// Pricing prices self-reported model calls that carry no reported cost
	// when their session ends (nil: the embedded table).
	Pricing *pricing.Table
	// Search configures run_spl, splunk_insights and splunk_health (zero:
	// search is not configured).
	Search SearchOptions
}

// New returns a Service over rec and its store.
func New(rec *recorder.Recorder, opts Options) *Service {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{rec: rec, store: rec.Store(), launcher: opts.Launcher, agents: opts.Agents, audit: opts.Audit, grants: opts.OAuthGrants, keys: opts.Keys, orgs: opts.Orgs, billing: opts.Billing, idle: opts.Idle, metrics: opts.Metrics, log: logger.With("component", "service"),
		now: func() time.Time { return time.Now().Truncate(time.Microsecond) }, MaxEventBytes: agentscope.DefaultMaxEventBytes}
}

// Store returns the underlying store.
func (s *Service) Store() agentscope.Store { return s.store }

// Recorder returns the recorder.
func (s *Service) Recorder() *recorder.Recorder { return s.rec }

// StartRunInput is the input of start_run.
type StartRunInput struct {
	Agent     string            `json:"agent" jsonschema:"the agent's name; an unknown name is registered as an external agent"`
	Input     json.RawMessage   `json:"input,omitempty" jsonschema:"what the run was asked to do (any JSON value)"`
	Metadata  map[string]string `json:"metadata,omitempty" jsonschema:"free-form string labels kept on the run"`
	SessionID string            `json:"session_id,omitempty" jsonschema:"optional client-chosen id matching ^[A-Za-z0-9_-]{1,64}$; generated when absent"`
	StartedAt *time.Time        `json:"started_at,omitempty" jsonschema:"when the run began (RFC 3339), for a client that reports the start after its first events, such as a proxy's queue; at most an hour ago and not in the future; default now"`
}

// MaxStartedAtAge bounds how long ago a run's reported start may be.
const MaxStartedAtAge = time.Hour

// startSkew is how far past the server's clock a reported start may be:
// the client's clock may run ahead.
const startSkew = 5 * time.Second

// StartRun opens a run. For an external agent the run starts as running with
// its SessionStarted event; a managed agent's run is queued for a worker.
func (s *Service) StartRun(ctx context.Context, in StartRunInput) (agentscope.Run, error) {
	caller, err := agentscope.Caller(ctx)
	if err != nil {
		return agentscope.Run{}, err
	}
	org := caller.OrgID
	if in.Agent == "" {
		return agentscope.Run{}, agentscope.FieldErrorf("agent", "is required")
	}
	if err := agentscope.ValidateAgentName(in.Agent); err != nil {
		return agentscope.Run{}, err
	}
	if in.SessionID == "" {
		in.SessionID = agentscope.NewSessionID()
	} else if err := agentscope.ValidateSessionID(in.SessionID); err != nil {
		return agentscope.Run{}, err
	}
	if len(in.Input) > 0 && !json.Valid(in.Input) {
		return agentscope.Run{}, agentscope.FieldErrorf("input", "must be valid JSON")
	}
	if len(in.Metadata) > 64 {
		return agentscope.Run{}, agentscope.FieldErrorf("metadata", "has %d keys; at most 64", len(in.Metadata))
	}
	if err := s.PrepareOrg(ctx, org); err != nil {
		return agentscope.Run{}, err
	}
	agent, err := s.store.GetAgent(ctx, org, in.Agent)
	if err != nil && agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		return agentscope.Run{}, err
	}
	// A managed agent's run is queued (run); any other run is recorded
	// as its agent reports it (record).
	managed := err == nil && agent.Kind == agentscope.AgentManaged
	action := agentscope.ActionRecord
	if managed {
		action = agentscope.ActionRun
	}
	if err := caller.Authorize(action); err != nil {
		return agentscope.Run{}, err
	}
	if managed {
		if in.StartedAt != nil {
			// About the agent, not the time: no started_at would do, and a
			// client that resends the start without one (the proxy does,
			// for a refused started_at) would launch a managed run.
			return agentscope.Run{}, agentscope.FieldErrorf("agent", "%q is a managed agent, whose run starts when a worker takes it; a start time (started_at) is for self-reported runs", in.Agent)
		}
		if s.launcher == nil {
			return agentscope.Run{}, agentscope.Errorf(agentscope.EUNAVAILABLE, "agent %q is managed but this process has no runtime to execute it", in.Agent)
		}
		if s.billing != nil {
			// The plan's managed-run spend, beside the agent's own budgets
			// (which the runtime checks at admission).
			if err := s.billing.CheckManagedRun(ctx, org); err != nil {
				return agentscope.Run{}, err
			}
		}
		return s.launcher.Launch(ctx, org, agent, agentscope.Run{SessionID: in.SessionID, Input: in.Input, Metadata: in.Metadata})
	}
	now := s.now().UTC()
	started := now
	if in.StartedAt != nil {
		started = in.StartedAt.UTC().Truncate(time.Microsecond)
		switch {
		case started.After(now.Add(startSkew)):
			return agentscope.Run{}, agentscope.FieldErrorf("started_at", "is %s, in the future (the server's time is %s)", started.Format(time.RFC3339Nano), now.Format(time.RFC3339))
		case started.Before(now.Add(-MaxStartedAtAge)):
			return agentscope.Run{}, agentscope.FieldErrorf("started_at", "is %s, more than %s ago", started.Format(time.RFC3339Nano), MaxStartedAtAge)
		}
	}
	// A self-reported run spends outside AgentScope, so a hard cap can
	// only refuse its next run (and the gateway its calls).
	if st, err := s.exceededHardCap(ctx, org, in.Agent); err != nil {
		return agentscope.Run{}, err
	} else if st != nil {
		s.metrics.Refusal("budget_hard_cap", "run_start") // as the runtime counts a managed run's
		return agentscope.Run{}, agentscope.Errorf(agentscope.EFORBIDDEN, "agent %q has reached its hard cap: spent $%s of its $%s %s budget since %s; new runs are refused until the period ends or the budget is raised",
			in.Agent, st.SpentUSD, st.LimitUSD, st.Period, st.PeriodStart.Format(time.RFC3339))
	}
	res, err := s.rec.Commit(ctx, agentscope.AppendRequest{
		OrgID: org, SessionID: in.SessionID,
		Start: &agentscope.Run{Agent: in.Agent, Status: agentscope.StatusRunning, Input: in.Input, Metadata: in.Metadata, CreatedAt: now, StartedAt: &started},
		Events: []agentscope.Event{{
			EventID: agentscope.NewEventID(), Type: agentscope.SessionStarted, TS: started, Agent: in.Agent, Input: in.Input,
		}},
	})
	if err != nil {
		return agentscope.Run{}, err
	}
	return res.Run, nil
}

// RecordResult says what happened to one recorded event.
type RecordResult struct {
	Index     int    `json:"index"`
	EventID   string `json:"event_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Seq       int64  `json:"seq,omitempty"`
	Accepted  bool   `json:"accepted"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
	Code      string `json:"code,omitempty"`
}

// Record decodes, validates and commits raw events, each carrying its
// session_id (or taking defaultSession when it has none). Every event gets
// its own result; a rejected event never keeps the others out.
func (s *Service) Record(ctx context.Context, defaultSession string, raws []json.RawMessage) ([]RecordResult, error) {
	b := agentscope.BatchOf(raws)
	return s.RecordBatch(ctx, defaultSession, &b)
}

// RecordBatch is Record of a batch that agentscope.SplitEvents split, and
// perhaps decoded, from one JSON array.
func (s *Service) RecordBatch(ctx context.Context, defaultSession string, b *agentscope.EventBatch) ([]RecordResult, error) {
	return s.record(ctx, defaultSession, len(b.Raw), func(i int) (agentscope.Event, error) {
		if len(b.Raw[i]) > s.MaxEventBytes {
			return agentscope.Event{}, s.tooLarge(b.Raw[i])
		}
		return b.Decode(i)
	})
}

// RecordFields is Record for one event whose JSON, raw, its caller has
// already split into fields (record_event's argument check does): the
// event is decoded from them instead of parsed again.
func (s *Service) RecordFields(ctx context.Context, defaultSession string, raw json.RawMessage, fields map[string]json.RawMessage) ([]RecordResult, error) {
	return s.record(ctx, defaultSession, 1, func(int) (agentscope.Event, error) {
		if len(raw) > s.MaxEventBytes {
			return agentscope.Event{}, s.tooLarge(raw)
		}
		return agentscope.DecodeEventFields(fields)
	})
}

// record decodes n events with decode, then commits them a session at a
// time, the sessions concurrently.
func (s *Service) record(ctx context.Context, defaultSession string, n int, decode func(i int) (agentscope.Event, error)) ([]RecordResult, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRecord)
	if err != nil {
		return nil, err
	}
	results := make([]RecordResult, n)
	type group struct {
		n      int // accepted events of the session, counted while decoding
		idx    []int
		events []agentscope.Event
	}
	groups := map[string]*group{}
	var (
		order []string
		evs   []agentscope.Event // decoded and accepted so far, in order
		idx   []int              // their indexes in the request
	)
	// Each event is validated as it is decoded and is then committed with
	// CommitValidated, so what this loop changes must keep it valid: the
	// default session is checked here, once, and given only to events
	// without a session_id of their own (as an error if it is bad), and
	// a generated event id is valid.
	var defaultErr error
	if defaultSession != "" {
		defaultErr = agentscope.ValidateSessionID(defaultSession)
	}
	for i := range n {
		results[i].Index = i
		ev, err := decode(i)
		if err == nil && ev.SessionID == "" {
			ev.SessionID, err = defaultSession, defaultErr
		}
		if err == nil && ev.SessionID == "" {
			err = agentscope.FieldErrorf("session_id", "is required")
		}
		if err == nil {
			err = RecordableType(ev.Type)
		}
		if err == nil && ev.Type == agentscope.CostRecorded && strings.HasPrefix(ev.Source, ComputedSourcePrefix) {
			err = agentscope.FieldErrorf("source", "%q starts with %q, which marks the costs AgentScope computes from its pricing table; a reported cost needs another source", ev.Source, ComputedSourcePrefix)
		}
		if err != nil {
			results[i].Error, results[i].Code = agentscope.ErrorMessage(err), agentscope.ErrorCode(err)
			s.rec.Refused(results[i].Code)
			continue
		}
		if ev.EventID == "" {
			ev.EventID = agentscope.NewEventID()
		}
		// A missing ts is left for the store to fill in at commit, so a retry
		// of the same event without one is recognised as a duplicate.
		if evs == nil {
			evs, idx = make([]agentscope.Event, 0, n-i), make([]int, 0, n-i)
		}
		evs, idx = append(evs, ev), append(idx, i)
		g := groups[ev.SessionID]
		if g == nil {
			g = &group{}
			groups[ev.SessionID] = g
			order = append(order, ev.SessionID)
		}
		g.n++
	}
	// Grouped by session in a second pass, each group's events in one
	// allocation of their own size (a batch of one session, the usual
	// case, uses the decoded slice as it is): appending events of some
	// 400 bytes one at a time to slices that grow was a tenth of batch
	// ingest's allocations.
	if len(order) == 1 {
		groups[order[0]].idx, groups[order[0]].events = idx, evs
	} else {
		for _, g := range groups {
			g.events, g.idx = make([]agentscope.Event, 0, g.n), make([]int, 0, g.n)
		}
		for k := range evs {
			g := groups[evs[k].SessionID]
			g.idx, g.events = append(g.idx, idx[k]), append(g.events, evs[k])
		}
	}
	type outcome struct {
		g   *group
		res agentscope.AppendResult
		err error
	}
	done := make(chan outcome, len(order))
	if len(order) == 1 {
		// One session (every record_event of one event): commit in this
		// goroutine rather than start another.
		g := groups[order[0]]
		res, err := s.rec.CommitValidated(ctx, agentscope.AppendRequest{OrgID: org, SessionID: order[0], Events: g.events})
		done <- outcome{g, res, err}
	} else {
		for _, sid := range order {
			g := groups[sid]
			go func() {
				res, err := s.rec.CommitValidated(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sid, Events: g.events})
				done <- outcome{g, res, err}
			}()
		}
	}
	for range order {
		o := <-done
		for k, i := range o.g.idx {
			r := &results[i]
			r.SessionID = o.g.events[k].SessionID
			r.EventID = o.g.events[k].EventID
			if o.err != nil {
				r.Error, r.Code = agentscope.ErrorMessage(o.err), agentscope.ErrorCode(o.err)
				if r.Code == agentscope.ENOTFOUND { // the recorder leaves this one to its callers
					s.rec.Refused(r.Code)
				}
				continue
			}
			if o.res.Rejected != nil && o.res.Rejected[k] != nil {
				r.Error, r.Code = agentscope.ErrorMessage(o.res.Rejected[k]), agentscope.ErrorCode(o.res.Rejected[k])
				continue
			}
			r.Accepted, r.Duplicate, r.Seq = true, o.res.Duplicate[k], o.res.Events[k].Seq
		}
	}
	return results, nil
}

// tooLarge is the error of an event over MaxEventBytes.
func (s *Service) tooLarge(raw json.RawMessage) error {
	return agentscope.Errorf(agentscope.ETOOLARGE, "event is %d bytes; the limit is %d", len(raw), s.MaxEventBytes)
}

// EndRunInput is the input of end_run.
type EndRunInput struct {
	SessionID string          `json:"session_id" jsonschema:"the run's session id"`
	Status    string          `json:"status" jsonschema:"completed, failed or cancelled"`
	Output    json.RawMessage `json:"output,omitempty" jsonschema:"the run's result (any JSON value)"`
	Error     string          `json:"error,omitempty" jsonschema:"why the run failed, if it did"`
}

// RecordableType returns nil if callers may record events of type t, and
// otherwise an error on the type field saying what writes them.
func RecordableType(t agentscope.EventType) error {
	if spec, _ := agentscope.LookupEventType(t); spec.System {
		return agentscope.FieldErrorf("type", "%s is written by AgentScope itself (start_run, end_run or the runtime), not by record_event", t)
	}
	return nil
}

// EndRun closes a self-reported run with its SessionCompleted event.
func (s *Service) EndRun(ctx context.Context, in EndRunInput) (agentscope.Run, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRecord)
	if err != nil {
		return agentscope.Run{}, err
	}
	if err := agentscope.ValidateSessionID(in.SessionID); err != nil {
		return agentscope.Run{}, err
	}
	status := agentscope.RunStatus(in.Status)
	if !status.Terminal() {
		return agentscope.Run{}, agentscope.FieldErrorf("status", "must be completed, failed or cancelled, got %q", in.Status)
	}
	if len(in.Output) > 0 && !json.Valid(in.Output) {
		return agentscope.Run{}, agentscope.FieldErrorf("output", "must be valid JSON")
	}
	return s.endRun(ctx, org, in, status, 0, time.Time{})
}

// CancelRun cancels a run: a managed run through the runtime, a
// self-reported one by ending it as cancelled. Either is the run action.
func (s *Service) CancelRun(ctx context.Context, sessionID string) (agentscope.Run, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRun)
	if err != nil {
		return agentscope.Run{}, err
	}
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		return agentscope.Run{}, err
	}
	run, err := s.store.GetRun(ctx, org, sessionID)
	if err != nil {
		return run, err
	}
	if run.Managed && s.launcher != nil {
		return s.launcher.Cancel(ctx, org, sessionID)
	}
	return s.endRun(ctx, org, EndRunInput{SessionID: sessionID, Status: string(agentscope.StatusCancelled), Error: "cancelled by request"}, agentscope.StatusCancelled, 0, time.Time{})
}

// GetRun returns one run.
func (s *Service) GetRun(ctx context.Context, sessionID string) (agentscope.Run, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return agentscope.Run{}, err
	}
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		return agentscope.Run{}, err
	}
	return s.store.GetRun(ctx, org, sessionID)
}

// ListRunsInput is the input of list_runs.
type ListRunsInput struct {
	Agent  string `json:"agent,omitempty" jsonschema:"only runs of this agent"`
	Status string `json:"status,omitempty" jsonschema:"only runs in this status: queued, running, completed, failed or cancelled"`
	Since  string `json:"since,omitempty" jsonschema:"only runs created at or after this time (RFC 3339) or this long ago (a duration such as 24h)"`
	Limit  int    `json:"limit,omitempty" jsonschema:"page size, 1 to 500 (default 50)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

// ListRuns lists runs newest first.
func (s *Service) ListRuns(ctx context.Context, in ListRunsInput) (agentscope.RunPage, error) {
	f := agentscope.RunFilter{Agent: in.Agent, Status: agentscope.RunStatus(in.Status), Limit: in.Limit, Cursor: in.Cursor}
	if in.Since != "" {
		t, err := agentscope.ParseSince(in.Since, s.now())
		if err != nil {
			return agentscope.RunPage{}, err
		}
		f.Since = t
	}
	return s.Runs(ctx, f)
}

// ReplayInput is the input of replay_session.
type ReplayInput struct {
	SessionID string   `json:"session_id" jsonschema:"the session to replay"`
	Types     []string `json:"types,omitempty" jsonschema:"only events of these types"`
	Cursor    string   `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
	Limit     int      `json:"limit,omitempty" jsonschema:"events per page, 1 to 1000 (default 200)"`
}

// ReplayPage is one page of a session's events in seq order.
type ReplayPage struct {
	SessionID string `json:"session_id"`
	// Events are the events' canonical JSON exactly as stored.
	Events     []agentscope.StoredEvent `json:"events"`
	NextCursor string                   `json:"next_cursor,omitempty"`
}

// Replay returns a page of a session's timeline. Pages end at the limit or
// at about 64 KiB of events, whichever comes first, so a page stays well
// under a model's tool-result budget.
func (s *Service) Replay(ctx context.Context, in ReplayInput) (ReplayPage, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return ReplayPage{}, err
	}
	if err := agentscope.ValidateSessionID(in.SessionID); err != nil {
		return ReplayPage{}, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = DefaultReplayPage
	} else if limit < 0 || limit > MaxReplayPage {
		return ReplayPage{}, agentscope.FieldErrorf("limit", "must be between 1 and %d", MaxReplayPage)
	}
	var after int64
	if in.Cursor != "" {
		after, err = strconv.ParseInt(in.Cursor, 10, 64)
		if err != nil || after < 0 {
			return ReplayPage{}, agentscope.FieldErrorf("cursor", "is not a cursor returned by replay_session")
		}
	}
	f := agentscope.EventFilter{AfterSeq: after, Limit: limit + 1, MaxBytes: ReplayPageBytes}
	for _, t := range in.Types {
		if _, ok := agentscope.LookupEventType(agentscope.EventType(t)); !ok {
			return ReplayPage{}, agentscope.FieldErrorf("types", "unknown event type %q", t)
		}
		f.Types = append(f.Types, agentscope.EventType(t))
	}
	evs, err := s.store.ListEventBodies(ctx, org, in.SessionID, f)
	if err != nil {
		return ReplayPage{}, err
	}
	page := ReplayPage{SessionID: in.SessionID, Events: evs}
	size := 0
	for i, ev := range evs {
		size += len(ev.Body) + 1
		if i == limit || (i > 0 && size > ReplayPageBytes) {
			page.Events = evs[:i]
			page.NextCursor = strconv.FormatInt(evs[i-1].Seq, 10)
			break
		}
	}
	return page, nil
}
