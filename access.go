package agentscope

import (
	"context"
	"slices"
	"strings"
)

// Role is what a person may do in one organisation. Roles are ordered:
// each may do everything the one below it may.
type Role string

// Roles, from least to most.
const (
	RoleViewer Role = "viewer"
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
	RoleOwner  Role = "owner"
)

// Roles lists the roles from least to most.
var Roles = []Role{RoleViewer, RoleMember, RoleAdmin, RoleOwner}

// rank orders roles; 0 is no role.
func (r Role) rank() int { return slices.Index(Roles, r) + 1 }

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r is other or a role above it.
func (r Role) AtLeast(other Role) bool { return r.Valid() && r.rank() >= other.rank() }

// ParseRole reads a role by name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", FieldErrorf("role", "unknown role %q: want viewer, member, admin or owner", s)
}

// Scope is what an API key may do. A key holds one or more.
type Scope string

// Scopes, in the order they are listed.
const (
	// ScopeIngest records events and starts and ends self-reported runs.
	ScopeIngest Scope = "ingest"
	// ScopeRead replays sessions, searches and reads reports.
	ScopeRead Scope = "read"
	// ScopeRun queues managed runs and investigations.
	ScopeRun Scope = "run"
	// ScopeAdmin manages agents, budgets, alert rules, keys and members,
	// and may do everything the other scopes may: a key that can create
	// keys can give itself any scope, so anything less would only look
	// narrower.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope in order.
var Scopes = []Scope{ScopeIngest, ScopeRead, ScopeRun, ScopeAdmin}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return slices.Contains(Scopes, s) }

// ParseScopes reads a comma-separated list of scopes ("ingest,read"),
// refusing an empty list and naming any unknown scope. The result is in
// Scopes order without repeats.
func ParseScopes(s string) ([]Scope, error) {
	if strings.TrimSpace(s) == "" {
		return nil, FieldErrorf("scopes", "at least one scope is required: ingest, read, run or admin")
	}
	var got []Scope
	for part := range strings.SplitSeq(s, ",") {
		sc := Scope(strings.TrimSpace(part))
		if !sc.Valid() {
			return nil, FieldErrorf("scopes", "unknown scope %q: want ingest, read, run or admin", strings.TrimSpace(part))
		}
		got = append(got, sc)
	}
	return NormalizeScopes(got)
}

// NormalizeScopes checks scopes and returns them in Scopes order without
// repeats.
func NormalizeScopes(scopes []Scope) ([]Scope, error) {
	if len(scopes) == 0 {
		return nil, FieldErrorf("scopes", "at least one scope is required: ingest, read, run or admin")
	}
	for _, sc := range scopes {
		if !sc.Valid() {
			return nil, FieldErrorf("scopes", "unknown scope %q: want ingest, read, run or admin", string(sc))
		}
	}
	var out []Scope
	for _, sc := range Scopes {
		if slices.Contains(scopes, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// JoinScopes writes scopes as ParseScopes reads them.
func JoinScopes(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// Action is something a caller may be allowed to do in its organisation.
type Action string

// Actions. Reading what an organisation keeps is one action; each kind of
// change is its own.
const (
	ActionRead          Action = "read"          // replay sessions, list runs, agents, budgets, alert rules, reports
	ActionSearch        Action = "search"        // SPL over the organisation's events
	ActionRecord        Action = "record"        // record events, start and end self-reported runs
	ActionRun           Action = "run"           // queue and cancel managed runs
	ActionInvestigate   Action = "investigate"   // queue investigations
	ActionManageAgents  Action = "agents.manage" // create and change agents
	ActionManageBudgets Action = "budgets.manage"
	ActionManageAlerts  Action = "alerts.manage"
	ActionManageKeys    Action = "keys.manage"    // list, create and revoke API keys
	ActionManageMembers Action = "members.manage" // invite, change roles below owner, remove
	ActionReadAudit     Action = "audit.read"
	ActionManageOwners  Action = "owners.manage" // make someone owner, or an owner something else
	ActionBilling       Action = "billing"
	ActionReadBilling   Action = "billing.read" // the plan and its usage against every limit
	ActionDeleteOrg     Action = "org.delete"
)

// Permission is who may take an action: people with Role or above, keys
// with Scope (or ScopeAdmin, which holds every scope's actions). Scope is
// empty for what only a person may do.
type Permission struct {
	Role  Role
	Scope Scope
}

// Permissions is the matrix of roles and scopes against actions. Viewers
// read; members also record, run, search and investigate (search is
// metered work, so it is not a viewer's); admins manage agents, budgets,
// alerts, keys and members; owners also manage owners, billing and the
// organisation itself, which no key may.
var Permissions = map[Action]Permission{
	ActionRead:          {RoleViewer, ScopeRead},
	ActionSearch:        {RoleMember, ScopeRead},
	ActionRecord:        {RoleMember, ScopeIngest},
	ActionRun:           {RoleMember, ScopeRun},
	ActionInvestigate:   {RoleMember, ScopeRun},
	ActionManageAgents:  {RoleAdmin, ScopeAdmin},
	ActionManageBudgets: {RoleAdmin, ScopeAdmin},
	ActionManageAlerts:  {RoleAdmin, ScopeAdmin},
	ActionManageKeys:    {RoleAdmin, ScopeAdmin},
	ActionManageMembers: {RoleAdmin, ScopeAdmin},
	ActionReadAudit:     {RoleAdmin, ScopeAdmin},
	ActionManageOwners:  {RoleOwner, ""},
	ActionBilling:       {RoleOwner, ""},
	ActionReadBilling:   {RoleAdmin, ScopeAdmin},
	ActionDeleteOrg:     {RoleOwner, ""},
}

// PrincipalKind says how a caller signed in.
type PrincipalKind string

// Principal kinds.
const (
	// PrincipalInstance is the holder of the instance token
	// (AGENTSCOPE_TOKEN or the data dir's token): the owner of the
	// default organisation, as before there were people and keys.
	PrincipalInstance PrincipalKind = "instance"
	// PrincipalUser is a person, with their role in the organisation.
	PrincipalUser PrincipalKind = "user"
	// PrincipalKey is an API key, with its scopes.
	PrincipalKey PrincipalKind = "key"
	// PrincipalOAuth is an MCP host holding an OAuth access token: it acts
	// for the person who approved its grant, with the grant's scopes and
	// never beyond that person's role then.
	PrincipalOAuth PrincipalKind = "oauth"
	// PrincipalSystem is AgentScope itself acting in an organisation: see
	// SystemPrincipal and ManagedAgentPrincipal. It is authorized by its
	// role like a person.
	PrincipalSystem PrincipalKind = "system"
	// PrincipalOperator is whoever holds the data dir acting on the
	// database at the command line (OperatorPrincipal): an owner, named
	// ActorOperator in the audit log.
	PrincipalOperator PrincipalKind = ActorOperator
)

// Principal is an authenticated caller acting in one organisation.
type Principal struct {
	Kind  PrincipalKind
	OrgID string
	// UserID is the person (PrincipalUser).
	UserID string
	// KeyID is the API key (PrincipalKey).
	KeyID string
	// GrantID is the OAuth grant (PrincipalOAuth).
	GrantID string
	// Role is what the caller may do as a person; the instance token is
	// an owner. Empty for a key; for an OAuth token, the role of the
	// person who approved it.
	Role Role
	// Scopes are a key's or an OAuth token's scopes; empty for a person.
	Scopes []Scope
}

// Allows reports whether p may take action a.
func (p Principal) Allows(a Action) bool { return p.Authorize(a) == nil }

// Authorize returns nil when p may take action a, and otherwise an
// EFORBIDDEN error naming the role or scope it lacks.
func (p Principal) Authorize(a Action) error {
	perm, ok := Permissions[a]
	switch {
	case !ok:
		return Errorf(EFORBIDDEN, "unknown action %q", a)
	case p.Kind == PrincipalKey && perm.Scope == "":
		return Errorf(EFORBIDDEN, "%s needs a person with the %s role; an API key cannot", a, perm.Role)
	case p.Kind == PrincipalKey:
		if slices.Contains(p.Scopes, perm.Scope) || slices.Contains(p.Scopes, ScopeAdmin) {
			return nil
		}
		return Errorf(EFORBIDDEN, "this API key lacks the %s scope (%s)", perm.Scope, a)
	case p.Kind == PrincipalOAuth && perm.Scope == "":
		return Errorf(EFORBIDDEN, "%s needs a person with the %s role; an OAuth token cannot", a, perm.Role)
	case p.Kind == PrincipalOAuth:
		if !slices.Contains(p.Scopes, perm.Scope) && !slices.Contains(p.Scopes, ScopeAdmin) {
			return Errorf(EFORBIDDEN, "this OAuth token lacks the %s scope (%s)", perm.Scope, a)
		}
		if !p.Role.AtLeast(perm.Role) {
			return Errorf(EFORBIDDEN, "%s needs the %s role or above; the person who approved this OAuth token was %s", a, perm.Role, p.Role)
		}
		return nil
	case p.Kind == PrincipalUser || p.Kind == PrincipalInstance || p.Kind == PrincipalSystem || p.Kind == PrincipalOperator:
		if p.Role.AtLeast(perm.Role) {
			return nil
		}
		return Errorf(EFORBIDDEN, "%s needs the %s role or above; yours is %s", a, perm.Role, p.Role)
	}
	return Errorf(EFORBIDDEN, "unknown caller")
}

// Actor names p in the audit log: "user:<id>", "key:<id>" or "instance".
func (p Principal) Actor() string {
	switch p.Kind {
	case PrincipalUser:
		return "user:" + p.UserID
	case PrincipalKey:
		return "key:" + p.KeyID
	case PrincipalOAuth:
		return "oauth:" + p.GrantID
	}
	return string(p.Kind)
}

// ActorOperator is the audit log's actor for an operator acting on the
// database directly (the agentscope CLI).
const ActorOperator = "operator"

type principalKey struct{}

// WithPrincipal returns a context carrying the authenticated caller and its
// organisation (so OrgFrom reads it as before).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(WithOrg(ctx, p.OrgID), principalKey{}, p)
}

// PrincipalFrom returns the caller WithPrincipal put into ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
