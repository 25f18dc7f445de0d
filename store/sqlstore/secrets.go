package sqlstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/agentscope/agentscope"
)

// Webhook signing secrets are stored sealed with AES-256-GCM under
// Options.SecretKey: "v1:" and the base64 of a random 12-byte nonce and the
// ciphertext, with the rule's organisation and id as additional data, so a
// sealed value copied to another rule does not open. A value without the
// prefix is a secret stored before sealing; SealSecrets seals those.

// sealedPrefix marks a sealed secret and its format's version.
const sealedPrefix = "v1:"

// SecretKeyLen is the length of Options.SecretKey: AES-256.
const SecretKeyLen = 32

// errSecretKey says what to fix without naming the secret.
var errSecretKey = agentscope.Errorf(agentscope.EUNAVAILABLE,
	"an alert rule's signing secret cannot be decrypted: AGENTSCOPE_SECRET_KEY is not the key it was stored with (every process on one database needs the same key)")

func (s *Store) aead() (cipher.AEAD, error) { return aeadOf(s.opts.SecretKey) }

func aeadOf(key []byte) (cipher.AEAD, error) {
	if len(key) != SecretKeyLen {
		return nil, fmt.Errorf("secret key is %d bytes, want %d", len(key), SecretKeyLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func secretAD(org, id string) []byte { return []byte(org + "\x00" + id) }

// sealSecret returns the stored form of a rule's secret: sealed when the
// store has a key, as given otherwise.
func (s *Store) sealSecret(org, id, secret string) (string, error) {
	if s.opts.SecretKey == nil {
		return secret, nil
	}
	g, err := s.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return sealedPrefix + base64.StdEncoding.EncodeToString(g.Seal(nonce, nonce, []byte(secret), secretAD(org, id))), nil
}

// openSecret returns the secret of a stored value.
func (s *Store) openSecret(org, id, stored string) (string, error) {
	plain, _, err := s.openSecretKey(org, id, stored)
	return plain, err
}

// openSecretKey returns the secret of a stored value and whether it was
// sealed under a previous key (and so wants sealing again).
func (s *Store) openSecretKey(org, id, stored string) (string, bool, error) {
	b64, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, false, nil
	}
	if s.opts.SecretKey == nil {
		return "", false, agentscope.Errorf(agentscope.EUNAVAILABLE, "an alert rule's signing secret is encrypted and AGENTSCOPE_SECRET_KEY is not set")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", false, errSecretKey
	}
	for i, key := range append([][]byte{s.opts.SecretKey}, s.opts.PreviousSecretKeys...) {
		g, err := aeadOf(key)
		if err != nil {
			return "", false, err
		}
		if len(raw) < g.NonceSize() {
			return "", false, errSecretKey
		}
		if plain, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], secretAD(org, id)); err == nil {
			return string(plain), i > 0, nil
		}
	}
	return "", false, errSecretKey
}

// SealSecrets seals every alert rule secret still stored in plain text
// (from before sealing, or from a store opened without a key), and seals
// again under SecretKey every secret sealed under one of
// PreviousSecretKeys (a key rotation), and returns how many it sealed. It
// does nothing without a key; running it again seals nothing more.
func (s *Store) SealSecrets(ctx context.Context) (int, error) {
	if s.opts.SecretKey == nil {
		return 0, nil
	}
	where := `WHERE secret NOT LIKE 'v1:%'`
	if len(s.opts.PreviousSecretKeys) > 0 {
		where = "" // every sealed secret is tried: those under an old key are sealed again
	}
	rows, err := s.query(ctx, `SELECT org_id, id, secret FROM alert_rules `+where)
	if err != nil {
		return 0, fmt.Errorf("seal secrets: %w", err)
	}
	type plain struct{ org, id, stored, secret string }
	var todo []plain
	for rows.Next() {
		var p plain
		if err := rows.Scan(&p.org, &p.id, &p.stored); err != nil {
			rows.Close()
			return 0, fmt.Errorf("seal secrets: %w", err)
		}
		todo = append(todo, p)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("seal secrets: %w", err)
	}
	keep := todo[:0]
	for _, p := range todo {
		secret, old, err := s.openSecretKey(p.org, p.id, p.stored)
		if err != nil {
			return 0, fmt.Errorf("seal secrets: alert rule %s: %w", p.id, err)
		}
		if strings.HasPrefix(p.stored, sealedPrefix) && !old {
			continue // sealed under SecretKey already
		}
		p.secret = secret
		keep = append(keep, p)
	}
	todo = keep
	n := 0
	err = s.inTx(ctx, func(t tx) error {
		for _, p := range todo {
			sealed, err := s.sealSecret(p.org, p.id, p.secret)
			if err != nil {
				return err
			}
			// Only if it is still the value read above.
			res, err := t.exec(ctx, `UPDATE alert_rules SET secret = ? WHERE org_id = ? AND id = ? AND secret = ?`, sealed, p.org, p.id, p.stored)
			if err != nil {
				return err
			}
			if k, err := res.RowsAffected(); err == nil {
				n += int(k)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seal secrets: %w", err)
	}
	return n, nil
}

// CheckSecretKey opens one sealed secret, if the database holds any, and
// reports when this store's key is not the one it was sealed with — so a
// process started with the wrong AGENTSCOPE_SECRET_KEY (or none, beside
// processes that have one) fails at start, not at its first delivery.
func (s *Store) CheckSecretKey(ctx context.Context) error {
	var org, id, stored string
	err := s.queryRow(ctx, `SELECT org_id, id, secret FROM alert_rules WHERE secret LIKE 'v1:%' LIMIT 1`).Scan(&org, &id, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check secret key: %w", err)
	}
	if _, err := s.openSecret(org, id, stored); err != nil {
		return err
	}
	return nil
}
