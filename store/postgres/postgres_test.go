package postgres_test

import (
	"context"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/store/storetest"
)

func open(t *testing.T) agentscope.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

func TestAlerts(t *testing.T) { storetest.RunAlerts(t, open) }
