package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
)

// The watcher reacts to committed events in the background:
//   - with Options.LiveDetect, it runs the detectors live on running
//     sessions of organisations that have alert rules, and checks the
//     agents' budgets as costs are recorded, raising alerts;
//   - with Options.AutoInvestigate, it queues an investigation of every
//     run that ends failed or cancelled, or over one of its agent's
//     budgets (other than investigations).
//
// Observe is the recorder's observer: it only groups the batch by session
// and hands it to the watcher's goroutine, so the commit path pays a
// channel send; a full queue drops the batch with a warning (the detectors
// catch up from the store when they next see the session).

// watchQueue bounds the batches waiting for the watcher.
const watchQueue = 4096

// defaultIdleCheck is how often running sessions are checked for stalls.
const defaultIdleCheck = 30 * time.Second

type watchItem struct {
	org, sessionID string
	events         []agentscope.Event
	investigate    bool
}

type watcher struct {
	mu      sync.Mutex
	ch      chan watchItem
	stop    context.CancelFunc
	done    chan struct{}
	running bool
	// live and baselines are only touched by the watcher's goroutine.
	live      map[string]*liveState
	baselines map[string]cachedBaseline
}

// Observe implements a recorder observer (recorder.Options.Observers).
func (rt *Runtime) Observe(org string, evs []agentscope.Event) {
	if !rt.opts.AutoInvestigate && !rt.opts.LiveDetect {
		return
	}
	var items []watchItem
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].SessionID == evs[i].SessionID {
			j++
		}
		it := watchItem{org: org, sessionID: evs[i].SessionID}
		if rt.opts.LiveDetect {
			it.events = evs[i:j:j]
		}
		for _, e := range evs[i:j] {
			if rt.opts.AutoInvestigate && e.Type == agentscope.SessionCompleted {
				it.investigate = true // failed, cancelled or over budget: autoInvestigate reads which
			}
		}
		if it.events != nil || it.investigate {
			items = append(items, it)
		}
		i = j
	}
	rt.watch.mu.Lock()
	defer rt.watch.mu.Unlock()
	if !rt.watch.running {
		return
	}
	for _, it := range items {
		select {
		case rt.watch.ch <- it:
		default:
			rt.log.Warn("watcher queue full: batch skipped", "session_id", it.sessionID)
		}
	}
}

// startWatcher starts the watcher's goroutine.
func (rt *Runtime) startWatcher(ctx context.Context) {
	w := &rt.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running || (!rt.opts.AutoInvestigate && !rt.opts.LiveDetect) {
		return
	}
	ctx, w.stop = context.WithCancel(context.WithoutCancel(ctx))
	w.ch, w.done, w.running = make(chan watchItem, watchQueue), make(chan struct{}), true
	go func() {
		defer close(w.done)
		every := rt.opts.IdleCheck
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
					rt.observeLive(ctx, it.org, it.sessionID, it.events)
				}
				if it.investigate {
					rt.autoInvestigate(ctx, it)
				}
			case now := <-tick.C:
				rt.checkIdle(ctx, now)
			}
		}
	}()
}

// stopWatcher stops it; pending batches are dropped.
func (rt *Runtime) stopWatcher() {
	w := &rt.watch
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
func (rt *Runtime) checkIdle(ctx context.Context, now time.Time) {
	for key, st := range rt.watch.live {
		org, sid := splitActiveKey(key)
		// The session may have ended through another process, whose
		// commits this one does not observe.
		if run, err := rt.store.GetRun(ctx, org, sid); err != nil || run.Status.Terminal() {
			delete(rt.watch.live, key)
			continue
		}
		fs := st.live.CheckIdle(now)
		if len(fs) == 0 {
			continue
		}
		if _, err := rt.raise(ctx, org, sid, findingSignals(sid, st.agent, toDetectorFindings(fs))); err != nil {
			rt.log.Warn("raise stall alert", "session_id", sid, "err", err)
		}
	}
}

// autoInvestigate queues an investigation of a run that ended badly,
// unless the run is itself an investigation (no recursion).
func (rt *Runtime) autoInvestigate(ctx context.Context, it watchItem) {
	octx := agentscope.WithOrg(ctx, it.org)
	run, err := rt.store.GetRun(octx, it.org, it.sessionID)
	if err != nil {
		rt.log.Warn("auto-investigation: read run", "session_id", it.sessionID, "err", err)
		return
	}
	if run.Agent == InvestigatorAgent || run.Metadata["investigates"] != "" {
		return
	}
	if run.Status == agentscope.StatusCompleted {
		// A completed run is investigated only if it went over a budget.
		over, err := rt.store.ListEvents(octx, it.org, it.sessionID, agentscope.EventFilter{
			Types: []agentscope.EventType{agentscope.BudgetWarning, agentscope.BudgetExceeded}, Limit: 1})
		if err != nil || len(over) == 0 {
			return
		}
	}
	inv, err := rt.Investigate(octx, it.sessionID)
	if err != nil {
		rt.log.Warn("auto-investigation not queued", "session_id", it.sessionID, "err", err)
		return
	}
	rt.log.Info("auto-investigation queued", "session_id", it.sessionID, "investigation", inv.SessionID, "status", run.Status)
}
