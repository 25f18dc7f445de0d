package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/metrics"
)

// Store is what billing reads and changes (the SQL stores implement it).
type Store interface {
	OrgPlan(ctx context.Context, orgID string) (string, error)
	SetOrgPlan(ctx context.Context, orgID, planID, actor, reason string) (previous string, err error)
	OrgEventUsage(ctx context.Context, orgID, period string) (int64, error)
	ManagedRunSpend(ctx context.Context, orgID string, since time.Time) (agentscope.USD, error)
	ListMembers(ctx context.Context, orgID string) ([]agentscope.Member, error)
	ListInvitations(ctx context.Context, orgID string) ([]agentscope.EmailToken, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]agentscope.APIKey, error)
}

// Service answers what an organisation's plan allows and how much of it
// is used, and refuses what the plan does not allow. A Service with nil
// Plans is billing off: everything is allowed and nothing is read.
type Service struct {
	plans   func() *Plans
	store   Store
	metrics *metrics.Metrics
	now     func() time.Time

	// events is CheckEvents' short-lived view of each organisation's
	// event usage.
	eventsTTL time.Duration
	mu        sync.Mutex
	events    map[string]*eventUsage
}

// NewService returns the billing service over plans (nil: billing off),
// counting its refusals in m (nil counts nothing).
func NewService(plans *Plans, store Store, m *metrics.Metrics) *Service {
	return &Service{plans: func() *Plans { return plans }, store: store, metrics: m, now: time.Now, eventsTTL: EventsCheckTTL, events: map[string]*eventUsage{}}
}

// NewSharedService returns the billing service over the plans shared
// through the database: it follows their changes (and billing turning on)
// without a restart. It counts its refusals in m (nil counts nothing).
func NewSharedService(shared *Shared, store Store, m *metrics.Metrics) *Service {
	return &Service{plans: shared.Plans, store: store, metrics: m, now: time.Now, eventsTTL: EventsCheckTTL, events: map[string]*eventUsage{}}
}

// Enabled reports whether billing is on.
func (s *Service) Enabled() bool { return s.Plans() != nil }

// Plans returns the plans billing runs with (nil when off).
func (s *Service) Plans() *Plans {
	if s == nil {
		return nil
	}
	return s.plans()
}

// OrgUsage is orgID's plan and its usage this period against every
// limit, for the operator (agentscope billing usage) and Usage.
func (s *Service) OrgUsage(ctx context.Context, orgID string) (agentscope.BillingUsage, error) {
	u := agentscope.BillingUsage{OrgID: orgID}
	plans := s.Plans()
	if plans == nil {
		return u, nil
	}
	stored, err := s.store.OrgPlan(ctx, orgID)
	if err != nil {
		return u, err
	}
	plan := plans.Resolve(stored)
	now := s.now()
	start, end := PeriodBounds(now)
	u.Enabled, u.Plan, u.PlanName = true, plan.ID, plan.Name
	u.Period, u.PeriodStart, u.PeriodEnd = Period(now), start, end
	u.OveragePercent, u.RetentionDays = plans.overage(plan), plan.Limits.RetentionDays
	events, err := s.store.OrgEventUsage(ctx, orgID, u.Period)
	if err != nil {
		return u, err
	}
	seats, err := s.seats(ctx, orgID)
	if err != nil {
		return u, err
	}
	keys, err := s.activeKeys(ctx, orgID)
	if err != nil {
		return u, err
	}
	spend, err := s.store.ManagedRunSpend(ctx, orgID, start)
	if err != nil {
		return u, err
	}
	u.Limits = []agentscope.LimitUsage{
		countUsage("events_per_month", events, plan.Limits.EventsPerMonth),
		countUsage("seats", seats, plan.Limits.Seats),
		countUsage("api_keys", keys, plan.Limits.APIKeys),
		usdUsage("managed_run_usd_per_month", spend, plan.Limits.ManagedRunUSDPerMonth),
	}
	return u, nil
}

func countUsage(name string, used int64, limit *int64) agentscope.LimitUsage {
	l := agentscope.LimitUsage{Name: name, Used: json.Number(strconv.FormatInt(used, 10))}
	if limit != nil {
		n := json.Number(strconv.FormatInt(*limit, 10))
		l.Limit, l.Percent = &n, percent(float64(used), float64(*limit))
	}
	return l
}

func usdUsage(name string, used agentscope.USD, limit *agentscope.USD) agentscope.LimitUsage {
	l := agentscope.LimitUsage{Name: name, Used: json.Number(used.String())}
	if limit != nil {
		n := json.Number(limit.String())
		l.Limit, l.Percent = &n, percent(used.Float(), limit.Float())
	}
	return l
}

func percent(used, limit float64) *float64 {
	p := 100.0
	if limit > 0 {
		p = used / limit * 100
	} else if used == 0 {
		p = 0
	}
	return &p
}

// seats counts the organisation's members and pending invitations.
func (s *Service) seats(ctx context.Context, orgID string) (int64, error) {
	members, err := s.store.ListMembers(ctx, orgID)
	if err != nil {
		return 0, err
	}
	invites, err := s.store.ListInvitations(ctx, orgID)
	if err != nil {
		return 0, err
	}
	return int64(len(members) + len(invites)), nil
}

// activeKeys counts the organisation's keys neither revoked nor expired.
func (s *Service) activeKeys(ctx context.Context, orgID string) (int64, error) {
	keys, err := s.store.ListAPIKeys(ctx, orgID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	var n int64
	for _, k := range keys {
		if k.RevokedAt == nil && (k.ExpiresAt == nil || k.ExpiresAt.After(now)) {
			n++
		}
	}
	return n, nil
}

// plan returns the plan orgID is on, under plans.
func (s *Service) plan(ctx context.Context, plans *Plans, orgID string) (Plan, error) {
	stored, err := s.store.OrgPlan(ctx, orgID)
	if err != nil {
		return Plan{}, err
	}
	return plans.Resolve(stored), nil
}

// limitError is the EPLANLIMIT error of a limit of plan, one of plans,
// reached.
func limitError(plans *Plans, orgID string, plan Plan, what string, limit, used string) error {
	return agentscope.Errorf(agentscope.EPLANLIMIT,
		"this organisation's plan %q allows %s %s and %s are in use: %s",
		plan.ID, limit, what, used, agentscope.LimitAdviceFor(plans.LimitAdvice(), orgID))
}

// CheckSeat refuses one more seat (an invitation) when the organisation's
// members and pending invitations already fill its plan's seats.
func (s *Service) CheckSeat(ctx context.Context, orgID string) error {
	return s.checkCount(ctx, orgID, "seat", "seats (members and pending invitations)", func(l Limits) *int64 { return l.Seats }, s.seats)
}

// CheckAPIKey refuses one more API key when the organisation's active keys
// already fill its plan's api_keys.
func (s *Service) CheckAPIKey(ctx context.Context, orgID string) error {
	return s.checkCount(ctx, orgID, "api_key", "active API keys", func(l Limits) *int64 { return l.APIKeys }, s.activeKeys)
}

// checkCount refuses one more of what count counts when the plan's limit
// (limitOf) is already reached; label is what the refusal metric calls it.
func (s *Service) checkCount(ctx context.Context, orgID, label, what string, limitOf func(Limits) *int64, count func(context.Context, string) (int64, error)) error {
	plans := s.Plans()
	if plans == nil {
		return nil
	}
	plan, err := s.plan(ctx, plans, orgID)
	if err != nil {
		return err
	}
	limit := limitOf(plan.Limits)
	if limit == nil {
		return nil
	}
	n, err := count(ctx, orgID)
	if err != nil {
		return err
	}
	if n >= *limit {
		s.metrics.Refusal("plan_limit", label)
		return limitError(plans, orgID, plan, what, strconv.FormatInt(*limit, 10), strconv.FormatInt(n, 10))
	}
	return nil
}

// CheckManagedRun refuses a managed run when the organisation's managed
// runs have spent its plan's managed_run_usd_per_month this period.
func (s *Service) CheckManagedRun(ctx context.Context, orgID string) error {
	plans := s.Plans()
	if plans == nil {
		return nil
	}
	plan, err := s.plan(ctx, plans, orgID)
	if err != nil || plan.Limits.ManagedRunUSDPerMonth == nil {
		return err
	}
	start, _ := PeriodBounds(s.now())
	spent, err := s.store.ManagedRunSpend(ctx, orgID, start)
	if err != nil {
		return err
	}
	if spent >= *plan.Limits.ManagedRunUSDPerMonth {
		s.metrics.Refusal("plan_limit", "managed_run")
		return limitError(plans, orgID, plan, "of managed-run spend this month", "$"+plan.Limits.ManagedRunUSDPerMonth.String(), "$"+spent.String())
	}
	return nil
}

// SetPlan moves orgID to planID, which must be one of the plans, as actor
// (recorded in the audit log with reason), and returns the plan it was on.
func (s *Service) SetPlan(ctx context.Context, orgID, planID, actor, reason string) (string, error) {
	plans := s.Plans()
	if plans == nil {
		return "", agentscope.Errorf(agentscope.EUNAVAILABLE, "billing is off: set AGENTSCOPE_PLANS_FILE (or configure Stripe) to give organisations plans")
	}
	if _, ok := plans.Lookup(planID); !ok {
		ids := make([]string, len(plans.Plans))
		for i, p := range plans.Plans {
			ids[i] = p.ID
		}
		return "", agentscope.FieldErrorf("plan", "%q is not one of the plans (%v)", planID, ids)
	}
	prev, err := s.store.SetOrgPlan(ctx, orgID, planID, actor, reason)
	if err != nil {
		return "", fmt.Errorf("set plan: %w", err)
	}
	s.forgetEvents(orgID)
	if prev == "" {
		prev = plans.Default
	}
	return prev, nil
}
