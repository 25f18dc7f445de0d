package web

import (
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/signin"
)

// UIOptions configure the web interface. Every backend is optional: a
// panel whose backend is nil says that it is not configured, and never
// shows made-up numbers.
type UIOptions struct {
	// Searcher answers the search page and computes the dashboard's
	// scorecards with SPL. Nil shows search as not available, and the
	// dashboard computes its numbers from the store, saying so.
	Searcher agentscope.Searcher
	// SplunkHealth reports the Splunk forwarder for the dashboard; nil
	// shows forwarding as not configured.
	SplunkHealth HealthSource
	// Budgets reports agents' budgets and spend; nil leaves budgets out.
	Budgets BudgetSource
	// GatewayStats reports the LLM gateway's counters for an organisation
	// (gateway.Gateway.Stats) on the dashboard's health panel; nil leaves
	// them out.
	GatewayStats func(org string) gateway.Stats
	// SearchExamples are the search page's operational searches; empty
	// uses the built-in ones, which match service.Insights.
	SearchExamples []SearchExample
	// SplunkIndex is the index the copyable SPL of a session and the
	// dashboard's searches name (default "agentscope" for the former, the
	// role's default indexes for the latter).
	SplunkIndex string
	// SessionSPL builds the copyable SPL of a session; set it to
	// agentscope.SessionQuery over the configured index. Nil uses a local
	// equivalent.
	SessionSPL func(sessionID string) (string, error)
	// SessionKey signs session cookies. Empty derives a key from the
	// tokens, so every process configured with the same tokens accepts the
	// same cookies.
	SessionKey []byte
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// SecureCookies marks the session cookie Secure even on plain HTTP, for
	// a server behind a proxy that terminates TLS
	// (AGENTSCOPE_COOKIE_SECURE=true). On HTTPS it is always Secure.
	SecureCookies bool
	// Revocations keeps signed-out sessions across restarts and processes;
	// nil keeps them in this process only.
	Revocations Revocations
	// Accounts signs people in (email links, invitations, first sign-in)
	// and keeps an organisation's members and invitations; nil leaves
	// people out: the instance token alone signs in, as before.
	Accounts *signin.Accounts
	// Flows are the redirect sign-ins (OpenID Connect, GitHub, Discord);
	// nil or none configured shows no provider buttons.
	Flows *signin.Flows
}

// SearchExample is a saved operational search the search page offers.
type SearchExample struct {
	Name, Description, SPL string
}
