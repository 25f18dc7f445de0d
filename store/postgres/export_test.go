package postgres

import (
	"context"

	"github.com/agentscope/agentscope/store/sqlstore"
)

// OpenPipe is the store's own Pipe opener, for tests that wrap it.
func (s *Store) OpenPipe(ctx context.Context) (sqlstore.Pipe, error) { return s.openPipe(ctx) }
