package service

import (
	"context"

	"github.com/agentscope/agentscope"
)

// The LLM gateway (package gateway) records the model calls it passes
// through with these calls; it holds the service as the small interface it
// declares.

// GatewayEventIDPrefix starts the id of the SessionStarted the gateway
// records for a session it starts.
const GatewayEventIDPrefix = "gateway:"

// RecordGateway appends evs, the record of model calls made through the LLM
// gateway, to sessionID, starting the session as a run of agent (an
// external agent, metadata source "gateway") when it does not exist. The
// caller needs the record action, as for record_event.
func (s *Service) RecordGateway(ctx context.Context, sessionID, agent string, evs []agentscope.Event) error {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRecord)
	if err != nil {
		return err
	}
	if err := s.PrepareOrg(ctx, org); err != nil {
		return err
	}
	return s.commitExternal(ctx, org, sessionID, agent, "gateway", GatewayEventIDPrefix, nil, evs)
}

// EndGatewaySession ends a session the gateway started for lack of a
// session header, once it has been idle: completed, with the costs of its
// calls the gateway could not price computed as end_run computes them.
func (s *Service) EndGatewaySession(ctx context.Context, sessionID string) error {
	_, err := s.EndRun(ctx, EndRunInput{SessionID: sessionID, Status: string(agentscope.StatusCompleted)})
	return err
}

// GatewayHardCap returns the first hard-cap budget of agent whose period
// spend has reached its limit, or nil; the gateway refuses the agent's
// calls while there is one. It needs the record action (the gateway
// records every call it passes), so a key that may not record is refused
// here, before anything is forwarded.
func (s *Service) GatewayHardCap(ctx context.Context, agent string) (*agentscope.BudgetStatus, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRecord)
	if err != nil {
		return nil, err
	}
	return s.exceededHardCap(ctx, org, agent)
}

// exceededHardCap returns the first hard-cap budget of org's agent whose
// period spend has reached its limit, or nil.
func (s *Service) exceededHardCap(ctx context.Context, org, agent string) (*agentscope.BudgetStatus, error) {
	if s.agents == nil {
		return nil, nil
	}
	bs, err := s.agents.ListBudgets(ctx, org, agent)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, b := range bs {
		if !b.HardCap || b.Agent != agent {
			continue
		}
		since := b.Period.Start(now)
		spent, err := s.agents.AgentSpend(ctx, org, b.Agent, since)
		if err != nil {
			return nil, err
		}
		if spent >= b.LimitUSD {
			return &agentscope.BudgetStatus{AgentCostBudget: b, PeriodStart: since, SpentUSD: spent, Exceeded: true}, nil
		}
	}
	return nil, nil
}

// GatewayEventsAllowed refuses (EPLANLIMIT) a call through the gateway
// that would record n events when the caller's organisation's plan would
// not store them this period: the call is refused before it is made, not
// made and left unrecorded. With billing off it does nothing. It reads the
// organisation's usage at most about once a second (billing.CheckEvents),
// so calls in flight when another writer crosses the limit may still have
// their records refused by the store.
func (s *Service) GatewayEventsAllowed(ctx context.Context, n int64) error {
	if s.billing == nil {
		return nil
	}
	org, err := agentscope.Authorize(ctx, agentscope.ActionRecord)
	if err != nil {
		return err
	}
	return s.billing.CheckEvents(ctx, org, n)
}
