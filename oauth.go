package agentscope

import (
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// OAuth 2.1 for MCP hosts (issue 17 item 5): AgentScope is the
// authorization server of its own /mcp. A host registers itself as a
// client (RFC 7591), a person approves it on the consent page for one
// organisation and some scopes, and the host receives a grant: short-lived
// access tokens (CredentialAccessToken) bound to that organisation and to
// the /mcp resource (RFC 8707), and refresh tokens (CredentialRefreshToken)
// that rotate on every use. Every token and code is a Credential: only its
// hash is stored.

// OAuthClient is a registered MCP host. Clients are public (no client
// secret; PKCE binds a code to the client that asked for it), and belong
// to no organisation: a host registers before anyone signs in.
type OAuthClient struct {
	ID           string    `json:"client_id"`
	Name         string    `json:"client_name,omitempty"`
	RedirectURIs []string  `json:"redirect_uris"`
	CreatedAt    time.Time `json:"created_at"`
}

// OAuthGrant is what a person approved on the consent page: a client may
// act in one organisation with some scopes on one resource. Every token
// issued for it belongs to the grant; revoking the grant (or reusing a
// rotated refresh token) ends them all.
type OAuthGrant struct {
	ID       string `json:"id"`
	OrgID    string `json:"org_id"`
	ClientID string `json:"client_id"`
	// ClientName is the client's name as it registered (lists show it).
	ClientName string `json:"client_name,omitempty"`
	// Actor approved the grant (Principal.Actor); UserID is the person,
	// empty for the instance token's holder.
	Actor  string `json:"actor"`
	UserID string `json:"user_id,omitempty"`
	// Role is the approver's role when they approved; a token never does
	// more than it (Principal.Authorize checks both role and scopes).
	Role      Role       `json:"role"`
	Scopes    []Scope    `json:"scopes"`
	Resource  string     `json:"resource"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// OAuthCode is an authorization code: a grant waiting to be exchanged by
// its client, once, with the PKCE verifier of CodeChallenge (S256), at the
// same redirect URI, for the same resource.
type OAuthCode struct {
	ID            string     `json:"id"`
	Grant         OAuthGrant `json:"grant"`
	RedirectURI   string     `json:"redirect_uri"`
	CodeChallenge string     `json:"code_challenge"`
	ExpiresAt     time.Time  `json:"expires_at"`
}

// OAuthAccess is a stored access token as the authenticator finds it:
// its grant and expiry, with the hash of its secret.
type OAuthAccess struct {
	TokenID   string
	Grant     OAuthGrant
	ExpiresAt time.Time
	// Hash is the SHA-256 of the token's secret (Credential.Hash).
	Hash string
}

// OAuthTokens is what the token endpoint hands out: an access token and
// the refresh token that replaces it, with their expiries.
type OAuthTokens struct {
	Grant            OAuthGrant
	Access           Credential
	AccessExpiresAt  time.Time
	Refresh          Credential
	RefreshExpiresAt time.Time
}

// NewOAuthClientID returns a fresh client id.
func NewOAuthClientID() string { return "mcpc-" + uuid.Must(uuid.NewV7()).String() }

// NewOAuthGrantID returns a fresh grant id.
func NewOAuthGrantID() string { return "grant-" + uuid.Must(uuid.NewV7()).String() }

// ScopesForRole are the scopes a person with role may give a token: those
// whose actions the role may take at least one of (a viewer may read but
// not search, so a viewer's token may hold read, and Authorize still
// refuses it search). A token's Principal carries the role too, so no
// token ever does more than its approver could.
func ScopesForRole(role Role) []Scope {
	var out []Scope
	for _, sc := range Scopes {
		for _, perm := range Permissions {
			if perm.Scope == sc && role.AtLeast(perm.Role) {
				out = append(out, sc)
				break
			}
		}
	}
	return out
}

// NewOAuthCodeID returns a fresh authorization code's row id (not the
// code: that is a Credential).
func NewOAuthCodeID() string { return "code-" + uuid.Must(uuid.NewV7()).String() }

// NewOAuthTokenID returns a fresh access or refresh token's row id.
func NewOAuthTokenID() string { return "otok-" + uuid.Must(uuid.NewV7()).String() }

// Limits of a client registration, which anyone may make.
const (
	MaxRedirectURIs   = 8
	MaxRedirectURILen = 2000
)

// ValidateRedirectURI checks a client's redirect URI: an absolute https
// URL, or http to a loopback address (127.0.0.1, [::1] or localhost, RFC
// 8252 7.3) for a host running on the person's machine; no fragment (RFC
// 6749 3.1.2) and no user info. Anything else could carry a code to
// another site or to a scheme any application may claim.
func ValidateRedirectURI(s string) error {
	if len(s) > MaxRedirectURILen {
		return FieldErrorf("redirect_uris", "a redirect URI is longer than %d characters", MaxRedirectURILen)
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return FieldErrorf("redirect_uris", "%q is not an absolute URL", s)
	}
	switch {
	case u.Fragment != "" || strings.Contains(s, "#"):
		return FieldErrorf("redirect_uris", "%q has a fragment", s)
	case u.User != nil:
		return FieldErrorf("redirect_uris", "%q has user info", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopbackHost(u.Hostname()):
		return nil
	}
	return FieldErrorf("redirect_uris", "%q must use https, or http to a loopback address (127.0.0.1, [::1], localhost)", s)
}

// IsLoopbackHost reports whether host (without port) is "localhost" or a
// loopback IP address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedirectURIMatches reports whether got, from an authorization or token
// request, is one of a client's registered URIs: exactly, except that a
// loopback http URI may name any port (RFC 8252 7.3: a native app listens
// on whatever port is free).
func RedirectURIMatches(registered []string, got string) bool {
	g, err := url.Parse(got)
	if err != nil {
		return false
	}
	for _, r := range registered {
		if r == got {
			return true
		}
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "http" || g.Scheme != "http" || !IsLoopbackHost(u.Hostname()) {
			continue
		}
		if u.Hostname() == g.Hostname() && u.Path == g.Path && u.RawQuery == g.RawQuery && g.User == nil && g.Fragment == "" {
			return true
		}
	}
	return false
}
