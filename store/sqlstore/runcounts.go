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
	rows, err := s.query(ctx, `SELECT status, count(*) FROM runs WHERE status IN ('queued', 'running') GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count unfinished runs: %w", err)
	}
	defer rows.Close()
	counts := map[agentscope.RunStatus]int64{}
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("count unfinished runs: %w", err)
		}
		counts[agentscope.RunStatus(status)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count unfinished runs: %w", err)
	}
	return counts, nil
}
