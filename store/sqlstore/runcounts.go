package sqlstore

import (
	"context"
	"fmt"

	"github.com/agentscope/agentscope"
)

// UnfinishedRunCounts returns how many runs are queued and how many
// running, across all organisations (for metrics: no organisation is
// named). The runs_unfinished partial index covers them.
func (s *Store) UnfinishedRunCounts(ctx context.Context) (map[agentscope.RunStatus]int64, error) {
	return s.runCounts(ctx, "unfinished", `SELECT status, count(*) FROM runs WHERE status IN ('queued', 'running') GROUP BY status`)
}

// FinishedRunCounts returns how many runs completed, failed and were
// cancelled, across all organisations (for metrics). It reads every
// finished run: callers read it seldom (metrics cache it for a minute).
func (s *Store) FinishedRunCounts(ctx context.Context) (map[agentscope.RunStatus]int64, error) {
	return s.runCounts(ctx, "finished", `SELECT status, count(*) FROM runs WHERE status IN ('completed', 'failed', 'cancelled') GROUP BY status`)
}

func (s *Store) runCounts(ctx context.Context, which, query string) (map[agentscope.RunStatus]int64, error) {
	rows, err := s.query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("count %s runs: %w", which, err)
	}
	defer rows.Close()
	counts := map[agentscope.RunStatus]int64{}
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("count %s runs: %w", which, err)
		}
		counts[agentscope.RunStatus(status)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count %s runs: %w", which, err)
	}
	return counts, nil
}
