package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// What hosts browse and pick from besides tools: prompts with argument
// completion, the organisation's recent sessions and reports in
// resources/list, and notifications/resources/updated for a subscribed
// session as its events commit.

// maxListed bounds the sessions, and the reports, resources/list shows.
const maxListed = 50

// maxCompletions is the most values a completion answers (the protocol's
// limit).
const maxCompletions = 100

const (
	sessionURIPrefix = "agentscope://sessions/"
	reportURIPrefix  = "agentscope://reports/"
)

// reportLister is what lists investigation reports (*sqlstore.Store).
type reportLister interface {
	ListReports(ctx context.Context, orgID string, f agentscope.ReportFilter) ([]agentscope.Report, error)
}

// windowPattern is a cost_report window: a number and m, h, d or w.
var windowPattern = regexp.MustCompile(`^[1-9][0-9]{0,3}[mhdw]$`)

func (s *Server) addPrompts() {
	s.MCP.AddPrompt(&mcp.Prompt{
		Name:        "investigate_session",
		Title:       "Investigate a session",
		Description: "Find out what an agent did in one recorded session and whether anything went wrong: loops, errors, cost, provider switches. Completes session ids.",
		Arguments:   []*mcp.PromptArgument{{Name: "session_id", Title: "Session", Description: "The session to investigate (completion lists recent ones)", Required: true}},
	}, s.promptErrors("investigate_session", func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		ctx, err := s.orgContext(ctx, req.Extra)
		if err != nil {
			return nil, err
		}
		sid := req.Params.Arguments["session_id"]
		if sid == "" {
			return nil, agentscope.FieldErrorf("session_id", "is required: the session to investigate")
		}
		if err := agentscope.ValidateSessionID(sid); err != nil {
			return nil, err
		}
		run, err := s.svc.GetRun(ctx, sid)
		if err != nil {
			return nil, err
		}
		cost := "$" + run.CostUSD.String()
		if run.UnpricedCalls > 0 {
			// An unknown cost is not $0: the model must not read the sum
			// of the known costs as the session's.
			cost += fmt.Sprintf(" plus %d model calls of unknown cost", run.UnpricedCalls)
		}
		text := fmt.Sprintf("Investigate AgentScope session %s (agent %s, status %s, %d events, cost %s).\n\n"+
			"1. Read its timeline with replay_session (session_id %q), following next_cursor to the end.\n"+
			"2. If the investigate tool is available, call it with session_id %q and then get_report for the risk-graded report; otherwise look for loops (the same tool called with the same arguments again and again), tool errors, retries, provider switches, slow or expensive model calls.\n"+
			"3. Check totals with run_spl, for example: session_id=%q | stats count sum(amount_usd) as cost_usd by type.\n\n"+
			"Answer with a risk level (low, medium, high or critical), the findings each citing the event seq numbers it rests on, and the exact SPL you ran.",
			run.SessionID, run.Agent, run.Status, run.EventCount, cost, run.SessionID, run.SessionID, run.SessionID)
		return &mcp.GetPromptResult{
			Description: "Investigate session " + run.SessionID,
			Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.TextContent{Text: text}},
				{Role: "user", Content: &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: sessionURIPrefix + run.SessionID, MIMEType: "application/json",
					Text: fmt.Sprintf(`{"session_id":%q,"agent":%q,"status":%q,"event_count":%d,"cost_usd":%s,"unpriced_calls":%d}`, run.SessionID, run.Agent, run.Status, run.EventCount, run.CostUSD, run.UnpricedCalls)}}},
			},
		}, nil
	}))
	s.MCP.AddPrompt(&mcp.Prompt{
		Name:        "cost_report",
		Title:       "Cost report",
		Description: "Where the money went: spend by agent and model over a window, the most expensive sessions, and what changed. Completes agent names.",
		Arguments: []*mcp.PromptArgument{
			{Name: "agent", Title: "Agent", Description: "Only this agent (completion lists the organisation's agents); all agents when empty"},
			{Name: "window", Title: "Window", Description: "How far back, e.g. 1h, 24h, 7d (default 24h)"},
		},
	}, s.promptErrors("cost_report", func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		if _, err := s.orgContext(ctx, req.Extra); err != nil {
			return nil, err
		}
		agent, window := req.Params.Arguments["agent"], req.Params.Arguments["window"]
		if window == "" {
			window = "24h"
		}
		if !windowPattern.MatchString(window) {
			return nil, agentscope.FieldErrorf("window", "must be a number and m, h, d or w, such as 24h or 7d; got %q", window)
		}
		filter := ""
		if agent != "" {
			// The name is validated to [A-Za-z0-9_.-], so it cannot change
			// the query around it.
			if err := agentscope.ValidateAgentName(agent); err != nil {
				return nil, err
			}
			filter = fmt.Sprintf(" agent=%q", agent)
		}
		text := fmt.Sprintf("Write a cost report for the last %s%s.\n\n"+
			"1. Spend by agent and model: run_spl with query `type=CostRecorded%s | stats sum(amount_usd) as cost_usd count as calls by agent model | sort - cost_usd` and earliest_time \"-%s\".\n"+
			"2. The most expensive sessions: `type=CostRecorded%s | stats sum(amount_usd) as cost_usd by session_id agent | sort - cost_usd | head 10`, same window.\n"+
			"3. Over time: `type=CostRecorded%s | timechart sum(amount_usd) as cost_usd by agent`.\n\n"+
			"Report totals in USD, the biggest contributors, anything that changed sharply, and the SPL you ran.",
			window, map[bool]string{true: " for agent " + agent, false: " for every agent"}[agent != ""], filter, window, filter, filter)
		return &mcp.GetPromptResult{
			Description: "Cost report, last " + window,
			Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
		}, nil
	}))
}

// promptErrors gives prompts/get's errors JSON-RPC codes, as the MCP
// specification asks of prompts: an argument that is missing or wrong,
// or names nothing of the caller's organisation, is -32602 (invalid
// params); the server's own failure -32603, its cause logged, not shown;
// any other refusal of the caller (authorization, limits) -32600.
// Without it the SDK answered with code 0.
func (s *Server) promptErrors(name string, h mcp.PromptHandler) mcp.PromptHandler {
	return func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		res, err := h(ctx, req)
		if err == nil {
			return res, nil
		}
		var rpcErr *jsonrpc.Error
		if errors.As(err, &rpcErr) {
			return nil, err
		}
		code := int64(jsonrpc.CodeInvalidRequest)
		switch agentscope.ErrorCode(err) {
		case agentscope.EINVALID, agentscope.ENOTFOUND:
			code = jsonrpc.CodeInvalidParams
		case agentscope.EINTERNAL:
			code = jsonrpc.CodeInternalError
		}
		return nil, &jsonrpc.Error{Code: code, Message: s.toolError(name, err).Error()}
	}
}

// complete answers completion/complete: session ids for investigate_session
// and the session and report resource templates, agent names and windows
// for cost_report; prefix-matched, of the caller's organisation only.
func (s *Server) complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	ctx, err := s.orgContext(ctx, req.Extra)
	if err != nil {
		return nil, err
	}
	p := req.Params
	prefix := p.Argument.Value
	var values []string
	switch {
	case p.Argument.Name == "session_id" && (p.Ref.Type == "ref/prompt" && p.Ref.Name == "investigate_session" ||
		p.Ref.Type == "ref/resource" && (strings.HasPrefix(p.Ref.URI, sessionURIPrefix) || strings.HasPrefix(p.Ref.URI, reportURIPrefix))):
		page, err := s.svc.ListRuns(ctx, service.ListRunsInput{Limit: 500})
		if err != nil {
			return nil, s.toolError("complete", err)
		}
		for _, r := range page.Runs {
			if strings.HasPrefix(r.SessionID, prefix) {
				values = append(values, r.SessionID)
			}
		}
	case p.Ref.Type == "ref/prompt" && p.Ref.Name == "cost_report" && p.Argument.Name == "agent":
		agents, err := s.svc.ListAgents(ctx)
		if err != nil {
			return nil, s.toolError("complete", err)
		}
		for _, a := range agents {
			if strings.HasPrefix(a.Name, prefix) {
				values = append(values, a.Name)
			}
		}
	case p.Ref.Type == "ref/prompt" && p.Ref.Name == "cost_report" && p.Argument.Name == "window":
		for _, w := range []string{"1h", "24h", "7d", "30d"} {
			if strings.HasPrefix(w, prefix) {
				values = append(values, w)
			}
		}
	}
	total := len(values)
	values = values[:min(len(values), maxCompletions)]
	if values == nil {
		values = []string{}
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: values, Total: total, HasMore: total > len(values)}}, nil
}

// listRecent is a receiving middleware: resources/list answers, on its
// first page, the organisation's recent sessions and investigation reports
// as resources a host can browse, beside the templates.
func (s *Server) listRecent(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil || method != "resources/list" {
			return res, err
		}
		lr, ok := req.(*mcp.ListResourcesRequest)
		out, ok2 := res.(*mcp.ListResourcesResult)
		if !ok || !ok2 || (lr.Params != nil && lr.Params.Cursor != "") {
			return res, nil
		}
		octx, err := s.orgContext(ctx, lr.Extra)
		if err != nil {
			return nil, err
		}
		page, err := s.svc.ListRuns(octx, service.ListRunsInput{Limit: maxListed})
		if agentscope.ErrorCode(err) == agentscope.EFORBIDDEN {
			return res, nil // a caller that may not read is listed no sessions or reports
		} else if err != nil {
			return nil, s.toolError("resources/list", err)
		}
		for _, r := range page.Runs {
			out.Resources = append(out.Resources, &mcp.Resource{
				URI: sessionURIPrefix + r.SessionID, Name: "session " + r.SessionID, Title: fmt.Sprintf("%s · %s · %s", r.Agent, r.SessionID, r.Status),
				Description: fmt.Sprintf("Run of %s, %s, %d events, $%s, started %s", r.Agent, r.Status, r.EventCount, r.CostUSD, r.CreatedAt.UTC().Format("2006-01-02 15:04 MST")),
				MIMEType:    "application/json",
			})
		}
		if rl, ok := s.svc.Store().(reportLister); ok {
			org, _ := agentscope.OrgFrom(octx)
			reports, err := rl.ListReports(octx, org, agentscope.ReportFilter{Limit: maxListed})
			if err != nil {
				return nil, s.toolError("resources/list", err)
			}
			for _, r := range reports {
				risk := string(r.RiskLevel)
				if r.Status != agentscope.ReportCompleted {
					risk = "investigation " + string(r.Status)
				}
				out.Resources = append(out.Resources, &mcp.Resource{
					// By the investigation's id: a session investigated twice
					// has two reports, each its own resource.
					URI: reportURIPrefix + r.SessionID, Name: "report " + r.SessionID, Title: fmt.Sprintf("Report on %s · %s", r.TargetSessionID, risk),
					Description: fmt.Sprintf("Investigation of %s's session %s: %s", r.Agent, r.TargetSessionID, risk), MIMEType: "application/json",
				})
			}
		}
		return out, nil
	}
}

// watches follows subscribed sessions. Each MCP session's subscription to
// a session URI is recorded with the caller's organisation; one hub
// subscription per organisation and URI serves all of them. go-sdk
// notifies by URI alone, so every notification carries its organisation in
// _meta and the sending middleware (onlyOwnUpdates) delivers it only to the
// MCP sessions that subscribed to that URI within that organisation (two
// organisations may each have a session of the same id), stripping the
// mark. A subscription ends by resources/unsubscribe, by the end of its
// subscriptions/listen request, or when its MCP session closes (go-sdk
// forgets a closed session's subscriptions without telling the handler, so
// a goroutine per subscribed MCP session waits for its end).
type watches struct {
	mu sync.Mutex
	// m are the hub followers, by organisation and URI.
	m map[watchKey]*watch
	// subs are the subscriptions, with their organisation.
	subs map[subKey]string
	// sessions are the MCP sessions with subscriptions whose end is awaited.
	sessions map[*mcp.ServerSession]bool
	closed   bool
	// running counts the followers' goroutines; changed is closed (and
	// replaced) whenever one ends.
	running int
	changed chan struct{}
}

type watchKey struct{ org, uri string }

type subKey struct {
	ss  *mcp.ServerSession
	uri string
}

type watch struct {
	subscribers int
	stop        chan struct{}
	done        chan struct{}
}

// orgMetaKey marks a resources/updated notification with the organisation
// whose commit caused it; onlyOwnUpdates removes it before sending.
const orgMetaKey = "agentscope.dev/org"

// updateInterval is the least time between two notifications of one
// watched session: commits in between are told in the next one, so a busy
// session does not make its subscribers re-read it for every batch.
const updateInterval = 200 * time.Millisecond

// subscribe starts notifying the caller of commits to a session of its
// organisation (agentscope://sessions/{id}); other URIs and unknown
// sessions are refused. Subscribing again to the same URI is a no-op.
func (s *Server) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	octx, err := s.orgContext(ctx, req.Extra)
	if err != nil {
		return err
	}
	uri := req.Params.URI
	sid, ok := strings.CutPrefix(uri, sessionURIPrefix)
	if !ok {
		return fmt.Errorf("only sessions can be subscribed to (%s{session_id}); got %q", sessionURIPrefix, uri)
	}
	if _, err := s.svc.GetRun(octx, sid); err != nil {
		if code := agentscope.ErrorCode(err); code == agentscope.ENOTFOUND || code == agentscope.EINVALID {
			return mcp.ResourceNotFoundError(uri)
		}
		return s.toolError("resources/subscribe", err)
	}
	if req.Session == nil {
		return errors.New("resources/subscribe needs an MCP session")
	}
	org, _ := agentscope.OrgFrom(octx)
	w := &s.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("the server is shutting down")
	}
	k := subKey{req.Session, uri}
	if prev, ok := w.subs[k]; ok {
		if prev == org {
			return nil
		}
		s.releaseLocked(prev, uri)
	}
	if w.subs == nil {
		w.subs, w.m, w.sessions = map[subKey]string{}, map[watchKey]*watch{}, map[*mcp.ServerSession]bool{}
	}
	w.subs[k] = org
	s.acquireLocked(org, sid, uri)
	if !w.sessions[req.Session] {
		w.sessions[req.Session] = true
		go func(ss *mcp.ServerSession) {
			_ = ss.Wait()
			s.dropSession(ss)
		}(req.Session)
	}
	return nil
}

// acquireLocked adds a subscriber to the watch of org's session, starting
// it if it is the first.
func (s *Server) acquireLocked(org, sid, uri string) {
	key := watchKey{org, uri}
	if w := s.watches.m[key]; w != nil {
		w.subscribers++
		return
	}
	w := &watch{subscribers: 1, stop: make(chan struct{}), done: make(chan struct{})}
	s.watches.m[key] = w
	s.watches.running++
	s.watches.signalLocked()
	sub := s.svc.Recorder().Hub().Subscribe(org, sid)
	go func() {
		defer s.watchEnded(w)
		defer sub.Close()
		var last time.Time
		for {
			select {
			case <-w.stop:
				return
			case <-sub.Ready:
			}
			if wait := updateInterval - time.Since(last); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-w.stop:
					t.Stop()
					return
				case <-t.C:
				}
			}
			sub.Take()
			last = time.Now()
			_ = s.MCP.ResourceUpdated(context.Background(), &mcp.ResourceUpdatedNotificationParams{URI: uri, Meta: mcp.Meta{orgMetaKey: org}})
		}
	}()
}

// watchEnded counts a follower's goroutine out.
func (s *Server) watchEnded(w *watch) {
	s.watches.mu.Lock()
	s.watches.running--
	s.watches.signalLocked()
	s.watches.mu.Unlock()
	close(w.done)
}

// signalLocked tells whoever waits on changed that running changed.
func (w *watches) signalLocked() {
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
}

// releaseLocked removes a subscriber from the watch of org's uri, stopping
// it with the last.
func (s *Server) releaseLocked(org, uri string) {
	key := watchKey{org, uri}
	w := s.watches.m[key]
	if w == nil {
		return
	}
	if w.subscribers--; w.subscribers == 0 {
		close(w.stop)
		delete(s.watches.m, key)
	}
}

// unsubscribe ends the caller's subscription to a URI, if it has one.
func (s *Server) unsubscribe(_ context.Context, req *mcp.UnsubscribeRequest) error {
	w := &s.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	k := subKey{req.Session, req.Params.URI}
	if org, ok := w.subs[k]; ok {
		delete(w.subs, k)
		s.releaseLocked(org, k.uri)
	}
	return nil
}

// dropSession ends every subscription of a closed MCP session.
func (s *Server) dropSession(ss *mcp.ServerSession) {
	w := &s.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, org := range w.subs {
		if k.ss == ss {
			delete(w.subs, k)
			s.releaseLocked(org, k.uri)
		}
	}
	delete(w.sessions, ss)
}

// onlyOwnUpdates is a sending middleware: a resources/updated notification
// reaches an MCP session only if it subscribed to that URI within the
// organisation that committed, and never shows the organisation mark.
func (s *Server) onlyOwnUpdates(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		r, ok := req.(*mcp.ServerRequest[*mcp.ResourceUpdatedNotificationParams])
		if method != "notifications/resources/updated" || !ok || r.Params == nil {
			return next(ctx, method, req)
		}
		org, marked := r.Params.Meta[orgMetaKey].(string)
		if !marked {
			return next(ctx, method, req)
		}
		s.watches.mu.Lock()
		subOrg, subscribed := s.watches.subs[subKey{r.Session, r.Params.URI}]
		s.watches.mu.Unlock()
		if !subscribed || subOrg != org {
			return nil, nil
		}
		p := *r.Params
		p.Meta = nil
		for k, v := range r.Params.Meta {
			if k != orgMetaKey {
				if p.Meta == nil {
					p.Meta = mcp.Meta{}
				}
				p.Meta[k] = v
			}
		}
		return next(ctx, method, &mcp.ServerRequest[*mcp.ResourceUpdatedNotificationParams]{Session: r.Session, Params: &p, Extra: r.Extra})
	}
}

// Watching reports how many sessions are followed for subscribers, for
// tests and health.
func (s *Server) Watching() int {
	s.watches.mu.Lock()
	defer s.watches.mu.Unlock()
	return len(s.watches.m)
}

// Close stops every watch and waits for their goroutines; later
// subscriptions are refused.
func (s *Server) Close() {
	s.watches.mu.Lock()
	s.watches.closed = true
	var done []chan struct{}
	for k, w := range s.watches.m {
		close(w.stop)
		done = append(done, w.done)
		delete(s.watches.m, k)
	}
	clear(s.watches.subs)
	s.watches.mu.Unlock()
	for _, d := range done {
		<-d
	}
}
