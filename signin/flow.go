package signin

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/agentscope/agentscope"
)

// Identity is who a provider says signed in: an address the provider has
// verified belongs to them, and a display name.
type Identity struct {
	Provider string
	Email    string
	Name     string
}

// ProviderInfo names a configured provider for the sign-in page.
type ProviderInfo struct {
	// ID is the provider's path segment: /auth/{id}/start.
	ID    string
	Label string
}

// Provider ids.
const (
	ProviderOIDC    = "oidc"
	ProviderGitHub  = "github"
	ProviderDiscord = "discord"
)

// flowCookie holds a started sign-in's state, nonce and PKCE verifier in
// the browser, sealed (AES-GCM) so it can be neither read nor forged. It
// is scoped to /auth/ and lives ten minutes.
const (
	flowCookie = "agentscope_signin"
	flowTTL    = 10 * time.Minute
)

// flow is what a sign-in keeps between its start and the callback.
type flow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

// provider is one configured way to sign in with OAuth 2.0.
type provider struct {
	info ProviderInfo
	cfg  oauth2.Config
	// identity reads the verified address once the code is exchanged;
	// nonce is the flow's (OIDC checks it in the ID token).
	identity func(ctx context.Context, tok *oauth2.Token, nonce string) (Identity, error)
	// prepare makes the provider ready (OIDC discovery); nil when there
	// is nothing to do.
	prepare func(ctx context.Context) error
	oidc    bool
}

// Flows runs the redirect sign-ins: OpenID Connect and the GitHub and
// Discord presets. Each uses the authorization code flow with PKCE (S256)
// and a state bound to the browser; OpenID Connect also checks the nonce
// and verifies the ID token. It is safe for concurrent use.
type Flows struct {
	providers []*provider
	aead      cipher.AEAD
	client    *http.Client
	now       func() time.Time
	secure    bool
}

// FlowOptions configure Flows.
type FlowOptions struct {
	// Key seals the flow cookie; any length (it is hashed).
	Key []byte
	// HTTPClient talks to the providers (default: a client with a 15s
	// timeout).
	HTTPClient *http.Client
	// SecureCookies marks the flow cookie Secure on plain HTTP too.
	SecureCookies bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewFlows returns the redirect sign-ins cfg configures (possibly none).
func NewFlows(cfg Config, opts FlowOptions) (*Flows, error) {
	if len(opts.Key) == 0 {
		return nil, errors.New("signin: a key is required to seal the flow cookie")
	}
	sum := sha256.Sum256(append([]byte("agentscope/signin-flow/v1\x00"), opts.Key...))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	f := &Flows{aead: aead, client: opts.HTTPClient, now: opts.Now, secure: opts.SecureCookies}
	if f.client == nil {
		f.client = &http.Client{Timeout: 15 * time.Second}
	}
	if f.now == nil {
		f.now = time.Now
	}
	redirect := func(id string) string { return cfg.PublicURL + "/auth/" + id + "/callback" }
	if cfg.OIDC.Enabled() {
		f.providers = append(f.providers, f.oidcProvider(cfg.OIDC, redirect(ProviderOIDC)))
	}
	if cfg.GitHub.Enabled() {
		f.providers = append(f.providers, f.githubProvider(cfg.GitHub, redirect(ProviderGitHub)))
	}
	if cfg.Discord.Enabled() {
		f.providers = append(f.providers, f.discordProvider(cfg.Discord, redirect(ProviderDiscord)))
	}
	return f, nil
}

// Providers lists the configured providers in the sign-in page's order.
func (f *Flows) Providers() []ProviderInfo {
	out := make([]ProviderInfo, len(f.providers))
	for i, p := range f.providers {
		out[i] = p.info
	}
	return out
}

func (f *Flows) provider(id string) (*provider, error) {
	for _, p := range f.providers {
		if p.info.ID == id {
			return p, nil
		}
	}
	return nil, agentscope.Errorf(agentscope.ENOTFOUND, "no sign-in provider %q is configured", id)
}

func (f *Flows) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, f.client)
}

// Begin starts a sign-in with provider id: it returns the provider's
// authorization URL to send the browser to and the cookie that binds the
// flow to this browser. next is where to go once signed in (a path the
// caller has checked).
func (f *Flows) Begin(ctx context.Context, id, next string, tls bool) (string, *http.Cookie, error) {
	p, err := f.provider(id)
	if err != nil {
		return "", nil, err
	}
	if p.prepare != nil {
		if err := p.prepare(f.ctx(ctx)); err != nil {
			return "", nil, err
		}
	}
	fl := flow{Provider: id, State: randomString(), Verifier: oauth2.GenerateVerifier(), Next: next, Expires: f.now().Add(flowTTL).Unix()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(fl.Verifier)}
	if p.oidc {
		fl.Nonce = randomString()
		opts = append(opts, oidc.Nonce(fl.Nonce))
	}
	return p.cfg.AuthCodeURL(fl.State, opts...), f.cookie(f.seal(fl), flowTTL, tls), nil
}

// errFlow answers a callback that does not belong to a flow this browser
// started: missing, forged or expired cookie, other provider, other state.
var errFlow = agentscope.Errorf(agentscope.EUNAUTHORIZED, "this sign-in was not started in this browser or took too long; start again")

// Finish completes the sign-in at provider id's callback: it checks the
// state against the flow cookie, exchanges the code with the PKCE
// verifier, verifies the ID token and its nonce (OIDC) and reads the
// verified address. It returns who signed in, where to go next, and a
// cookie that clears the flow (set it whatever the outcome).
func (f *Flows) Finish(ctx context.Context, id string, r *http.Request) (Identity, string, *http.Cookie, error) {
	clear := f.cookie("", -1, r.TLS != nil)
	p, err := f.provider(id)
	if err != nil {
		return Identity{}, "", clear, err
	}
	c, err := r.Cookie(flowCookie)
	if err != nil {
		return Identity{}, "", clear, errFlow
	}
	fl, ok := f.open(c.Value)
	q := r.URL.Query()
	if !ok || fl.Provider != id || f.now().Unix() >= fl.Expires || !hmac.Equal([]byte(q.Get("state")), []byte(fl.State)) {
		return Identity{}, "", clear, errFlow
	}
	if e := q.Get("error"); e != "" {
		return Identity{}, "", clear, agentscope.Errorf(agentscope.EUNAUTHORIZED, "%s refused the sign-in (%s)", p.info.Label, safeCode(e))
	}
	code := q.Get("code")
	if code == "" {
		return Identity{}, "", clear, agentscope.Errorf(agentscope.EUNAUTHORIZED, "%s sent no authorization code", p.info.Label)
	}
	if p.prepare != nil {
		if err := p.prepare(f.ctx(ctx)); err != nil {
			return Identity{}, "", clear, err
		}
	}
	tok, err := p.cfg.Exchange(f.ctx(ctx), code, oauth2.VerifierOption(fl.Verifier))
	if err != nil {
		return Identity{}, "", clear, agentscope.Errorf(agentscope.EUNAUTHORIZED, "%s did not accept the authorization code; start again", p.info.Label)
	}
	who, err := p.identity(f.ctx(ctx), tok, fl.Nonce)
	if err != nil {
		return Identity{}, "", clear, err
	}
	who.Provider = id
	if who.Email, err = agentscope.NormalizeEmail(who.Email); err != nil {
		return Identity{}, "", clear, agentscope.Errorf(agentscope.EUNAUTHORIZED, "%s gave no usable email address", p.info.Label)
	}
	return who, fl.Next, clear, nil
}

// cookie is the flow cookie: HttpOnly, SameSite=Lax (the callback is a
// top-level navigation from the provider), only sent under /auth/.
func (f *Flows) cookie(value string, ttl time.Duration, tls bool) *http.Cookie {
	c := &http.Cookie{Name: flowCookie, Value: value, Path: "/auth/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: f.secure || tls, MaxAge: int(ttl.Seconds())}
	if ttl < 0 {
		c.MaxAge, c.Expires = -1, time.Unix(1, 0)
	}
	return c
}

func (f *Flows) seal(fl flow) string {
	payload, _ := json.Marshal(fl)
	nonce := make([]byte, f.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(f.aead.Seal(nonce, nonce, payload, []byte(flowCookie)))
}

// open reads a sealed flow; false for anything this process did not seal.
func (f *Flows) open(s string) (flow, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < f.aead.NonceSize() {
		return flow{}, false
	}
	payload, err := f.aead.Open(nil, b[:f.aead.NonceSize()], b[f.aead.NonceSize():], []byte(flowCookie))
	if err != nil {
		return flow{}, false
	}
	var fl flow
	if json.Unmarshal(payload, &fl) != nil || fl.State == "" || fl.Verifier == "" {
		return flow{}, false
	}
	return fl, true
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// safeCode keeps an OAuth error code ([a-z_], RFC 6749 section 4.1.2.1)
// for a message; anything else is not repeated.
func safeCode(s string) string {
	if len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }) {
		return "error"
	}
	return s
}

// oidcProvider is any OpenID Connect issuer. Discovery happens on first
// use and is retried until it succeeds, so serve starts while the issuer
// is unreachable.
func (f *Flows) oidcProvider(c OIDCConfig, redirect string) *provider {
	p := &provider{info: ProviderInfo{ID: ProviderOIDC, Label: "single sign-on"}, oidc: true,
		cfg: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
	var (
		mu       sync.Mutex
		verifier *oidc.IDTokenVerifier
		op       *oidc.Provider
	)
	p.prepare = func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if verifier != nil {
			return nil
		}
		got, err := oidc.NewProvider(ctx, c.Issuer)
		if err != nil {
			return agentscope.Errorf(agentscope.EUNAVAILABLE, "the identity provider cannot be reached; try again shortly")
		}
		op, verifier = got, got.Verifier(&oidc.Config{ClientID: c.ClientID})
		p.cfg.Endpoint = got.Endpoint()
		return nil
	}
	p.identity = func(ctx context.Context, tok *oauth2.Token, nonce string) (Identity, error) {
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the identity provider sent no ID token")
		}
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the ID token could not be verified")
		}
		if !hmac.Equal([]byte(idt.Nonce), []byte(nonce)) {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the ID token's nonce is not this sign-in's; start again")
		}
		var claims struct {
			Email         string `json:"email"`
			EmailVerified *bool  `json:"email_verified"`
			Name          string `json:"name"`
			Preferred     string `json:"preferred_username"`
		}
		if err := idt.Claims(&claims); err != nil {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the ID token's claims could not be read")
		}
		if claims.Email == "" {
			// Some issuers put the address only in UserInfo.
			ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the identity provider gave no email address")
			}
			if ui.Subject != idt.Subject {
				return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the identity provider's user info is for another subject")
			}
			claims.Email, claims.EmailVerified = ui.Email, &ui.EmailVerified
		}
		// Only an address the issuer vouches for: one that lets anyone
		// type any address would hand out other people's accounts.
		if claims.EmailVerified == nil || !*claims.EmailVerified {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "the identity provider has not verified your email address")
		}
		if claims.Name == "" {
			claims.Name = claims.Preferred
		}
		return Identity{Email: claims.Email, Name: claims.Name}, nil
	}
	return p
}

// getJSON reads the user API of a plain OAuth 2.0 provider.
func getJSON(ctx context.Context, tok *oauth2.Token, url string, v any) error {
	client := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(v)
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// oauthPreset is a plain OAuth 2.0 provider with its default endpoints,
// each overridden by c's when set; it returns the user API's base too.
func oauthPreset(info ProviderInfo, c OAuthConfig, redirect string, scopes []string, def oauth2.Endpoint, defAPI string) (*provider, string) {
	ep := oauth2.Endpoint{AuthURL: orDefault(c.AuthURL, def.AuthURL), TokenURL: orDefault(c.TokenURL, def.TokenURL)}
	p := &provider{info: info, cfg: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: redirect, Scopes: scopes, Endpoint: ep}}
	return p, strings.TrimRight(orDefault(c.APIURL, defAPI), "/")
}

// githubProvider signs in with GitHub: the address is the account's
// primary verified email from GET /user/emails.
func (f *Flows) githubProvider(c OAuthConfig, redirect string) *provider {
	p, api := oauthPreset(ProviderInfo{ID: ProviderGitHub, Label: "GitHub"}, c, redirect, []string{"read:user", "user:email"},
		oauth2.Endpoint{AuthURL: "https://github.com/login/oauth/authorize", TokenURL: "https://github.com/login/oauth/access_token"}, "https://api.github.com")
	p.identity = func(ctx context.Context, tok *oauth2.Token, _ string) (Identity, error) {
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		var user struct {
			Login string `json:"login"`
			Name  string `json:"name"`
		}
		if err := getJSON(ctx, tok, api+"/user/emails", &emails); err != nil {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "GitHub did not tell your email address")
		}
		if err := getJSON(ctx, tok, api+"/user", &user); err != nil {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "GitHub did not tell who you are")
		}
		for _, e := range emails {
			if e.Primary && e.Verified {
				return Identity{Email: e.Email, Name: orDefault(user.Name, user.Login)}, nil
			}
		}
		return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "your GitHub account has no verified primary email address")
	}
	return p
}

// discordProvider signs in with Discord: the address is the account's,
// when Discord says it is verified (GET /users/@me).
func (f *Flows) discordProvider(c OAuthConfig, redirect string) *provider {
	p, api := oauthPreset(ProviderInfo{ID: ProviderDiscord, Label: "Discord"}, c, redirect, []string{"identify", "email"},
		oauth2.Endpoint{AuthURL: "https://discord.com/oauth2/authorize", TokenURL: "https://discord.com/api/oauth2/token"}, "https://discord.com/api")
	p.identity = func(ctx context.Context, tok *oauth2.Token, _ string) (Identity, error) {
		var me struct {
			Username   string `json:"username"`
			GlobalName string `json:"global_name"`
			Email      string `json:"email"`
			Verified   bool   `json:"verified"`
		}
		if err := getJSON(ctx, tok, api+"/users/@me", &me); err != nil {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "Discord did not tell who you are")
		}
		if me.Email == "" || !me.Verified {
			return Identity{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "your Discord account has no verified email address")
		}
		return Identity{Email: me.Email, Name: orDefault(me.GlobalName, me.Username)}, nil
	}
	return p
}
