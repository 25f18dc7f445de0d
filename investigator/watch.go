package investigator

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/investigator/detect"
)

// The Watcher reacts to committed events in the background:
//   - with WatchOptions.LiveDetect, it runs the detectors live on running
//     sessions of organisations that have alert rules, and checks the
//     agents' budgets as costs are recorded, raising alerts;
//   - with WatchOptions.AutoInvestigate, it queues an investigation of
//     every run that ends failed or cancelled, or over one of its agent's
//     budgets (other than investigations).
//
// Observe is the recorder's observer: it only groups the batch by session
// and hands it to the watcher's goroutine, so the commit path pays a
// channel send; a full queue drops the batch with a warning (the detectors
// catch up from the store when they next see the session). The recorder
// is built before the investigator (which commits through it), so the
// Watcher is built first and Start gives it the investigator that does the
// work; until then, as after Stop, batches are dropped.

// watchQueue bounds the batches waiting for the watcher.
const watchQueue = 4096

// defaultIdleCheck is how often running sessions are checked for stalls.
const defaultIdleCheck = 30 * time.Second

type watchItem struct {
	org, sessionID string
	events         []agentscope.Event
	investigate    bool
}

// WatchOptions configure a Watcher.
type WatchOptions struct {
	// LiveDetect runs the detectors on running sessions and checks budgets
	// as costs are recorded, raising the organisation's alerts.
	LiveDetect bool
	// AutoInvestigate queues an investigation of every run that ends
	// failed or cancelled, or that recorded a BudgetWarning or
	// BudgetExceeded (AGENTSCOPE_AUTO_INVESTIGATE).
	AutoInvestigate bool
	// IdleCheck is how often live detection looks for stalled running
	// sessions (default 30s).
	IdleCheck time.Duration
	Logger    *slog.Logger
}

// Watcher is the recorder's observer that detects live and investigates
// automatically.
type Watcher struct {
	opts WatchOptions
	log  *slog.Logger
	// iv does the work; set by Start, read by the watcher's goroutine.
	iv *Investigator

	mu      sync.Mutex
	ch      chan watchItem
	stop    context.CancelFunc
	done    chan struct{}
	running bool
	// live and baselines are only touched by the watcher's goroutine.
	live      map[string]*liveState
	baselines map[string]cachedBaseline
}

// NewWatcher returns a watcher that drops what it observes until Start.
func NewWatcher(opts WatchOptions) *Watcher {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{opts: opts, log: opts.Logger.With("component", "investigator")}
}

// Observe implements a recorder observer (recorder.Options.Observers).
func (w *Watcher) Observe(org string, evs []agentscope.Event) {
	if !w.opts.AutoInvestigate && !w.opts.LiveDetect {
		return
	}
	var items []watchItem
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].SessionID == evs[i].SessionID {
			j++
		}
		it := watchItem{org: org, sessionID: evs[i].SessionID}
		if w.opts.LiveDetect {
			it.events = evs[i:j:j]
		}
		for _, e := range evs[i:j] {
			if w.opts.AutoInvestigate && e.Type == agentscope.SessionCompleted {
				it.investigate = true // failed, cancelled or over budget: autoInvestigate reads which
			}
		}
		if it.events != nil || it.investigate {
			items = append(items, it)
		}
		i = j
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running {
		return
	}
	for _, it := range items {
		select {
		case w.ch <- it:
		default:
			w.log.Warn("watcher queue full: batch skipped", "session_id", it.sessionID)
		}
	}
}

// Start starts the watcher's goroutine, which does its work with iv.
func (w *Watcher) Start(ctx context.Context, iv *Investigator) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running || (!w.opts.AutoInvestigate && !w.opts.LiveDetect) {
		return
	}
	w.iv = iv
	ctx, w.stop = context.WithCancel(context.WithoutCancel(ctx))
	w.ch, w.done, w.running = make(chan watchItem, watchQueue), make(chan struct{}), true
	go func() {
		defer close(w.done)
		every := w.opts.IdleCheck
		if every <= 0 {
			every = defaultIdleCheck
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case it := <-w.ch:
				if it.events != nil {
					w.observeLive(ctx, it.org, it.sessionID, it.events)
				}
				if it.investigate {
					w.autoInvestigate(ctx, it)
				}
			case now := <-tick.C:
				w.checkIdle(ctx, now)
			}
		}
	}()
}

// Stop stops it; pending batches are dropped.
func (w *Watcher) Stop() {
	w.mu.Lock()
	if !w.running {
		w.mu.Unlock()
		return
	}
	w.running = false
	w.stop()
	w.mu.Unlock()
	<-w.done
}

// checkIdle reports stalls of the running sessions followed.
func (w *Watcher) checkIdle(ctx context.Context, now time.Time) {
	for key, st := range w.live {
		org, sid := splitSessionKey(key)
		// The session may have ended through another process, whose
		// commits this one does not observe.
		if run, err := w.iv.store.GetRun(ctx, org, sid); err != nil || run.Status.Terminal() {
			delete(w.live, key)
			continue
		}
		fs := st.live.CheckIdle(now)
		if len(fs) == 0 {
			continue
		}
		if _, err := w.iv.opts.Alerts.RaiseAlerts(ctx, org, sid, alerts.FindingSignals(sid, st.agent, toDetectorFindings(fs))); err != nil {
			w.log.Warn("raise stall alert", "session_id", sid, "err", err)
		}
	}
}

// autoInvestigate queues an investigation of a run that ended badly,
// unless the run is itself an investigation (no recursion).
func (w *Watcher) autoInvestigate(ctx context.Context, it watchItem) {
	iv := w.iv
	octx := agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(it.org))
	run, err := iv.store.GetRun(octx, it.org, it.sessionID)
	if err != nil {
		w.log.Warn("auto-investigation: read run", "session_id", it.sessionID, "err", err)
		return
	}
	if run.Agent == agentscope.InvestigatorAgent || run.Metadata["investigates"] != "" {
		return
	}
	if run.Status == agentscope.StatusCompleted {
		// A completed run is investigated only if it went over a budget.
		over, err := iv.store.ListEvents(octx, it.org, it.sessionID, agentscope.EventFilter{
			Types: []agentscope.EventType{agentscope.BudgetWarning, agentscope.BudgetExceeded}, Limit: 1})
		if err != nil || len(over) == 0 {
			return
		}
	}
	inv, err := iv.Investigate(octx, it.sessionID)
	if err != nil {
		w.log.Warn("auto-investigation not queued", "session_id", it.sessionID, "err", err)
		return
	}
	w.log.Info("auto-investigation queued", "session_id", it.sessionID, "investigation", inv.SessionID, "status", run.Status)
}

// sessionKey names a session (or an agent) of an organisation.
func sessionKey(org, sid string) string { return org + "\x00" + sid }

// splitSessionKey undoes sessionKey.
func splitSessionKey(key string) (org, sid string) {
	org, sid, _ = strings.Cut(key, "\x00")
	return org, sid
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
func (w *Watcher) observeLive(ctx context.Context, org, sid string, evs []agentscope.Event) {
	iv := w.iv
	has, err := iv.opts.Alerts.HasAlertRules(ctx, org)
	if err != nil {
		w.log.Warn("live detection: read alert rules", "err", err)
		return
	}
	if !has {
		return // nothing would be raised
	}
	key := sessionKey(org, sid)
	st := w.live[key]
	ended := false
	costs := false
	for _, e := range evs {
		ended = ended || e.Type == agentscope.SessionCompleted
		costs = costs || e.Type == agentscope.CostRecorded
	}
	if st == nil {
		run, err := iv.store.GetRun(ctx, org, sid)
		if err != nil {
			return
		}
		if run.Agent == agentscope.InvestigatorAgent || agentscope.AnnotationsOnly(evs) {
			return // an investigation, or annotations (of an ended session)
		}
		base, err := w.baselineOf(ctx, org, run.Agent, sid)
		if err != nil {
			w.log.Warn("live detection: baseline", "session_id", sid, "err", err)
			return
		}
		live, err := detect.NewLive(sid, base, iv.detectConfig())
		if err != nil {
			w.log.Warn("live detection", "session_id", sid, "err", err)
			return
		}
		st = &liveState{live: live, agent: run.Agent}
		// Catch up with what the session recorded before this batch,
		// unless the batch is its beginning.
		if len(evs) > 0 && evs[0].Seq > 1 {
			all, err := iv.sessionEvents(ctx, org, sid)
			if err != nil {
				return
			}
			evs = all
			for _, e := range evs {
				ended = ended || e.Type == agentscope.SessionCompleted
			}
		}
		if !ended {
			w.keep(key, st)
		}
	}
	st.seen = time.Now()
	fs := st.live.Observe(evs)
	var sigs []alerts.Signal
	if len(fs) > 0 {
		sigs = alerts.FindingSignals(sid, st.agent, toDetectorFindings(fs))
	}
	if costs {
		if bs, err := iv.opts.Agents.GetBudgets(agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(org)), st.agent); err == nil {
			sigs = append(sigs, alerts.BudgetSignals(st.agent, bs)...)
		}
	}
	if len(sigs) > 0 {
		if _, err := iv.opts.Alerts.RaiseAlerts(ctx, org, sid, sigs); err != nil {
			w.log.Warn("raise alerts", "session_id", sid, "err", err)
		}
	}
	if ended {
		delete(w.live, key)
	}
}

// keep remembers a session's state, evicting the least recently seen when
// full. Only the watcher's goroutine calls it.
func (w *Watcher) keep(key string, st *liveState) {
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
func (w *Watcher) baselineOf(ctx context.Context, org, agent, sid string) (detect.Baseline, error) {
	key := sessionKey(org, agent)
	if c, ok := w.baselines[key]; ok && time.Since(c.at) < baselineTTL {
		return c.base, nil
	}
	base, err := w.iv.baseline(ctx, org, agent, sid)
	if err != nil {
		return base, err
	}
	if w.baselines == nil || len(w.baselines) >= liveSessions {
		w.baselines = map[string]cachedBaseline{}
	}
	w.baselines[key] = cachedBaseline{base: base, at: time.Now()}
	return base, nil
}
