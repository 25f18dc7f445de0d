package signin

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// The settings, each an AGENTSCOPE_* variable read by ConfigFromEnv.
const (
	EnvPublicURL          = "AGENTSCOPE_PUBLIC_URL"
	EnvOIDCIssuer         = "AGENTSCOPE_OIDC_ISSUER"
	EnvOIDCClientID       = "AGENTSCOPE_OIDC_CLIENT_ID"
	EnvOIDCClientSecret   = "AGENTSCOPE_OIDC_CLIENT_SECRET"
	EnvGitHubClientID     = "AGENTSCOPE_OAUTH_GITHUB_CLIENT_ID"
	EnvGitHubClientSecret = "AGENTSCOPE_OAUTH_GITHUB_CLIENT_SECRET"
	EnvDiscordClientID    = "AGENTSCOPE_OAUTH_DISCORD_CLIENT_ID"
	EnvDiscordSecret      = "AGENTSCOPE_OAUTH_DISCORD_CLIENT_SECRET"
	EnvSMTPURL            = "AGENTSCOPE_SMTP_URL"
	EnvEmailFrom          = "AGENTSCOPE_EMAIL_FROM"
)

// Config is how people sign in. The zero Config configures nothing: the
// web UI then signs in with the instance token alone, as before there were
// people.
type Config struct {
	// PublicURL is where browsers reach AgentScope (scheme and host, maybe
	// a path), for the providers' redirect URIs and the links in mail.
	PublicURL string
	// OIDC is any OpenID Connect issuer.
	OIDC OIDCConfig
	// GitHub and Discord speak plain OAuth 2.0; their endpoints have
	// defaults that tests override.
	GitHub  OAuthConfig
	Discord OAuthConfig
	// SMTP sends sign-in links and invitations.
	SMTP SMTPConfig
}

// OIDCConfig is an OpenID Connect provider.
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret string
}

// OAuthConfig is a plain OAuth 2.0 provider preset. Only the client is
// configured by the environment; the endpoints default to the provider's.
type OAuthConfig struct {
	ClientID, ClientSecret string
	// AuthURL, TokenURL and APIURL override the provider's endpoints
	// (tests). APIURL is the base of its user API.
	AuthURL, TokenURL, APIURL string
}

// SMTPConfig is the mail server sign-in links and invitations go through.
type SMTPConfig struct {
	// Host and Port are the server; TLS is true for smtps:// (TLS from
	// the first byte), false for smtp:// (STARTTLS when offered).
	Host string
	Port int
	TLS  bool
	// Username and Password authenticate (PLAIN); empty sends without.
	Username, Password string
	// From is the sender address.
	From string
}

// Enabled reports whether mail can be sent.
func (c SMTPConfig) Enabled() bool { return c.Host != "" }

// Enabled reports whether the provider is configured.
func (c OAuthConfig) Enabled() bool { return c.ClientID != "" }

// Enabled reports whether the provider is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// HasProviders reports whether a redirect sign-in (OpenID Connect, GitHub,
// Discord) is configured.
func (c Config) HasProviders() bool {
	return c.OIDC.Enabled() || c.GitHub.Enabled() || c.Discord.Enabled()
}

// Enabled reports whether anything but the instance token signs people in.
func (c Config) Enabled() bool {
	return c.HasProviders() || c.SMTP.Enabled()
}

// ConfigFromEnv reads the sign-in settings and checks them, naming the
// variable of any bad value. defaultPublicURL is used when
// AGENTSCOPE_PUBLIC_URL is unset (serve passes its listen address).
func ConfigFromEnv(getenv func(string) string, defaultPublicURL string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		PublicURL: get(EnvPublicURL),
		OIDC:      OIDCConfig{Issuer: get(EnvOIDCIssuer), ClientID: get(EnvOIDCClientID), ClientSecret: get(EnvOIDCClientSecret)},
		GitHub:    OAuthConfig{ClientID: get(EnvGitHubClientID), ClientSecret: get(EnvGitHubClientSecret)},
		Discord:   OAuthConfig{ClientID: get(EnvDiscordClientID), ClientSecret: get(EnvDiscordSecret)},
	}
	var errs []error
	if v := get(EnvSMTPURL); v != "" {
		smtp, err := ParseSMTPURL(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvSMTPURL, err))
		}
		c.SMTP = smtp
	}
	if from := get(EnvEmailFrom); from != "" {
		a, err := mail.ParseAddress(from)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s must be an address such as agentscope@example.com, got %q", EnvEmailFrom, from))
		} else {
			c.SMTP.From = a.Address
		}
	}
	if c.SMTP.Enabled() && c.SMTP.From == "" {
		errs = append(errs, fmt.Errorf("%s is required with %s: the sender of sign-in links and invitations", EnvEmailFrom, EnvSMTPURL))
	}
	if c.OIDC.Enabled() != (c.OIDC.ClientID != "") {
		errs = append(errs, fmt.Errorf("%s and %s go together", EnvOIDCIssuer, EnvOIDCClientID))
	}
	if c.OIDC.Enabled() {
		if u, err := url.Parse(c.OIDC.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be the issuer's https:// URL, got %q", EnvOIDCIssuer, c.OIDC.Issuer))
		}
	}
	for _, p := range []struct {
		id, secret string
		c          OAuthConfig
	}{{EnvGitHubClientID, EnvGitHubClientSecret, c.GitHub}, {EnvDiscordClientID, EnvDiscordSecret, c.Discord}} {
		if (p.c.ClientID == "") != (p.c.ClientSecret == "") {
			errs = append(errs, fmt.Errorf("%s and %s go together", p.id, p.secret))
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = defaultPublicURL
	}
	if u, err := url.Parse(c.PublicURL); c.Enabled() && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "") {
		errs = append(errs, fmt.Errorf("%s must be the http(s):// address browsers reach AgentScope at, got %q", EnvPublicURL, c.PublicURL))
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c, errors.Join(errs...)
}

// ParseSMTPURL reads smtp://user:pass@host:port or smtps://…; the port
// defaults to 587 (smtp) or 465 (smtps). Its errors never repeat the
// password.
func ParseSMTPURL(s string) (SMTPConfig, error) {
	u, err := url.Parse(s)
	if err != nil {
		return SMTPConfig{}, errors.New("must be smtp://user:password@host:port")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.TLS, c.Port = true, 465
	default:
		return SMTPConfig{}, errors.New("must start with smtp:// or smtps://")
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return SMTPConfig{}, errors.New("must be smtp://user:password@host:port with nothing after the port")
	}
	c.Host = u.Hostname()
	if c.Host == "" || strings.ContainsAny(c.Host, " \t\r\n") {
		return SMTPConfig{}, errors.New("has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPConfig{}, errors.New("has a port that is not 1-65535")
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if strings.ContainsAny(c.Username+c.Password, "\x00\r\n") {
			return SMTPConfig{}, errors.New("has a control character in its user or password")
		}
	}
	return c, nil
}

// addr is the server's host:port.
func (c SMTPConfig) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }
