package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
)

// UI sessions are signed cookies: the cookie holds a random session id, the
// organisation, a fingerprint of the token the user signed in with and an
// expiry, with an HMAC over them. Nothing is stored per signed-in session,
// so every process that shares the key (by default: the same tokens)
// accepts the cookie, and a restart does not sign anyone out. Removing a
// token from the configuration ends the sessions opened with it. Signing
// out clears the cookie and revokes the session id in the store
// (UIOptions.Revocations) until it would have expired, so a copy of the
// cookie is refused on every process and after restarts.

// sessionCookie is the UI session cookie's name.
const sessionCookie = "agentscope_session"

// defaultSessionTTL is how long a sign-in lasts.
const defaultSessionTTL = 12 * time.Hour

// uiSession is a signed-in browser: either the holder of an instance token
// (TokenFP) or a person (UserID) in their current organisation, whose
// membership is read again on every request (Server.readSession).
type uiSession struct {
	ID      string `json:"id"`
	OrgID   string `json:"org"`
	TokenFP string `json:"fp,omitempty"`
	UserID  string `json:"uid,omitempty"`
	Expires int64  `json:"exp"`
	// p is a person's principal as of this request; not in the cookie.
	p agentscope.Principal
}

// sessionKeeper issues and checks session cookies and their CSRF tokens.
type sessionKeeper struct {
	key    []byte
	ttl    time.Duration
	secure bool
	// fingerprints maps each configured token's fingerprint to its
	// organisation.
	fingerprints map[string]string
	now          func() time.Time

	// store keeps revocations across processes and restarts; nil keeps
	// them in this process only.
	store Revocations

	mu      sync.Mutex
	revoked map[string]time.Time // session id → its expiry, as seen here
}

// Revocations keeps signed-out sessions for as long as their cookies would
// otherwise be valid (*sqlstore.Store).
type Revocations interface {
	RevokeSession(ctx context.Context, id string, expires time.Time) error
	SessionRevoked(ctx context.Context, id string) (bool, error)
}

func newSessionKeeper(opts Options) *sessionKeeper {
	k := &sessionKeeper{key: opts.UI.SessionKey, ttl: opts.UI.SessionTTL, secure: opts.UI.SecureCookies, fingerprints: map[string]string{}, now: time.Now, revoked: map[string]time.Time{}, store: opts.UI.Revocations}
	if k.ttl <= 0 {
		k.ttl = defaultSessionTTL
	}
	if len(k.key) == 0 {
		k.key = deriveSessionKey(opts.Tokens)
	}
	for token, org := range opts.Tokens {
		k.fingerprints[k.fingerprint(token)] = org
	}
	return k
}

// deriveSessionKey makes a signing key from the configured tokens, so that
// processes configured alike accept each other's cookies. Knowing a cookie
// reveals nothing of the tokens (HMAC), and changing any token changes the
// key, which signs every session out.
func deriveSessionKey(tokens map[string]string) []byte {
	keys := make([]string, 0, len(tokens))
	for t := range tokens {
		keys = append(keys, t)
	}
	slices.Sort(keys)
	h := sha256.New()
	h.Write([]byte("agentscope/ui-session/v1\x00"))
	for _, t := range keys {
		h.Write([]byte(t + "\x00" + tokens[t] + "\x00"))
	}
	return h.Sum(nil)
}

func (k *sessionKeeper) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, k.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func (k *sessionKeeper) fingerprint(token string) string {
	return b64(k.mac("token", token)[:12])
}

// issue opens a session for a token of org and returns its cookie.
func (k *sessionKeeper) issue(org, token string, tls bool) (uiSession, *http.Cookie) {
	return k.open(uiSession{OrgID: org, TokenFP: k.fingerprint(token)}, tls)
}

// issueUser opens a session for a person in org and returns its cookie.
func (k *sessionKeeper) issueUser(userID, org string, tls bool) (uiSession, *http.Cookie) {
	return k.open(uiSession{OrgID: org, UserID: userID}, tls)
}

// open gives s a fresh id and expiry and returns its cookie.
func (k *sessionKeeper) open(s uiSession, tls bool) (uiSession, *http.Cookie) {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	exp := k.now().Add(k.ttl)
	s.ID, s.Expires = b64(id), exp.Unix()
	payload, _ := json.Marshal(s)
	p := b64(payload)
	c := k.cookie(p+"."+b64(k.mac("cookie", p)), tls)
	c.Expires = exp
	c.MaxAge = int(k.ttl.Seconds())
	return s, c
}

// cookie returns the session cookie with its flags: HttpOnly (no script
// reads it), SameSite=Lax (sent on top-level navigation from elsewhere, so
// a shared link to a replay works, never on cross-site subrequests or
// POSTs), and Secure on HTTPS.
func (k *sessionKeeper) cookie(value string, tls bool) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: k.secure || tls}
}

// clear returns a cookie that deletes the session cookie.
func (k *sessionKeeper) clear(tls bool) *http.Cookie {
	c := k.cookie("", tls)
	c.MaxAge = -1
	c.Expires = time.Unix(1, 0)
	return c
}

var errBadSession = errors.New("invalid session")

// verify checks a cookie value: signature, expiry, that its token is still
// configured for its organisation, and that it was not signed out. When
// the store cannot answer, the session is refused (the user signs in
// again) rather than trusted.
func (k *sessionKeeper) verify(ctx context.Context, value string) (uiSession, error) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return uiSession{}, errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, k.mac("cookie", p)) {
		return uiSession{}, errBadSession
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return uiSession{}, errBadSession
	}
	var s uiSession
	if err := json.Unmarshal(payload, &s); err != nil || s.ID == "" {
		return uiSession{}, errBadSession
	}
	now := k.now()
	if now.Unix() >= s.Expires {
		return uiSession{}, errBadSession
	}
	if s.UserID == "" {
		if org, ok := k.fingerprints[s.TokenFP]; !ok || org != s.OrgID {
			return uiSession{}, errBadSession
		}
	} else if s.TokenFP != "" {
		return uiSession{}, errBadSession
	}
	k.mu.Lock()
	_, revoked := k.revoked[s.ID]
	k.mu.Unlock()
	if revoked {
		return uiSession{}, errBadSession
	}
	if k.store != nil {
		if revoked, err := k.store.SessionRevoked(ctx, s.ID); err != nil || revoked {
			return uiSession{}, errBadSession
		}
	}
	return s, nil
}

// revoke signs a session out: here at once, and in the store for every
// process and restart.
func (k *sessionKeeper) revoke(ctx context.Context, s uiSession) error {
	k.forget(s)
	if k.store == nil {
		return nil
	}
	return k.store.RevokeSession(ctx, s.ID, time.Unix(s.Expires, 0))
}

// forget refuses a session in this process, dropping expired entries.
func (k *sessionKeeper) forget(s uiSession) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, exp := range k.revoked {
		if now.After(exp) {
			delete(k.revoked, id)
		}
	}
	k.revoked[s.ID] = time.Unix(s.Expires, 0)
}

// csrfToken is the session's token for forms and script POSTs. It is
// derived from the session id, so it needs no storage and changes with
// every sign-in.
func (k *sessionKeeper) csrfToken(s uiSession) string { return b64(k.mac("csrf", s.ID)) }

// checkCSRF compares a submitted token in constant time.
func (k *sessionKeeper) checkCSRF(s uiSession, token string) bool {
	want := k.csrfToken(s)
	return token != "" && hmac.Equal([]byte(token), []byte(want))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
