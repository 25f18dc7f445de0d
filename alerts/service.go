package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/internal/netguard"
)

// Store keeps the organisations' alert rules and records the alerts raised.
// *sqlstore.Store implements it.
type Store interface {
	CreateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	UpdateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	GetAlertRule(ctx context.Context, orgID, id string) (agentscope.AlertRule, error)
	ListAlertRules(ctx context.Context, orgID string) ([]agentscope.AlertRule, error)
	DeleteAlertRule(ctx context.Context, orgID, id string) error
	// AppendTx appends events and runs hook in the same transaction.
	AppendTx(ctx context.Context, reqs []agentscope.AppendRequest, hook func(ctx context.Context, tx *sql.Tx) error) []agentscope.AppendResult
	// StoredEventIDs returns those of eventIDs the session has stored:
	// the alerts raised before, which are neither recorded nor queued
	// again.
	StoredEventIDs(ctx context.Context, orgID, sessionID string, eventIDs []string) ([]string, error)
}

// Publisher hands committed events to live subscribers (recorder.Hub).
type Publisher interface {
	Publish(orgID string, events []agentscope.Event)
}

// Options configure a Service. Store and River are required.
type Options struct {
	Store Store
	// River queues the deliveries in the transaction that records the
	// alerts: the runtime's client, whose workers include the delivery
	// worker (AddWorkers).
	River *river.Client[*sql.Tx]
	// Queue is the River queue of the deliveries (default Queue).
	Queue string
	// Hub publishes the Alert events raised to live subscribers; nil
	// publishes nothing.
	Hub Publisher
	// Network is what webhooks may reach (CheckDestination when a rule is
	// saved); the delivery worker's Deps.Network should be the same.
	Network netguard.Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics counts the Alert events raised as ingested (they are
	// appended in their deliveries' transaction, not through the
	// recorder); nil counts nothing.
	Metrics *metrics.Metrics
}

// Service keeps an organisation's alert rules, for the HTTP API, the MCP
// tools and the CLI alike, and raises the alerts that signals trigger under
// them: each matched rule's alert is recorded as an Alert event in the
// session and queued for webhook delivery in the same transaction.
type Service struct {
	opts  Options
	rules ruleCache
}

// NewService validates opts and returns the service.
func NewService(opts Options) (*Service, error) {
	if opts.Store == nil || opts.River == nil {
		return nil, errors.New("alerts: Store and River are required")
	}
	if opts.Queue == "" {
		opts.Queue = Queue
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts}, nil
}

// CreateAlertRule stores r as a new rule of the caller's organisation and
// returns it with its secret: the only time the secret is shown.
func (s *Service) CreateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionManageAlerts)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	if err := CheckDestination(r.URL, s.opts.Network); err != nil {
		return agentscope.AlertRule{}, err
	}
	r.OrgID = org
	r, err = s.opts.Store.CreateAlertRule(ctx, r)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	s.forgetRules(org)
	r.URL = agentscope.RedactURL(r.URL)
	return r, nil
}

// UpdateAlertRule replaces rule id's settings with r's; its secret is kept
// unless r has a new one, and so is its webhook URL when r's is empty or
// is the redacted form rules are shown with (scheme and host): a rule read
// and written back unchanged must not lose the path that holds, for Slack,
// the webhook's token.
func (s *Service) UpdateAlertRule(ctx context.Context, id string, r agentscope.AlertRule) (agentscope.AlertRule, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionManageAlerts)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	if r.URL == "" || r.URL == agentscope.RedactURL(r.URL) {
		old, err := s.opts.Store.GetAlertRule(ctx, org, id)
		if err != nil {
			return agentscope.AlertRule{}, err
		}
		if r.URL == "" || r.URL == agentscope.RedactURL(old.URL) {
			r.URL = old.URL
		}
	}
	if err := CheckDestination(r.URL, s.opts.Network); err != nil {
		return agentscope.AlertRule{}, err
	}
	r.OrgID, r.ID = org, id
	r, err = s.opts.Store.UpdateAlertRule(ctx, r)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	s.forgetRules(org)
	return shown(r), nil
}

// ListAlertRules lists the organisation's rules, without secrets.
func (s *Service) ListAlertRules(ctx context.Context) ([]agentscope.AlertRule, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return nil, err
	}
	rs, err := s.opts.Store.ListAlertRules(ctx, org)
	for i := range rs {
		rs[i] = shown(rs[i])
	}
	return rs, err
}

// GetAlertRule returns one rule, without its secret.
func (s *Service) GetAlertRule(ctx context.Context, id string) (agentscope.AlertRule, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return agentscope.AlertRule{}, err
	}
	r, err := s.opts.Store.GetAlertRule(ctx, org, id)
	return shown(r), err
}

// DeleteAlertRule deletes a rule; its pending deliveries are cancelled.
func (s *Service) DeleteAlertRule(ctx context.Context, id string) error {
	org, err := agentscope.Authorize(ctx, agentscope.ActionManageAlerts)
	if err != nil {
		return err
	}
	if err := s.opts.Store.DeleteAlertRule(ctx, org, id); err != nil {
		return err
	}
	s.forgetRules(org)
	return nil
}

// shown is a rule as listed: without its secret and with the webhook's
// path (which holds Slack's token) hidden.
func shown(r agentscope.AlertRule) agentscope.AlertRule {
	r.Secret = ""
	r.URL = agentscope.RedactURL(r.URL)
	return r
}

// rulesTTL is how long an organisation's enabled rules are cached for
// raising alerts; a change made here drops the cache at once.
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
func (s *Service) enabledRules(ctx context.Context, org string) ([]agentscope.AlertRule, error) {
	now := time.Now()
	s.rules.mu.Lock()
	c, ok := s.rules.rules[org]
	s.rules.mu.Unlock()
	if ok && now.Sub(c.at) < rulesTTL {
		return c.rules, nil
	}
	all, err := s.opts.Store.ListAlertRules(ctx, org)
	if err != nil {
		return nil, err
	}
	var on []agentscope.AlertRule
	for _, r := range all {
		if r.Enabled {
			on = append(on, r)
		}
	}
	s.rules.mu.Lock()
	if s.rules.rules == nil {
		s.rules.rules = map[string]cachedRules{}
	}
	s.rules.rules[org] = cachedRules{rules: on, at: now}
	s.rules.mu.Unlock()
	return on, nil
}

// forgetRules drops the cache of an organisation's rules (after a change).
func (s *Service) forgetRules(org string) {
	s.rules.mu.Lock()
	delete(s.rules.rules, org)
	s.rules.mu.Unlock()
}

// HasAlertRules reports whether the organisation has enabled alert rules
// (read through a short cache): without, no signal would raise an alert.
func (s *Service) HasAlertRules(ctx context.Context, org string) (bool, error) {
	rules, err := s.enabledRules(ctx, org)
	return len(rules) > 0, err
}

// RaiseAlerts records and queues the alerts that sigs trigger under the
// organisation's enabled rules, in session sid. It returns how many alerts
// were raised: an alert raised before (the same rule, session, kind and
// key) is neither recorded nor delivered again.
func (s *Service) RaiseAlerts(ctx context.Context, org, sid string, sigs []Signal) (int, error) {
	return s.raise(ctx, org, sid, sigs, nil)
}

// RaisePlanLimitAlerts raises the alerts of u's plan-limit signals
// (PlanLimitSignals) under the organisation's enabled rules, in its
// session of u's period (PlanLimitSessionID), which the first alert of the
// period starts. Their events are Uncounted: an alert about a limit never
// moves the usage it reports, nor is refused by it. orgName names the
// organisation in the alerts (its id when empty).
func (s *Service) RaisePlanLimitAlerts(ctx context.Context, orgName string, u agentscope.BillingUsage) (int, error) {
	sigs := PlanLimitSignals(orgName, u)
	if len(sigs) == 0 {
		return 0, nil
	}
	now := s.opts.Now().UTC()
	// The session ends with its period: retention, which deletes sessions
	// that ended longer ago than the plan keeps them, must not delete it
	// while its alerts are what keeps them from being raised again.
	end := u.PeriodEnd
	if end.Before(now) {
		end = now
	}
	return s.raise(ctx, u.OrgID, PlanLimitSessionID(u.Period), sigs, &agentscope.Run{
		Agent: PlanLimitAgent, Status: agentscope.StatusRunning, CreatedAt: now, StartedAt: &now, EndedAt: &end,
		Metadata: map[string]string{"source": "billing", "period": u.Period}})
}

// raise is RaiseAlerts. With ledger, the alerts' session is AgentScope's
// own: started (as ledger, and ended as of ledger.EndedAt: alerts may be
// recorded after the end) by the first alert recorded in it, and neither
// counted in the organisation's usage nor refused for its limits.
func (s *Service) raise(ctx context.Context, org, sid string, sigs []Signal, ledger *agentscope.Run) (int, error) {
	rules, err := s.enabledRules(ctx, org)
	if err != nil || len(rules) == 0 {
		return 0, err
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	var as []Alert
	for _, sg := range sigs {
		sg.OrgID = org
		for _, r := range Match(rules, sg) {
			as = append(as, NewAlert(r, sg, now))
		}
	}
	if as, err = s.unrecorded(ctx, org, sid, as); err != nil || len(as) == 0 {
		return 0, err
	}
	evs := make([]agentscope.Event, len(as))
	for i, a := range as {
		evs[i] = a.Event()
		evs[i].TS = now
	}
	req := agentscope.AppendRequest{OrgID: org, SessionID: sid, Events: evs, KeepFirst: true, Bookkeeping: true, Uncounted: ledger != nil}
	res := s.appendAndQueue(ctx, req, as)
	if ledger != nil && agentscope.ErrorCode(res.Err) == agentscope.ENOTFOUND {
		// The period's first alert starts the session. Should another
		// process start it meanwhile (ECONFLICT), the alerts go into it.
		start := req
		start.Start = ledger
		start.Events = append([]agentscope.Event{{EventID: sid + "-started", Type: agentscope.SessionStarted, TS: now, Agent: ledger.Agent}}, evs...)
		start.Update = &agentscope.RunUpdate{Status: agentscope.StatusCompleted, At: ledger.EndedAt}
		if res = s.appendAndQueue(ctx, start, as); agentscope.ErrorCode(res.Err) == agentscope.ECONFLICT {
			res = s.appendAndQueue(ctx, req, as)
		}
	}
	if res.Err != nil {
		return 0, fmt.Errorf("raise %d alerts: %w", len(as), res.Err)
	}
	raised := res.Appended()
	s.opts.Metrics.Ingested(len(raised))
	if s.opts.Hub != nil {
		s.opts.Hub.Publish(org, raised)
	}
	n := 0
	for _, ev := range raised {
		if ev.Type == EventAlert {
			n++
		}
	}
	return n, nil
}

// appendAndQueue appends req and queues the deliveries of as in one
// transaction.
func (s *Service) appendAndQueue(ctx context.Context, req agentscope.AppendRequest, as []Alert) agentscope.AppendResult {
	return s.opts.Store.AppendTx(ctx, []agentscope.AppendRequest{req}, func(ctx context.Context, tx *sql.Tx) error {
		_, err := Enqueue(ctx, s.opts.River, tx, as, &river.InsertOpts{Queue: s.opts.Queue})
		return err
	})[0]
}

// unrecorded returns those of as that session sid has not recorded yet.
// An alert recorded before is not queued again: River forgets a completed
// delivery after a day, so queuing every alert each time its signal
// repeats (a budget or plan limit stays reached for the rest of its
// period) would deliver it again daily.
func (s *Service) unrecorded(ctx context.Context, org, sid string, as []Alert) ([]Alert, error) {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	stored, err := s.opts.Store.StoredEventIDs(ctx, org, sid, ids)
	if err != nil || len(stored) == 0 {
		return as, err
	}
	seen := make(map[string]bool, len(stored))
	for _, id := range stored {
		seen[id] = true
	}
	var out []Alert
	for _, a := range as {
		if !seen[a.ID] {
			out = append(out, a)
		}
	}
	return out, nil
}
