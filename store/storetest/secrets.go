package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// SecretStore is an alert store that seals signing secrets at rest
// (*sqlstore.Store).
type SecretStore interface {
	AlertStore
	SealSecrets(ctx context.Context) (int, error)
}

// SecretsBackend opens one database again and again with the key given
// (nil: none) and the previous keys that may also open secrets, and reads
// an alert rule's secret column as stored.
type SecretsBackend struct {
	Open      func(t *testing.T, key []byte, previous ...[]byte) SecretStore
	RawSecret func(t *testing.T, org, id string) string
}

// RunSecrets checks that webhook signing secrets are sealed at rest: the
// column never holds the secret, delivery still gets it, a plain secret from
// before sealing is sealed by SealSecrets (once), and the wrong key gives an
// error naming AGENTSCOPE_SECRET_KEY, never the secret.
func RunSecrets(t *testing.T, b SecretsBackend) {
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{9}, 32)
	const secret = "whsec-0123456789abcdef-sensitive"

	plainStore := b.Open(t, nil)
	legacy, err := plainStore.CreateAlertRule(ctx, agentscope.AlertRule{OrgID: org, Name: "legacy", Kinds: []string{"loop"}, URL: "https://example.com/h", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if raw := b.RawSecret(t, org, legacy.ID); raw != secret {
		t.Fatalf("without a key the secret is stored as given, got %q", raw)
	}

	s := b.Open(t, key)
	n, err := s.SealSecrets(ctx)
	if err != nil || n != 1 {
		t.Fatalf("SealSecrets: %d, %v; want 1 sealed", n, err)
	}
	if n, err := s.SealSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("SealSecrets again: %d, %v; want 0", n, err)
	}
	fresh, err := s.CreateAlertRule(ctx, agentscope.AlertRule{OrgID: org, Name: "fresh", Kinds: []string{"loop"}, URL: "https://example.com/h", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{legacy.ID, fresh.ID} {
		raw := b.RawSecret(t, org, id)
		if !strings.HasPrefix(raw, "v1:") || strings.Contains(raw, secret) {
			t.Errorf("rule %s: stored %q, want it sealed", id, raw)
		}
		r, err := s.AlertRuleForDelivery(ctx, org, id)
		if err != nil || r.Secret != secret {
			t.Errorf("rule %s for delivery: %q, %v", id, r.Secret, err)
		}
	}
	// A new secret on update is sealed too.
	upd := fresh
	upd.Secret = secret + "-2"
	if _, err := s.UpdateAlertRule(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if raw := b.RawSecret(t, org, fresh.ID); strings.Contains(raw, secret) {
		t.Errorf("updated secret stored as %q", raw)
	}
	if r, err := s.AlertRuleForDelivery(ctx, org, fresh.ID); err != nil || r.Secret != secret+"-2" {
		t.Errorf("updated secret for delivery: %q, %v", r.Secret, err)
	}

	checkKeyAtStart(t, b, key, other)
	for name, k := range map[string][]byte{"the wrong key": other, "no key": nil} {
		_, err := b.Open(t, k).AlertRuleForDelivery(ctx, org, fresh.ID)
		if agentscope.ErrorCode(err) == agentscope.EINTERNAL || !strings.Contains(fmt.Sprint(err), "AGENTSCOPE_SECRET_KEY") || strings.Contains(fmt.Sprint(err), secret) {
			t.Errorf("%s: %v, want an error naming AGENTSCOPE_SECRET_KEY", name, err)
		}
	}
	rotate(t, b, key, other, secret)
}

// CheckSecretKeyBackend: see RunSecrets; a store with the wrong key fails
// CheckSecretKey naming AGENTSCOPE_SECRET_KEY once a sealed secret exists.
func checkKeyAtStart(t *testing.T, b SecretsBackend, key, other []byte) {
	t.Helper()
	type checker interface{ CheckSecretKey(context.Context) error }
	if err := b.Open(t, key).(checker).CheckSecretKey(context.Background()); err != nil {
		t.Errorf("the right key: %v", err)
	}
	if err := b.Open(t, other).(checker).CheckSecretKey(context.Background()); err == nil || !strings.Contains(err.Error(), "AGENTSCOPE_SECRET_KEY") {
		t.Errorf("the wrong key at start: %v", err)
	}
}

// rotate: a store given a new key and the old one as previous opens what
// the old key sealed, SealSecrets seals it again under the new key (once),
// and from then on the new key alone opens it and the old one does not.
func rotate(t *testing.T, b SecretsBackend, oldKey, newKey []byte, secret string) {
	t.Helper()
	ctx := context.Background()
	s := b.Open(t, oldKey)
	r, err := s.CreateAlertRule(ctx, agentscope.AlertRule{OrgID: org, Name: "rotated", Kinds: []string{"loop"}, URL: "https://example.com/h", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	before := b.RawSecret(t, org, r.ID)
	both := b.Open(t, newKey, oldKey)
	if got, err := both.AlertRuleForDelivery(ctx, org, r.ID); err != nil || got.Secret != secret {
		t.Fatalf("with the old key as previous, before sealing again: %q, %v", got.Secret, err)
	}
	n, err := both.SealSecrets(ctx)
	if err != nil || n < 1 {
		t.Fatalf("SealSecrets with a previous key: %d, %v; want the old key's secrets sealed again", n, err)
	}
	if n, err := both.SealSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("SealSecrets again: %d, %v; want 0", n, err)
	}
	after := b.RawSecret(t, org, r.ID)
	if after == before || !strings.HasPrefix(after, "v1:") || strings.Contains(after, secret) {
		t.Fatalf("stored %q after rotation (was %q), want it sealed anew", after, before)
	}
	if got, err := b.Open(t, newKey).AlertRuleForDelivery(ctx, org, r.ID); err != nil || got.Secret != secret {
		t.Errorf("the new key alone after rotation: %q, %v", got.Secret, err)
	}
	if _, err := b.Open(t, oldKey).AlertRuleForDelivery(ctx, org, r.ID); err == nil {
		t.Error("the old key alone still opens a secret sealed again under the new key")
	}
}
