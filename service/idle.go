package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// A session recorded by a capture path (OTLP traces; metadata "source")
// has no end_run: its agent does not know AgentScope is there. It is ended
// once it has been idle long enough, by EndIdleSessions, which AgentScope
// runs periodically: as completed, with its model calls priced from the
// pricing table as end_run prices them, so its cost is known.

// IdleRuns is the store's query for EndIdleSessions.
type IdleRuns interface {
	// IdleRuns returns up to limit running, self-reported runs of every
	// organisation whose metadata "source" is source and whose last event
	// is older than before, each with its OrgID, SessionID, EventCount (last
	// seq) and, in EndedAt, its last event's time: when it would end.
	IdleRuns(ctx context.Context, source string, before time.Time, limit int) ([]agentscope.Run, error)
}

// idleSweepBatch bounds the sessions one EndIdleSessions call ends.
const idleSweepBatch = 500

// EndIdleSessions ends the running sessions whose metadata "source" is
// source and whose last event is older than idle, across every
// organisation, and returns how many it ended. Only AgentScope itself
// (an owner SystemPrincipal, of any organisation) may: it acts in each
// session's organisation.
// A session another process ended, or that took an event, in between is
// left as it is.
func (s *Service) EndIdleSessions(ctx context.Context, source string, idle time.Duration) (int, error) {
	p, err := agentscope.Caller(ctx)
	if err != nil {
		return 0, err
	}
	if p.Kind != agentscope.PrincipalSystem || p.Role != agentscope.RoleOwner {
		return 0, agentscope.Errorf(agentscope.EFORBIDDEN, "ending idle sessions is AgentScope's own work")
	}
	if s.idle == nil || idle <= 0 {
		return 0, nil
	}
	now := s.now().UTC()
	runs, err := s.idle.IdleRuns(ctx, source, now.Add(-idle), idleSweepBatch)
	if err != nil {
		return 0, err
	}
	output, _ := json.Marshal(map[string]string{"ended": fmt.Sprintf("no %s event for %s", source, idle)})
	ended := 0
	for _, r := range runs {
		octx := agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(r.OrgID))
		// It ended with its last event: its duration is its activity,
		// not the activity and the idle timeout.
		var at time.Time
		if r.EndedAt != nil {
			at = *r.EndedAt
		}
		_, err := s.endRun(octx, r.OrgID, EndRunInput{SessionID: r.SessionID, Status: string(agentscope.StatusCompleted), Output: output}, agentscope.StatusCompleted, r.EventCount, at)
		switch code := agentscope.ErrorCode(err); {
		case err == nil:
			ended++
		case code == agentscope.ECONFLICT || code == agentscope.ENOTFOUND:
			// Ended (or deleted) meanwhile, or busy again: not idle.
		default:
			return ended, fmt.Errorf("end idle session %s: %w", r.SessionID, err)
		}
	}
	if ended > 0 {
		s.log.Info("ended idle capture sessions", "source", source, "count", ended, "idle", idle)
	}
	return ended, nil
}
