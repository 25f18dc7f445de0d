package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// EventsCheckTTL is how long CheckEvents reuses an organisation's event
// usage before it reads it again.
const EventsCheckTTL = time.Second

// eventUsage is CheckEvents' view of one organisation's events this
// period: what the store counted when it was read, plus what the checks
// since then allowed.
type eventUsage struct {
	plans    *Plans // the plans it was read under
	plan     Plan
	period   string
	limit    int64 // events_per_month with the overage allowance
	limited  bool
	stored   int64 // the store's count when read
	reserved int64 // events the checks allowed since
	at       time.Time
}

// CheckEvents refuses (EPLANLIMIT) n more events of orgID when its plan's
// events_per_month, overage included, would not hold them this period:
// the LLM gateway asks it before forwarding a call, so that a call whose
// record the store would refuse is refused instead of made unrecorded.
// With billing off it reads nothing and allows everything.
//
// It is meant for a hot path: an organisation's plan and stored count are
// read at most once per EventsCheckTTL (two indexed reads), and in between
// each allowed check adds its n to what was read. So within one process
// the checks are exact as far as the callers record what they asked for;
// what other writers store in the meantime (other processes, record_event)
// is seen at the next read. Past the limit the store itself still refuses
// every event (exactly, in the append's transaction): a call allowed in
// that window may have its record refused.
func (s *Service) CheckEvents(ctx context.Context, orgID string, n int64) error {
	plans := s.Plans()
	if plans == nil {
		return nil
	}
	now := s.now()
	period := Period(now)
	s.mu.Lock()
	u := s.events[orgID]
	s.mu.Unlock()
	if u == nil || u.plans != plans || u.period != period || now.Sub(u.at) >= s.eventsTTL || now.Before(u.at) {
		fresh, err := s.readEventUsage(ctx, plans, orgID, period, now)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.dropStaleEvents(now)
		s.events[orgID] = fresh
		s.mu.Unlock()
		u = fresh
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !u.limited {
		return nil
	}
	if used := u.stored + u.reserved; used+n > u.limit {
		return agentscope.Errorf(agentscope.EPLANLIMIT,
			"this organisation's plan %q allows %d events in period %s (events_per_month, overage included) and %d are stored or being recorded: this call's events would be refused, so the call is refused before it is made; %s",
			u.plan.ID, u.limit, u.period, used, agentscope.LimitAdviceFor(u.plans.LimitAdvice(), orgID))
	}
	u.reserved += n
	return nil
}

// readEventUsage reads orgID's plan under plans and its events stored in
// period.
func (s *Service) readEventUsage(ctx context.Context, plans *Plans, orgID, period string, now time.Time) (*eventUsage, error) {
	plan, err := s.plan(ctx, plans, orgID)
	if err != nil {
		return nil, fmt.Errorf("check event limit: %w", err)
	}
	u := &eventUsage{plans: plans, plan: plan, period: period, at: now}
	u.limit, u.limited = plans.EventLimit(plan.ID)
	if !u.limited {
		return u, nil
	}
	if u.stored, err = s.store.OrgEventUsage(ctx, orgID, period); err != nil {
		return nil, fmt.Errorf("check event limit: %w", err)
	}
	return u, nil
}

// maxEventViews is how many organisations' views CheckEvents keeps before
// it drops those past their time.
const maxEventViews = 1024

// dropStaleEvents drops the views past their time once there are many
// (organisations no longer calling); s.mu is held.
func (s *Service) dropStaleEvents(now time.Time) {
	if len(s.events) < maxEventViews {
		return
	}
	for org, u := range s.events {
		if now.Sub(u.at) >= s.eventsTTL {
			delete(s.events, org)
		}
	}
}

// forgetEvents drops orgID's view: its plan changed.
func (s *Service) forgetEvents(orgID string) {
	s.mu.Lock()
	delete(s.events, orgID)
	s.mu.Unlock()
}
