package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/pricing"
)

// recordTimeout bounds one commit of a call's events.
const recordTimeout = 30 * time.Second

// job is one batch to commit (or a session to end), as its caller.
type job struct {
	caller    agentscope.Principal
	sessionID string
	agent     string
	events    []agentscope.Event
	end       bool // end the session instead
	cost      bool // events hold a CostRecorded: the agent's budget check is stale after it
	done      chan struct{}
	merged    int // further jobs whose events were appended to this one's
}

// maxMergedEvents bounds the events of jobs merged into one commit.
const maxMergedEvents = 512

// mergeable reports whether n's events may be committed with j's: the
// same session, agent and caller, and room left.
func (j *job) mergeable(n job) bool {
	return !j.end && !n.end && j.done == nil && n.done == nil && j.sessionID == n.sessionID && j.agent == n.agent &&
		j.caller.OrgID == n.caller.OrgID && j.caller.Kind == n.caller.Kind && j.caller.KeyID == n.caller.KeyID &&
		j.caller.UserID == n.caller.UserID && j.caller.GrantID == n.caller.GrantID && len(j.events)+len(n.events) <= maxMergedEvents
}

// recorderQueue commits the gateway's records off the calls' path: a
// bounded queue per shard, one worker each, a session always on the same
// shard so its events keep their order.
type recorderQueue struct {
	g      *Gateway
	shards []chan job
	wg     sync.WaitGroup

	// orgs holds each organisation's counters (*counters).
	orgs sync.Map
}

// counters are one organisation's Stats.
type counters struct {
	calls, recorded, dropped, failed, capErrors atomic.Uint64
	lastErr                                     atomic.Value // string
}

func (q *recorderQueue) of(org string) *counters {
	if c, ok := q.orgs.Load(org); ok {
		return c.(*counters)
	}
	c, _ := q.orgs.LoadOrStore(org, &counters{})
	return c.(*counters)
}

const recordShards = 4

func newRecorderQueue(g *Gateway, size int) *recorderQueue {
	q := &recorderQueue{g: g}
	for range recordShards {
		ch := make(chan job, max(1, size/recordShards))
		q.shards = append(q.shards, ch)
		q.wg.Go(func() { q.serve(ch) })
	}
	return q
}

func (q *recorderQueue) shard(sessionID string) chan job {
	h := fnv.New32a()
	_, _ = h.Write([]byte(sessionID))
	return q.shards[h.Sum32()%recordShards]
}

// put queues j without waiting: a full queue drops it, counted.
func (q *recorderQueue) put(j job) {
	select {
	case q.shard(j.sessionID) <- j:
	default:
		c := q.of(j.caller.OrgID)
		c.dropped.Add(1)
		c.lastErr.Store("recording queue full: a call's record was dropped")
	}
}

// serve commits the jobs of one shard in order. The jobs queued behind
// one for the same session are committed with it, as one commit: under
// load the queue holds many calls of a session, and one commit of all of
// them costs the store about what one of them alone does.
func (q *recorderQueue) serve(ch chan job) {
	for j := range ch {
		for {
			var next job
			var more, ok bool
			select {
			case next, ok = <-ch:
				more = true
			default:
			}
			switch {
			case !more:
				q.run(j)
			case !ok:
				q.run(j)
				return
			case j.mergeable(next):
				j.events = append(j.events, next.events...)
				j.cost = j.cost || next.cost
				j.merged += 1 + next.merged
				continue
			default:
				q.run(j)
				j = next
				continue
			}
			break
		}
	}
}

func (q *recorderQueue) run(j job) {
	if j.done != nil {
		close(j.done)
		return
	}
	ctx, cancel := context.WithTimeout(agentscope.WithPrincipal(context.Background(), j.caller), recordTimeout)
	defer cancel()
	var err error
	if j.end {
		err = q.g.svc.EndGatewaySession(ctx, j.sessionID)
	} else {
		err = q.g.svc.RecordGateway(ctx, j.sessionID, j.agent, j.events)
	}
	c := q.of(j.caller.OrgID)
	if err != nil {
		c.failed.Add(uint64(1 + j.merged))
		c.lastErr.Store(agentscope.ErrorMessage(err))
		q.g.log.Warn("gateway could not record", "session_id", j.sessionID, "err", agentscope.ErrorMessage(err))
		return
	}
	c.recorded.Add(uint64(1 + j.merged))
	if j.cost {
		q.g.forgetCap(j.caller.OrgID, j.agent)
	}
}

func (q *recorderQueue) end(st *sessionState) {
	q.put(job{caller: st.caller, sessionID: st.id, agent: st.agent, end: true})
}

func (q *recorderQueue) capCheckFailed(org string, err error) {
	c := q.of(org)
	c.capErrors.Add(1)
	c.lastErr.Store("budget check: " + agentscope.ErrorMessage(err))
}

// flush waits until what every shard holds now is done.
func (q *recorderQueue) flush(ctx context.Context) error {
	for _, ch := range q.shards {
		done := make(chan struct{})
		select {
		case ch <- job{done: done}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (q *recorderQueue) close() {
	for _, ch := range q.shards {
		close(ch)
	}
	q.wg.Wait()
}

func (q *recorderQueue) stats(org string) Stats {
	c := q.of(org)
	s := Stats{Calls: c.calls.Load(), Recorded: c.recorded.Load(), Dropped: c.dropped.Load(), Failed: c.failed.Load(), CapCheckErrors: c.capErrors.Load()}
	s.LastError, _ = c.lastErr.Load().(string)
	return s
}

// recordInvoked queues the call's ModelInvoked, after a ToolReturned for
// each result the request carries of a tool call the session is waiting
// for.
func (g *Gateway) recordInvoked(st *sessionState, span, provider string, req callRequest, at time.Time) {
	g.rec.of(st.caller.OrgID).calls.Add(1)
	var evs []agentscope.Event
	g.mu.Lock()
	for _, r := range req.results {
		p, ok := st.pending[r.callID]
		if !ok {
			continue
		}
		delete(st.pending, r.callID)
		ms := durationMS(at.Sub(p.at))
		ev := agentscope.Event{EventID: agentscope.NewEventID(), Type: agentscope.ToolReturned, TS: at.UTC(), SpanID: newSpanID(), ParentSpanID: span,
			Tool: p.tool, CallID: r.callID, DurationMS: &ms, Status: "ok", Result: r.content}
		if r.isError {
			ev.Status = "error"
		}
		evs = append(evs, ev)
	}
	g.mu.Unlock()
	inv := agentscope.Event{EventID: agentscope.NewEventID(), Type: agentscope.ModelInvoked, TS: at.UTC(), SpanID: span,
		Provider: provider, Model: nonEmpty(req.model, "unknown"), Input: req.input}
	if req.inputOmitted > 0 {
		// Said rather than silently missing, as the MCP proxy says of
		// the arguments it leaves out.
		inv.Attributes = map[string]any{"input_omitted_bytes": json.Number(strconv.Itoa(req.inputOmitted)),
			"input_limit_bytes": json.Number(strconv.Itoa(maxRecordedInput))}
	}
	evs = append(evs, inv)
	g.rec.put(job{caller: st.caller, sessionID: st.id, agent: st.agent, events: evs})
}

// recordFailed queues the ModelCompleted of a call no provider answered.
func (g *Gateway) recordFailed(st *sessionState, span, provider string, req callRequest, start time.Time, msg string) {
	now := g.opts.Now()
	ms := durationMS(now.Sub(start))
	zero := int64(0)
	g.countModelCall(provider, nonEmpty(req.model, "unknown"), false, now.Sub(start), nil)
	g.rec.put(job{caller: st.caller, sessionID: st.id, agent: st.agent, events: []agentscope.Event{{
		EventID: agentscope.NewEventID(), Type: agentscope.ModelCompleted, TS: now.UTC(), SpanID: span, Provider: provider,
		Model: nonEmpty(req.model, "unknown"), DurationMS: &ms, TokensIn: &zero, TokensOut: &zero, Error: msg}}})
}

// recordCompleted queues the call's ModelCompleted, its CostRecorded when
// the usage and the model's price are known, and a ToolCalled for each
// tool call the model asks for.
func (g *Gateway) recordCompleted(st *sessionState, span, provider string, req callRequest, res *callResult, status int, start time.Time, copyErr error) {
	now := g.opts.Now()
	ms := durationMS(now.Sub(start))
	model := nonEmpty(res.model, nonEmpty(req.model, "unknown"))
	ev := agentscope.Event{EventID: agentscope.NewEventID(), Type: agentscope.ModelCompleted, TS: now.UTC(), SpanID: span, Provider: provider, Model: model,
		DurationMS: &ms, FinishReason: res.finish}
	attrs := map[string]any{"source": "gateway", "status_code": json.Number(strconv.Itoa(status))}
	if req.stream {
		attrs["stream"] = true
	}
	if res.text.Len() > 0 {
		ev.Output, _ = json.Marshal(res.text.String())
	}
	switch {
	case status >= 400:
		ev.Error = fmt.Sprintf("provider answered %d %s", status, http.StatusText(status))
		if res.errMsg != "" && status != http.StatusUnauthorized && status != http.StatusForbidden {
			ev.Error += ": " + truncate(res.errMsg, 1024)
		}
	case copyErr != nil:
		ev.Error = "the answer was cut off: " + copyErr.Error()
	case res.errMsg != "":
		ev.Error = truncate(res.errMsg, 1024)
	}
	var evs []agentscope.Event
	cost := false
	if u := res.usage; u != nil && (u.in < 0 || u.out < 0 || u.cacheRead < 0 || u.cacheWrite < 0 || u.reasoning < 0) {
		attrs["usage_error"] = "the provider reported negative token counts"
		res.usage = nil
	}
	if u := res.usage; u != nil {
		ev.TokensIn, ev.TokensOut = &u.in, &u.out
		if u.cacheRead > 0 {
			ev.CacheReadTokens = &u.cacheRead
		}
		if u.cacheWrite > 0 {
			ev.CacheWriteTokens = &u.cacheWrite
		}
		if u.reasoning > 0 {
			ev.ReasoningTokens = &u.reasoning
		}
		price, known := g.opts.Pricing.Lookup(provider, model)
		var amount agentscope.USD
		var err error
		if known {
			amount, err = price.Cost(pricing.Usage{InputTokens: u.in, OutputTokens: u.out, CacheReadTokens: u.cacheRead, CacheWriteTokens: u.cacheWrite})
		}
		switch {
		case !known:
			attrs["cost_unknown"] = true
		case err != nil:
			attrs["cost_unknown"] = true
			attrs["cost_error"] = err.Error()
		default:
			cost = true
			attrs["cost_usd"] = json.Number(amount.String())
			evs = append(evs, agentscope.Event{EventID: agentscope.NewEventID(), Type: agentscope.CostRecorded, TS: now.UTC(), SpanID: span,
				AmountUSD: &amount, Currency: "USD", Provider: provider, Model: model, Source: "agentscope-pricing/" + g.opts.Pricing.Version})
		}
	} else {
		zero := int64(0)
		ev.TokensIn, ev.TokensOut = &zero, &zero
		if status < 400 {
			attrs["usage_unknown"] = true
		}
	}
	ev.Attributes = attrs
	evs = append([]agentscope.Event{ev}, evs...)
	g.mu.Lock()
	for _, c := range res.calls {
		if c.id == "" {
			continue
		}
		evs = append(evs, agentscope.Event{EventID: agentscope.NewEventID(), Type: agentscope.ToolCalled, TS: now.UTC(), SpanID: newSpanID(), ParentSpanID: span,
			Tool: nonEmpty(c.name, "unnamed"), CallID: c.id, Arguments: c.args})
		if st.pending == nil {
			st.pending = map[string]pendingCall{}
		}
		if len(st.pending) < maxPending {
			st.pending[c.id] = pendingCall{tool: nonEmpty(c.name, "unnamed"), at: now}
		}
	}
	g.mu.Unlock()
	g.countModelCall(provider, model, status < 400 && copyErr == nil, now.Sub(start), evs)
	g.rec.put(job{caller: st.caller, sessionID: st.id, agent: st.agent, events: evs, cost: cost})
}

func durationMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
