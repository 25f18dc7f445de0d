package agentscope

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"slices"
)

// CredentialKind names what a credential opens. It is the credential's
// first part, so a credential found in a log or a repository says what it
// is, and one kind is never accepted where another is expected.
type CredentialKind string

// Credential kinds.
const (
	// CredentialAPIKey is an organisation's API key.
	CredentialAPIKey CredentialKind = "ask"
	// CredentialSignIn is an email sign-in link's token.
	CredentialSignIn CredentialKind = "asl"
	// CredentialInvitation is an invitation's token.
	CredentialInvitation CredentialKind = "asi"
	// CredentialOAuthCode is an OAuth authorization code (single use,
	// minutes long).
	CredentialOAuthCode CredentialKind = "asc"
	// CredentialAccessToken is an OAuth access token for /mcp.
	CredentialAccessToken CredentialKind = "asa"
	// CredentialRefreshToken is an OAuth refresh token (rotated on use).
	CredentialRefreshToken CredentialKind = "asr"
)

// CredentialKinds lists every kind ParseCredential accepts.
var CredentialKinds = []CredentialKind{CredentialAPIKey, CredentialSignIn, CredentialInvitation, CredentialOAuthCode, CredentialAccessToken, CredentialRefreshToken}

// A credential reads <kind>_<handle>_<secret>, all lower case:
//
//	ask_0123456789ab_<64 hex digits>
//
// The handle (48 random bits, 12 hex digits) finds the stored row and is
// not secret: it is shown in lists as part of the prefix. The secret is 256
// random bits (64 hex digits) and is stored only as its SHA-256. A plain
// hash is enough, and a slow password hash (bcrypt, argon2) would only add
// latency to every request: those exist to make guessing a low-entropy,
// human-chosen password expensive, and nobody can guess 256 random bits or
// invert SHA-256 to find them; no salt is needed for the same reason (no
// two secrets are alike and no table of hashes of likely secrets can
// exist). A database leak therefore gives away no usable credential.
const (
	credentialHandleLen = 12
	credentialSecretLen = 64
	credentialKindLen   = 3
	// CredentialLen is the length of every credential.
	CredentialLen = credentialKindLen + 1 + credentialHandleLen + 1 + credentialSecretLen
)

// Credential is a parsed or newly made credential. Its String and slog
// forms show only the prefix; Reveal gives the whole text, which is shown
// to its owner once and never stored or logged.
type Credential struct {
	Kind   CredentialKind
	Handle string
	secret [credentialSecretLen / 2]byte
}

// NewCredential returns a fresh credential of the given kind.
func NewCredential(kind CredentialKind) Credential {
	c := Credential{Kind: kind}
	var h [credentialHandleLen / 2]byte
	_, _ = rand.Read(h[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(c.secret[:])
	c.Handle = hex.EncodeToString(h[:])
	return c
}

// errCredential never repeats the text it was given: that may be a secret.
var errCredential = Errorf(EUNAUTHORIZED, "not an AgentScope credential")

// ParseCredential reads a credential strictly: a known kind, then '_', 12
// lower-case hex digits, '_' and 64 lower-case hex digits, nothing else.
// Its error never repeats s.
func ParseCredential(s string) (Credential, error) {
	if len(s) != CredentialLen || s[credentialKindLen] != '_' || s[credentialKindLen+1+credentialHandleLen] != '_' {
		return Credential{}, errCredential
	}
	c := Credential{Kind: CredentialKind(s[:credentialKindLen]), Handle: s[credentialKindLen+1 : credentialKindLen+1+credentialHandleLen]}
	if !slices.Contains(CredentialKinds, c.Kind) {
		return Credential{}, errCredential
	}
	secret := s[len(s)-credentialSecretLen:]
	if !lowerHex(c.Handle) || !lowerHex(secret) {
		return Credential{}, errCredential
	}
	if _, err := hex.Decode(c.secret[:], []byte(secret)); err != nil {
		return Credential{}, errCredential
	}
	return c, nil
}

func lowerHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Prefix is the credential without its secret, e.g. "ask_0123456789ab":
// what lists show so a person can tell their keys apart.
func (c Credential) Prefix() string { return string(c.Kind) + "_" + c.Handle }

// Reveal returns the whole credential: the only form that signs in.
func (c Credential) Reveal() string { return c.Prefix() + "_" + hex.EncodeToString(c.secret[:]) }

// String shows the prefix only, so a credential printed by mistake gives
// nothing away.
func (c Credential) String() string { return c.Prefix() + "_…" }

// LogValue implements slog.LogValuer with the prefix only.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Hash is what is stored of the credential: the hex SHA-256 of its secret.
func (c Credential) Hash() string {
	sum := sha256.Sum256(c.secret[:])
	return hex.EncodeToString(sum[:])
}

// Matches reports whether hash is this credential's Hash, comparing in
// constant time.
func (c Credential) Matches(hash string) bool {
	return subtle.ConstantTimeCompare([]byte(c.Hash()), []byte(hash)) == 1
}

// GoString shows the prefix only, for %#v.
func (c Credential) GoString() string { return c.String() }
