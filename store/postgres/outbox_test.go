package postgres_test

import (
	"context"
	"testing"

	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/store/storetest"
)

// openOutbox gives each test its own schema; every handle opened on it has
// its own connection pool, as a separate process would.
func openOutbox(t *testing.T) func(sqlstore.Options) *sqlstore.Store {
	url := pgtest.URL(t)
	return func(opts sqlstore.Options) *sqlstore.Store {
		s, err := postgres.Open(context.Background(), url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.Store
	}
}

func TestOutbox(t *testing.T) { storetest.RunOutbox(t, openOutbox) }

func TestBilling(t *testing.T) { storetest.RunBilling(t, openOutbox) }
