package agentscope

import (
	"time"

	"github.com/google/uuid"
)

// EmailTokenKind says what an emailed link does.
type EmailTokenKind string

// Email token kinds.
const (
	// EmailSignIn signs its address in.
	EmailSignIn EmailTokenKind = "sign_in"
	// EmailInvitation makes its address a member of an organisation.
	EmailInvitation EmailTokenKind = "invitation"
)

// CredentialKind is the kind of credential a link of this kind carries.
func (k EmailTokenKind) CredentialKind() CredentialKind {
	if k == EmailInvitation {
		return CredentialInvitation
	}
	return CredentialSignIn
}

// EmailToken is a single-use, expiring link sent to one address: a sign-in
// link or an invitation. Its credential is mailed, never stored; the token
// is used at most once, only before ExpiresAt, and only for Email.
type EmailToken struct {
	ID   string         `json:"id"`
	Kind EmailTokenKind `json:"kind"`
	// OrgID and Role are an invitation's organisation and the role it
	// grants; empty for a sign-in link.
	OrgID string `json:"org_id,omitempty"`
	Role  Role   `json:"role,omitempty"`
	// Email is the address the link was sent to (NormalizeEmail).
	Email     string     `json:"email"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// NewEmailTokenID returns a fresh email token id.
func NewEmailTokenID() string { return "tok-" + uuid.Must(uuid.NewV7()).String() }
