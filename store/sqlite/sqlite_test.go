package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/store/storetest"
)

func open(t *testing.T) agentscope.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlstore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

func TestAlerts(t *testing.T) { storetest.RunAlerts(t, open) }
