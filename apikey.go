package agentscope

import (
	"time"

	"github.com/google/uuid"
)

// APIKey is an organisation's named key for programs (an agent, a
// pipeline, an MCP host): Authorization: Bearer <key>. The key itself
// (a CredentialAPIKey) is shown once, when it is created; only its prefix
// and the hash of its secret are kept.
type APIKey struct {
	OrgID  string  `json:"org_id"`
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Prefix string  `json:"prefix"`
	Scopes []Scope `json:"scopes"`
	// CreatedBy is the audit actor that made the key.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// LastUsedAt is when the key last signed in, to within the
	// authenticator's update interval.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// Hash is the SHA-256 of the key's secret (Credential.Hash). Only the
	// lookup an authenticator makes fills it; it is never sent anywhere.
	Hash string `json:"-"`
}

// Usable reports whether the key may sign in at now: not revoked and not
// expired.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// NewAPIKeyID returns a fresh API key id (not the key: that is a
// Credential).
func NewAPIKeyID() string { return "key-" + uuid.Must(uuid.NewV7()).String() }
