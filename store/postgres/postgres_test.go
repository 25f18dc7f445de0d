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

func TestIdentity(t *testing.T) { storetest.RunIdentity(t, open) }

func TestOAuth(t *testing.T) { storetest.RunOAuth(t, open) }

func TestSecrets(t *testing.T) {
	url := pgtest.URL(t)
	storetest.RunSecrets(t, storetest.SecretsBackend{
		Open: func(t *testing.T, key []byte, previous ...[]byte) storetest.SecretStore {
			s, err := postgres.Open(context.Background(), url, sqlstore.Options{SecretKey: key, PreviousSecretKeys: previous})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		RawSecret: func(t *testing.T, org, id string) string {
			s, err := postgres.Open(context.Background(), url, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var raw string
			if err := s.Pool().QueryRow(context.Background(), `SELECT secret FROM alert_rules WHERE org_id = $1 AND id = $2`, org, id).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			return raw
		},
	})
}
