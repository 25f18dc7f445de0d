package agentscope

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// AuditAction names what an audit entry records.
type AuditAction string

// Audit actions.
const (
	AuditSignIn             AuditAction = "sign_in"
	AuditOrgCreated         AuditAction = "org.created"
	AuditKeyCreated         AuditAction = "key.created"
	AuditKeyRevoked         AuditAction = "key.revoked"
	AuditInvitationCreated  AuditAction = "invitation.created"
	AuditInvitationAccepted AuditAction = "invitation.accepted"
	AuditInvitationRevoked  AuditAction = "invitation.revoked"
	AuditMemberAdded        AuditAction = "member.added"
	AuditMemberRoleChanged  AuditAction = "member.role_changed"
	AuditMemberRemoved      AuditAction = "member.removed"
	AuditAgentCreated       AuditAction = "agent.created"
	AuditAgentUpdated       AuditAction = "agent.updated"
	AuditBudgetSet          AuditAction = "budget.set"
	AuditBudgetDeleted      AuditAction = "budget.deleted"
	AuditAlertRuleCreated   AuditAction = "alert_rule.created"
	AuditAlertRuleUpdated   AuditAction = "alert_rule.updated"
	AuditAlertRuleDeleted   AuditAction = "alert_rule.deleted"
	// AuditOAuthGranted: a person approved an MCP host on the consent
	// page; AuditOAuthRevoked: its grant ended (revoked, or a rotated
	// refresh token was reused).
	AuditOAuthGranted AuditAction = "oauth.granted"
	AuditOAuthRevoked AuditAction = "oauth.revoked"
	// AuditPlanChanged: the organisation's billing plan changed (an
	// operator's set-plan, a Stripe webhook); AuditRetentionPruned: the
	// retention job deleted sessions older than the plan keeps.
	AuditPlanChanged     AuditAction = "billing.plan_changed"
	AuditRetentionPruned AuditAction = "billing.retention_pruned"
)

// AuditEntry is one change to an organisation's people, keys or
// configuration, kept in its audit log.
type AuditEntry struct {
	OrgID string    `json:"-"`
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	// Actor is who acted: Principal.Actor, or ActorOperator.
	Actor  string      `json:"actor"`
	Action AuditAction `json:"action"`
	// Target is the id or name of what changed.
	Target string `json:"target"`
	// Detail is a JSON object of what changed; it never holds a secret.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// AuditFilter pages through an audit log, newest first.
type AuditFilter struct {
	Limit int
	// Cursor continues a previous listing (AuditPage.NextCursor).
	Cursor string
}

// AuditPage is one page of an audit log.
type AuditPage struct {
	Entries    []AuditEntry `json:"entries"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// NewAuditID returns a fresh audit entry id.
func NewAuditID() string { return "aud-" + uuid.Must(uuid.NewV7()).String() }

// ActorFrom names the caller in ctx for the audit log (Principal.Actor):
// "system" when ctx carries no principal, which only AgentScope's own work
// does.
func ActorFrom(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok {
		return p.Actor()
	}
	return string(PrincipalSystem)
}
