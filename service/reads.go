package service

import (
	"context"

	"github.com/agentscope/agentscope"
)

// The reads the web interface's pages and live feeds make, beside the
// tools' (GetRun, ListRuns, Replay). Each takes the organisation from the
// context, as every service call does, so a page and a tool cannot read
// different things for the same caller.

// Runs lists runs newest first as f selects: list_runs and GET
// /api/v1/runs after parsing their input, and the pages that list runs.
func (s *Service) Runs(ctx context.Context, f agentscope.RunFilter) (agentscope.RunPage, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return agentscope.RunPage{}, err
	}
	if f.Status != "" && !f.Status.Valid() {
		return agentscope.RunPage{}, agentscope.FieldErrorf("status", "unknown status %q", f.Status)
	}
	if f.Limit < 0 || f.Limit > MaxRunsPage {
		return agentscope.RunPage{}, agentscope.FieldErrorf("limit", "must be between 1 and %d", MaxRunsPage)
	}
	if f.Limit == 0 {
		f.Limit = DefaultRunsPage
	}
	return s.store.ListRuns(ctx, org, f)
}

// ListEvents returns a session's events in seq order as f selects, decoded
// (Replay returns them as stored).
func (s *Service) ListEvents(ctx context.Context, sessionID string, f agentscope.EventFilter) ([]agentscope.Event, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return nil, err
	}
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		return nil, err
	}
	return s.store.ListEvents(ctx, org, sessionID, f)
}

// ScanEvents calls fn with the organisation's events that q selects, a
// batch at a time in (ts, session, seq) order, until fn returns false.
func (s *Service) ScanEvents(ctx context.Context, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return err
	}
	return s.store.ScanEvents(ctx, org, q, fn)
}
