package main

import (
	"context"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/billing/stripebilling"
	"github.com/agentscope/agentscope/identity"
	"github.com/agentscope/agentscope/investigator"
	"github.com/agentscope/agentscope/oauth"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/web"
)

// appStore is the store as the binary wires it: what each part it hands the
// store to declares it needs, and what the commands below use. Both store
// adapters implement it, so the wiring needs no type switch.
type appStore interface {
	agentscope.Store
	runtime.Store
	investigator.Store
	service.AgentStore
	alerts.Store
	alerts.RuleSource
	splunkbridge.Outbox
	web.Revocations
	// SetOutbox turns the outbox entries written beside each event on or
	// off (on when a HEC is configured).
	SetOutbox(on bool)
	deadLetterStore
	identityStore
	// identity.KeyStore: serve authenticates API keys.
	identity.KeyStore
	// oauth.Store and identity.AccessTokenStore: serve is the OAuth
	// authorization server of its /mcp and accepts the access tokens.
	oauth.Store
	service.OAuthGrants
	identity.AccessTokenStore
	// signin.Store: people sign in, members and invitations.
	signin.Store
	// service.OrgStore: an owner deletes an organisation (DELETE
	// /api/v1/org), an operator too (agentscope orgs delete).
	service.OrgStore
	// billing.Store and billing.RetentionStore: plans, usage, the
	// limits' counts, and the retention pass.
	billing.Store
	billing.RetentionStore
	// billing.PlansStore: the plans shared through the database.
	billing.PlansStore
	// billing.LimitAlertStore: the plan-limit alerts' organisations.
	billing.LimitAlertStore
	// service.IdleRuns: serve ends OTLP sessions gone idle.
	service.IdleRuns
	// stripebilling.Store: billing through Stripe (AGENTSCOPE_STRIPE_*).
	stripebilling.Store
	// UnfinishedRunCounts counts queued and running runs, for metrics.
	UnfinishedRunCounts(ctx context.Context) (map[agentscope.RunStatus]int64, error)
	// FinishedRunCounts counts completed, failed and cancelled runs, for
	// metrics (read at most once a minute: it reads every finished run).
	FinishedRunCounts(ctx context.Context) (map[agentscope.RunStatus]int64, error)
}

var (
	_ appStore = (*sqlite.Store)(nil)
	_ appStore = (*postgres.Store)(nil)
)

// deadLetterStore is what `agentscope splunk deadletter` reads and retries.
type deadLetterStore interface {
	ListDeadLetters(ctx context.Context, limit int) ([]agentscope.DeadLetter, error)
	RetryDeadLetters(ctx context.Context, ids []int64) (int64, error)
	RetryAllDeadLetters(ctx context.Context) (int64, error)
}

// identityStore is what `agentscope orgs` and `agentscope keys` do, as the
// operator acting on the database directly.
type identityStore interface {
	CreateOrg(ctx context.Context, name, actor string) (agentscope.Org, error)
	GetOrg(ctx context.Context, id string) (agentscope.Org, error)
	ListOrgs(ctx context.Context) ([]agentscope.Org, error)
	DeleteOrg(ctx context.Context, orgID string) (map[string]int64, error)
	CreateAPIKey(ctx context.Context, k agentscope.APIKey) (agentscope.APIKey, agentscope.Credential, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]agentscope.APIKey, error)
	GetAPIKey(ctx context.Context, orgID, id string) (agentscope.APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id, actor string) (agentscope.APIKey, error)
	APIKeyByPrefix(ctx context.Context, prefix string) (agentscope.APIKey, error)
	APIKeyOrg(ctx context.Context, id string) (string, error)
	ListAudit(ctx context.Context, orgID string, f agentscope.AuditFilter) (agentscope.AuditPage, error)
}
