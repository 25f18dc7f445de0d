// Package identity turns a bearer credential into the caller it signs in
// as: the instance token (AGENTSCOPE_TOKEN or the data dir's token), whose
// holder is the owner of its organisation as before there were people and
// keys, an organisation's API key with its scopes, or (on /mcp) an MCP
// host's OAuth access token. Transports ask it
// once per request and put the principal into the context
// (agentscope.WithPrincipal); services then check what it may do with
// Principal.Authorize. agentscope serve authenticates the HTTP API, its
// websockets and /mcp with it (web.Options.Auth).
package identity

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// KeyStore finds API keys and notes their use (*sqlstore.Store).
type KeyStore interface {
	// APIKeyByPrefix returns the key with this prefix, with its Hash, in
	// whatever state, or ENOTFOUND.
	APIKeyByPrefix(ctx context.Context, prefix string) (agentscope.APIKey, error)
	// TouchAPIKey sets last_used_at to at unless it is within every of
	// it already.
	TouchAPIKey(ctx context.Context, orgID, id string, at time.Time, every time.Duration) (bool, error)
}

// AccessTokenStore finds OAuth access tokens (*sqlstore.Store).
type AccessTokenStore interface {
	// OAuthAccessToken returns the access token with this handle, with
	// its grant and Hash, in whatever state, or ENOTFOUND.
	OAuthAccessToken(ctx context.Context, handle string) (agentscope.OAuthAccess, error)
}

// MembershipStore finds a person's role in an organisation
// (*sqlstore.Store), so an OAuth token acts for its approver as they are
// now.
type MembershipStore interface {
	// GetMembership returns the membership, or ENOTFOUND.
	GetMembership(ctx context.Context, orgID, userID string) (agentscope.Membership, error)
}

// Options configure an Authenticator.
type Options struct {
	// Memberships, when set, checks on every use of an OAuth access token
	// that the person who approved it is still a member, and caps its role
	// at theirs now; nil leaves that to the next refresh (within the
	// token's lifetime).
	Memberships MembershipStore
	// AccessTokens finds the OAuth access tokens MCP hosts hold (package
	// oauth issues them); nil accepts none.
	AccessTokens AccessTokenStore
	// InstanceTokens maps each instance token to its organisation (today
	// one: the configured token to agentscope.DefaultOrgID). Its holder
	// signs in as the organisation's owner.
	InstanceTokens map[string]string
	// TouchEvery is how out of date a key's last_used_at may get: a key
	// in steady use is written once per interval, not on every request.
	// Default one minute.
	TouchEvery time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger reports a failure to note a key's use (the request goes on).
	Logger *slog.Logger
}

// Authenticator checks bearer credentials. It is safe for concurrent use.
type Authenticator struct {
	keys     KeyStore
	instance []instanceToken
	opts     Options
	log      *slog.Logger
}

type instanceToken struct {
	token []byte
	org   string
}

// MinInstanceTokenLen is the shortest instance token accepted (as serve
// requires of AGENTSCOPE_TOKEN).
const MinInstanceTokenLen = 16

// New returns an authenticator over keys (nil: instance tokens only). An
// instance token shorter than MinInstanceTokenLen, or of an invalid
// organisation id, is refused here rather than on first use.
func New(keys KeyStore, opts Options) (*Authenticator, error) {
	if opts.TouchEvery <= 0 {
		opts.TouchEvery = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Authenticator{keys: keys, opts: opts, log: opts.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "identity")
	for token, org := range opts.InstanceTokens {
		if len(token) < MinInstanceTokenLen {
			return nil, agentscope.Errorf(agentscope.EINVALID, "an instance token must be at least %d characters", MinInstanceTokenLen)
		}
		if err := agentscope.ValidateOrgID(org); err != nil {
			return nil, err
		}
		a.instance = append(a.instance, instanceToken{[]byte(token), org})
	}
	return a, nil
}

// errInvalid answers every credential that is not one, alike, so a caller
// learns nothing about which part was wrong.
var errInvalid = agentscope.Errorf(agentscope.EUNAUTHORIZED, "invalid token")

// errAccessTokenHere answers an OAuth access token presented anywhere but
// the resource it is for.
var errAccessTokenHere = agentscope.Errorf(agentscope.EUNAUTHORIZED,
	"this is an MCP host's OAuth access token, valid only at /mcp; this endpoint takes an API key (agentscope keys create) or the instance token")

// Authenticate returns the principal credential signs in as, or an
// EUNAUTHORIZED error. Its errors never repeat the credential. An OAuth
// access token is refused here: it is bound to a resource, and only
// AuthenticateResource accepts it, there.
func (a *Authenticator) Authenticate(ctx context.Context, credential string) (agentscope.Principal, error) {
	return a.AuthenticateResource(ctx, credential, "")
}

// AuthenticateResource is Authenticate for a protected resource (/mcp's
// canonical URI, oauth.Server.Resource): it accepts, beside the instance
// token and API keys, an OAuth access token bound to that resource (RFC
// 8707) and unexpired, of a grant not revoked. Its principal acts in the
// grant's organisation with the grant's scopes, never beyond the role of
// the person who approved it.
func (a *Authenticator) AuthenticateResource(ctx context.Context, credential, resource string) (agentscope.Principal, error) {
	// Every instance token is compared, in constant time, before anything
	// else: a configured token may take any form, even a key's.
	org, isInstance := "", false
	for _, t := range a.instance {
		if subtle.ConstantTimeCompare(t.token, []byte(credential)) == 1 {
			org, isInstance = t.org, true
		}
	}
	if isInstance {
		return agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: org, Role: agentscope.RoleOwner}, nil
	}
	c, err := agentscope.ParseCredential(credential)
	if err == nil && c.Kind == agentscope.CredentialAccessToken {
		return a.accessToken(ctx, c, resource)
	}
	if err != nil || c.Kind != agentscope.CredentialAPIKey || a.keys == nil {
		return agentscope.Principal{}, errInvalid
	}
	k, err := a.keys.APIKeyByPrefix(ctx, c.Prefix())
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return agentscope.Principal{}, errInvalid
	} else if err != nil {
		return agentscope.Principal{}, err
	}
	if !c.Matches(k.Hash) {
		return agentscope.Principal{}, errInvalid
	}
	// The caller holds this key's secret: it may be told why it no longer
	// works.
	now := a.opts.Now()
	if k.RevokedAt != nil {
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this API key was revoked")
	}
	if !k.Usable(now) {
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this API key expired at %s", k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= a.opts.TouchEvery {
		if _, err := a.keys.TouchAPIKey(context.WithoutCancel(ctx), k.OrgID, k.ID, now, a.opts.TouchEvery); err != nil {
			a.log.Warn("note API key use", "key", k.ID, "err", err)
		}
	}
	return agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: k.OrgID, KeyID: k.ID, Scopes: k.Scopes}, nil
}

// accessToken checks an OAuth access token for resource.
func (a *Authenticator) accessToken(ctx context.Context, c agentscope.Credential, resource string) (agentscope.Principal, error) {
	if a.opts.AccessTokens == nil {
		return agentscope.Principal{}, errInvalid
	}
	if resource == "" {
		// Said from the token's form alone, which tells the caller
		// nothing about whether it is valid.
		return agentscope.Principal{}, errAccessTokenHere
	}
	t, err := a.opts.AccessTokens.OAuthAccessToken(ctx, c.Handle)
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return agentscope.Principal{}, errInvalid
	} else if err != nil {
		return agentscope.Principal{}, err
	}
	if !c.Matches(t.Hash) {
		return agentscope.Principal{}, errInvalid
	}
	// The caller holds this token's secret: it may be told why it no
	// longer works, so its client refreshes or asks again.
	g := t.Grant
	switch {
	case subtle.ConstantTimeCompare([]byte(g.Resource), []byte(resource)) != 1:
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this access token is for another resource")
	case g.RevokedAt != nil:
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this access token was revoked")
	case !a.opts.Now().Before(t.ExpiresAt):
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "this access token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	role := g.Role
	if g.UserID != "" && a.opts.Memberships != nil {
		m, err := a.opts.Memberships.GetMembership(ctx, g.OrgID, g.UserID)
		if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
			return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the person who approved this access token is no longer a member of its organisation")
		} else if err != nil {
			return agentscope.Principal{}, err
		}
		if !m.Role.AtLeast(role) {
			role = m.Role
		}
	}
	return agentscope.Principal{Kind: agentscope.PrincipalOAuth, OrgID: g.OrgID, UserID: g.UserID, GrantID: g.ID, Role: role, Scopes: g.Scopes}, nil
}

// AuthenticateHeader reads an Authorization header value, "Bearer
// <credential>" with the scheme in any case (RFC 7235), and authenticates
// the credential.
func (a *Authenticator) AuthenticateHeader(ctx context.Context, header string) (agentscope.Principal, error) {
	return a.AuthenticateResourceHeader(ctx, header, "")
}

// AuthenticateResourceHeader is AuthenticateHeader for a protected
// resource, as AuthenticateResource.
func (a *Authenticator) AuthenticateResourceHeader(ctx context.Context, header, resource string) (agentscope.Principal, error) {
	scheme, credential, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "missing Authorization: Bearer <token>")
	}
	return a.AuthenticateResource(ctx, strings.TrimSpace(credential), resource)
}
