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

func TestIdentity(t *testing.T) { storetest.RunIdentity(t, open) }

func TestOAuth(t *testing.T) { storetest.RunOAuth(t, open) }

func TestSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.db")
	storetest.RunSecrets(t, storetest.SecretsBackend{
		Open: func(t *testing.T, key []byte, previous ...[]byte) storetest.SecretStore {
			s, err := sqlite.Open(context.Background(), path, sqlstore.Options{SecretKey: key, PreviousSecretKeys: previous})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		RawSecret: func(t *testing.T, org, id string) string {
			s, err := sqlite.Open(context.Background(), path, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var raw string
			if err := s.ReadDB().QueryRow(`SELECT secret FROM alert_rules WHERE org_id = ? AND id = ?`, org, id).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			return raw
		},
	})
}
