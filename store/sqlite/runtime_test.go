package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/store/storetest"
)

func TestRuntime(t *testing.T) {
	storetest.RunRuntime(t, func(t *testing.T) func() *sqlstore.Store {
		path := filepath.Join(t.TempDir(), "runtime.db")
		return func() *sqlstore.Store {
			s, err := sqlite.Open(context.Background(), path, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s.Store
		}
	})
}
