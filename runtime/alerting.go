package runtime

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/runtime/detect"
)

// Alerts: signals (detector findings, investigation reports' risk levels,
// budget thresholds) are matched against the organisation's rules; each
// matched rule's alert is recorded as an Alert event in the session and
// queued for webhook delivery in the same transaction.

// rulesTTL is how long an organisation's rules are cached by the watcher.
const rulesTTL = 5 * time.Second

type ruleCache struct {
	mu    sync.Mutex
	rules map[string]cachedRules
}

type cachedRules struct {
	rules []agentscope.AlertRule
	at    time.Time
}

// enabledRules returns the organisation's enabled rules, cached briefly.
func (rt *Runtime) enabledRules(ctx context.Context, org string) ([]agentscope.AlertRule, error) {
	now := time.Now()
	rt.rules.mu.Lock()
	c, ok := rt.rules.rules[org]
	rt.rules.mu.Unlock()
	if ok && now.Sub(c.at) < rulesTTL {
		return c.rules, nil
	}
	all, err := rt.store.ListAlertRules(ctx, org)
	if err != nil {
		return nil, err
	}
	var on []agentscope.AlertRule
	for _, r := range all {
		if r.Enabled {
			on = append(on, r)
		}
	}
	rt.rules.mu.Lock()
	if rt.rules.rules == nil {
		rt.rules.rules = map[string]cachedRules{}
	}
	rt.rules.rules[org] = cachedRules{rules: on, at: now}
	rt.rules.mu.Unlock()
	return on, nil
}

// forgetRules drops the cache of an organisation's rules (after a change).
func (rt *Runtime) forgetRules(org string) {
	rt.rules.mu.Lock()
	delete(rt.rules.rules, org)
	rt.rules.mu.Unlock()
}

// raise records and queues the alerts that sigs trigger, in session sid.
// It returns how many alerts were raised.
func (rt *Runtime) raise(ctx context.Context, org, sid string, sigs []alerts.Signal) (int, error) {
	rules, err := rt.enabledRules(ctx, org)
	if err != nil || len(rules) == 0 {
		return 0, err
	}
	now := rt.now()
	var as []alerts.Alert
	for _, s := range sigs {
		s.OrgID = org
		for _, r := range alerts.Match(rules, s) {
			as = append(as, alerts.NewAlert(r, s, now))
		}
	}
	if len(as) == 0 {
		return 0, nil
	}
	evs := make([]agentscope.Event, len(as))
	for i, a := range as {
		evs[i] = a.Event()
		evs[i].TS = now
	}
	res := rt.store.AppendTx(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: sid, Events: evs, KeepFirst: true}}, func(ctx context.Context, tx *sql.Tx) error {
		_, err := alerts.Enqueue(ctx, rt.river, tx, as, &river.InsertOpts{Queue: rt.opts.Queue})
		return err
	})[0]
	if res.Err != nil {
		return 0, fmt.Errorf("raise %d alerts: %w", len(as), res.Err)
	}
	rt.publish(org, res)
	n := 0
	for _, d := range res.Duplicate {
		if !d {
			n++
		}
	}
	return n, nil
}

// findingSignals turns detector findings about a session into signals.
func findingSignals(sid, agent string, fs []agentscope.DetectorFinding) []alerts.Signal {
	out := make([]alerts.Signal, 0, len(fs))
	for _, f := range fs {
		key := f.Kind
		if len(f.EventIDs) > 0 {
			key = f.EventIDs[0]
		}
		out = append(out, alerts.Signal{SessionID: sid, Agent: agent, Kind: f.Kind, Severity: alerts.Severity(f.Severity),
			Title: f.Title, Detail: f.Detail, Key: key})
	}
	return out
}

// reportSignals are an investigation report's signals: its risk level and
// the detectors' findings.
func reportSignals(r agentscope.Report) []alerts.Signal {
	detail := r.Summary
	if r.Status == agentscope.ReportFailed {
		detail = "investigation failed: " + r.Error
	}
	sigs := []alerts.Signal{{SessionID: r.TargetSessionID, Agent: r.Agent, Kind: agentscope.AlertKindRisk, RiskLevel: alerts.Severity(r.RiskLevel),
		Title: fmt.Sprintf("Investigation of %s: %s risk", r.TargetSessionID, r.RiskLevel), Detail: detail, Key: r.SessionID + ":" + string(r.Status)}}
	return append(sigs, findingSignals(r.TargetSessionID, r.Agent, r.DetectorFindings)...)
}

// budgetSignals are the agent's budgets' spend levels, one per budget and
// period, keyed so a rule alerts once per period.
func budgetSignals(agent string, bs []agentscope.BudgetStatus) []alerts.Signal {
	var out []alerts.Signal
	for _, b := range bs {
		if b.LimitUSD <= 0 {
			continue
		}
		pct := float64(b.SpentUSD) / float64(b.LimitUSD) * 100
		out = append(out, alerts.Signal{Agent: agent, Kind: agentscope.AlertKindBudget, BudgetPercent: pct,
			Title:  fmt.Sprintf("%s has spent %.0f%% of its %s budget", agent, pct, b.Period),
			Detail: fmt.Sprintf("$%s of $%s this %s (since %s)", b.SpentUSD, b.LimitUSD, b.Period, b.PeriodStart.Format(time.RFC3339)),
			Key:    fmt.Sprintf("%s|%s|%s", agent, b.Period, b.PeriodStart.Format(time.RFC3339))})
	}
	return out
}

// liveSessions bounds the running sessions the watcher follows.
const liveSessions = 10000

// liveState is the watcher's detection state of one running session.
type liveState struct {
	live  *detect.Live
	agent string
	seen  time.Time
}

// observeLive runs live detection and budget checks on one committed
// batch of one session, raising alerts for new findings. It runs in the
// watcher's goroutine, never in the commit path.
func (rt *Runtime) observeLive(ctx context.Context, org, sid string, evs []agentscope.Event) {
	rules, err := rt.enabledRules(ctx, org)
	if err != nil {
		rt.log.Warn("live detection: read alert rules", "err", err)
		return
	}
	if len(rules) == 0 {
		return // nothing would be raised
	}
	key := activeKey(org, sid)
	st := rt.watch.live[key]
	ended := false
	costs := false
	for _, e := range evs {
		ended = ended || e.Type == agentscope.SessionCompleted
		costs = costs || e.Type == agentscope.CostRecorded
	}
	if st == nil {
		run, err := rt.store.GetRun(ctx, org, sid)
		if err != nil {
			return
		}
		if run.Agent == InvestigatorAgent || agentscope.AnnotationsOnly(evs) {
			return // an investigation, or annotations (of an ended session)
		}
		base, err := rt.watch.baselineOf(ctx, rt, org, run.Agent, sid)
		if err != nil {
			rt.log.Warn("live detection: baseline", "session_id", sid, "err", err)
			return
		}
		cfg := rt.opts.Detect
		cfg.Index = rt.opts.SplunkIndex
		live, err := detect.NewLive(sid, base, cfg)
		if err != nil {
			rt.log.Warn("live detection", "session_id", sid, "err", err)
			return
		}
		st = &liveState{live: live, agent: run.Agent}
		// Catch up with what the session recorded before this batch,
		// unless the batch is its beginning.
		if len(evs) > 0 && evs[0].Seq > 1 {
			all, err := rt.SessionEvents(ctx, org, sid)
			if err != nil {
				return
			}
			evs = all
			for _, e := range evs {
				ended = ended || e.Type == agentscope.SessionCompleted
			}
		}
		if !ended {
			rt.watch.keep(key, st)
		}
	}
	st.seen = time.Now()
	fs := st.live.Observe(evs)
	var sigs []alerts.Signal
	if len(fs) > 0 {
		sigs = findingSignals(sid, st.agent, toDetectorFindings(fs))
	}
	if costs {
		if bs, err := rt.GetBudgets(agentscope.WithOrg(ctx, org), st.agent); err == nil {
			sigs = append(sigs, budgetSignals(st.agent, bs)...)
		}
	}
	if len(sigs) > 0 {
		if _, err := rt.raise(ctx, org, sid, sigs); err != nil {
			rt.log.Warn("raise alerts", "session_id", sid, "err", err)
		}
	}
	if ended {
		delete(rt.watch.live, key)
	}
}

// keep remembers a session's state, evicting the least recently seen when
// full. Only the watcher's goroutine calls it.
func (w *watcher) keep(key string, st *liveState) {
	if w.live == nil {
		w.live = map[string]*liveState{}
	}
	if len(w.live) >= liveSessions {
		var oldest string
		var at time.Time
		for k, s := range w.live {
			if oldest == "" || s.seen.Before(at) {
				oldest, at = k, s.seen
			}
		}
		delete(w.live, oldest)
	}
	w.live[key] = st
}

// baselineTTL is how long the watcher reuses an agent's baseline: reading
// an agent's recent sessions for every session it starts would cost more
// than the detection itself.
const baselineTTL = 5 * time.Minute

type cachedBaseline struct {
	base detect.Baseline
	at   time.Time
}

// baselineOf returns the agent's baseline, read at most every baselineTTL.
// Only the watcher's goroutine calls it. The session being followed is
// left out of a freshly read baseline; a cached one was read before it
// ended, so it cannot hold it either.
func (w *watcher) baselineOf(ctx context.Context, rt *Runtime, org, agent, sid string) (detect.Baseline, error) {
	key := activeKey(org, agent)
	if c, ok := w.baselines[key]; ok && time.Since(c.at) < baselineTTL {
		return c.base, nil
	}
	base, err := rt.baseline(ctx, org, agent, sid)
	if err != nil {
		return base, err
	}
	if w.baselines == nil || len(w.baselines) >= liveSessions {
		w.baselines = map[string]cachedBaseline{}
	}
	w.baselines[key] = cachedBaseline{base: base, at: time.Now()}
	return base, nil
}
