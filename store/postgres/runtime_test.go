package postgres_test

import (
	"context"
	"testing"

	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/store/storetest"
)

func TestRuntime(t *testing.T) {
	storetest.RunRuntime(t, func(t *testing.T) func() *sqlstore.Store {
		url := pgtest.URL(t)
		return func() *sqlstore.Store {
			s, err := postgres.Open(context.Background(), url, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s.Store
		}
	})
}
