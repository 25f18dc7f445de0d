package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// IdleRuns returns up to limit running, self-reported runs, across every
// organisation, whose metadata names source (metadata "source", as the
// capture paths set it) and whose last event is older than before, the
// longest idle first. Each run carries its OrgID, SessionID, Agent and
// EventCount (its last seq).
func (s *Store) IdleRuns(ctx context.Context, source string, before time.Time, limit int) ([]agentscope.Run, error) {
	if source == "" || strings.ContainsAny(source, `"\%_`) {
		return nil, fmt.Errorf("idle runs: source %q must be a plain name", source)
	}
	rows, err := s.query(ctx, `SELECT r.org_id, r.session_id, r.agent, r.last_seq, e.ts FROM runs r
		JOIN events e ON e.org_id = r.org_id AND e.session_id = r.session_id AND e.seq = r.last_seq
		WHERE r.status = 'running' AND NOT r.managed AND r.metadata LIKE ? AND e.ts < ?
		ORDER BY e.ts LIMIT ?`, `%"source":"`+source+`"%`, micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("idle runs: %w", err)
	}
	defer rows.Close()
	var out []agentscope.Run
	for rows.Next() {
		var (
			r    agentscope.Run
			last int64
		)
		if err := rows.Scan(&r.OrgID, &r.SessionID, &r.Agent, &r.EventCount, &last); err != nil {
			return nil, fmt.Errorf("idle runs: %w", err)
		}
		at := fromMicros(last)
		r.EndedAt = &at
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("idle runs: %w", err)
	}
	return out, nil
}
