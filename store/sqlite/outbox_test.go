package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/store/storetest"
)

// openOutbox gives each test its own database file; every handle opened on
// it has its own writer connection, as a separate process would.
func openOutbox(t *testing.T) func(sqlstore.Options) *sqlstore.Store {
	path := filepath.Join(t.TempDir(), "outbox.db")
	return func(opts sqlstore.Options) *sqlstore.Store {
		s, err := sqlite.Open(context.Background(), path, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.Store
	}
}

func TestOutbox(t *testing.T) { storetest.RunOutbox(t, openOutbox) }

func TestBilling(t *testing.T) { storetest.RunBilling(t, openOutbox) }
