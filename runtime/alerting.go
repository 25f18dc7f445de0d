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
)

// Alerts: signals (detector findings, investigation reports' risk levels,
// budget thresholds) are matched against the organisation's rules; each
// matched rule's alert is recorded as an Alert event in the session and
// queued for webhook delivery in the same transaction. The investigator
// raises them (package alerts builds the signals).

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

// HasAlertRules reports whether the organisation has enabled alert rules
// (read through a short cache): without, no signal would raise an alert.
func (rt *Runtime) HasAlertRules(ctx context.Context, org string) (bool, error) {
	rules, err := rt.enabledRules(ctx, org)
	return len(rules) > 0, err
}

// RaiseAlerts records and queues the alerts that sigs trigger under the
// organisation's enabled rules, in session sid. It returns how many alerts
// were raised.
func (rt *Runtime) RaiseAlerts(ctx context.Context, org, sid string, sigs []alerts.Signal) (int, error) {
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
