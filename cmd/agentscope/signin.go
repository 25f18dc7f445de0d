package main

import (
	"crypto/sha256"
	"log/slog"

	"github.com/agentscope/agentscope/signin"
)

// signInWith builds the web UI's sign-in from the configuration: the
// accounts (members and invitations always; email links and invitations
// when SMTP is configured) and the redirect flows of the configured
// providers (nil when none is).
func signInWith(cfg *Config, app *App, log *slog.Logger) (*signin.Accounts, *signin.Flows, error) {
	opts := signin.Options{PublicURL: cfg.SignIn.PublicURL, PrepareOrg: app.Service.PrepareOrg, Logger: log}
	if app.Billing != nil {
		opts.CheckSeat = app.Billing.CheckSeat
	}
	if cfg.SignIn.SMTP.Enabled() {
		opts.Mailer = signin.NewSMTPMailer(cfg.SignIn.SMTP)
	}
	accounts := signin.NewAccounts(app.Store, opts)
	if !cfg.SignIn.HasProviders() {
		return accounts, nil, nil
	}
	// The flow cookie is sealed with a key derived from the secret key,
	// so every process of one deployment opens the others' cookies.
	key := sha256.Sum256(append([]byte("agentscope/signin-flow-key\x00"), cfg.SecretKey...))
	flows, err := signin.NewFlows(cfg.SignIn, signin.FlowOptions{Key: key[:], SecureCookies: cfg.CookieSecure})
	if err != nil {
		return nil, nil, err
	}
	return accounts, flows, nil
}
