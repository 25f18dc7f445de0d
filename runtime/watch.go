package runtime

import (
	"context"
	"sync"

	"github.com/agentscope/agentscope"
)

// The watcher reacts to committed events: with Options.AutoInvestigate it
// queues an investigation of every run that ends failed or cancelled
// (other than investigations themselves). Observe is the recorder's
// observer: it only filters and hands work to the watcher's goroutine, so
// it adds nothing but a channel send to the commit path.

// watchQueue bounds the sessions waiting for the watcher; past it, a
// trigger is dropped with a warning rather than slowing commits.
const watchQueue = 1024

type watchItem struct {
	org, sessionID string
}

type watcher struct {
	mu      sync.Mutex
	ch      chan watchItem
	stop    context.CancelFunc
	done    chan struct{}
	running bool
}

// Observe implements a recorder observer (recorder.Options.Observers).
func (rt *Runtime) Observe(org string, evs []agentscope.Event) {
	if !rt.opts.AutoInvestigate {
		return
	}
	for _, e := range evs {
		if e.Type != agentscope.SessionCompleted || (e.Status != string(agentscope.StatusFailed) && e.Status != string(agentscope.StatusCancelled)) {
			continue
		}
		rt.watch.mu.Lock()
		if rt.watch.running {
			select {
			case rt.watch.ch <- watchItem{org, e.SessionID}:
			default:
				rt.log.Warn("auto-investigation skipped: too many pending", "session_id", e.SessionID)
			}
		}
		rt.watch.mu.Unlock()
	}
}

// startWatcher starts the watcher's goroutine.
func (rt *Runtime) startWatcher(ctx context.Context) {
	w := &rt.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running || !rt.opts.AutoInvestigate {
		return
	}
	ctx, w.stop = context.WithCancel(context.WithoutCancel(ctx))
	w.ch, w.done, w.running = make(chan watchItem, watchQueue), make(chan struct{}), true
	go func() {
		defer close(w.done)
		for {
			select {
			case <-ctx.Done():
				return
			case it := <-w.ch:
				rt.autoInvestigate(ctx, it)
			}
		}
	}()
}

// stopWatcher stops it; pending triggers are dropped.
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
	inv, err := rt.Investigate(octx, it.sessionID)
	if err != nil {
		rt.log.Warn("auto-investigation not queued", "session_id", it.sessionID, "err", err)
		return
	}
	rt.log.Info("auto-investigation queued", "session_id", it.sessionID, "investigation", inv.SessionID, "status", run.Status)
}
