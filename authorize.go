package agentscope

import "context"

// Every service operation (package service, the investigator's, the alert
// rules') starts with Authorize: the one check of who may do what, so the
// HTTP API and the MCP tools cannot drift apart. A context without a
// principal is refused, never allowed: a caller inside the process says who
// it acts as with one of the principals below.
//
// Who carries which principal:
//   - HTTP API, API websockets and /mcp over HTTP: the principal the bearer
//     credential signs in as (package identity): the instance token's owner,
//     or an API key with its scopes.
//   - The web UI's session: the owner of its organisation (as the instance
//     token that opened it).
//   - AgentScope's own work in an organisation (the investigator, live
//     detection and auto-investigation): SystemPrincipal, an owner.
//   - The operator's CLI commands acting on the database directly
//     (agentscope spl, agents, budgets, alerts, investigate, and the stdio
//     MCP server of agentscope mcp, run by whoever holds the data dir):
//     OperatorPrincipal, an owner, "operator" in the audit log.
//   - The per-organisation MCP servers the runtime builds for managed
//     agents: ManagedAgentPrincipal, a member: it may read, search, record,
//     run and investigate, never administer (the runtime also refuses to
//     give an agent the tools that change things).

// SystemPrincipal is AgentScope itself acting in org with an owner's
// rights.
func SystemPrincipal(org string) Principal {
	return Principal{Kind: PrincipalSystem, OrgID: org, Role: RoleOwner}
}

// OperatorPrincipal is the operator at the command line acting in org with
// an owner's rights; the audit log names it ActorOperator.
func OperatorPrincipal(org string) Principal {
	return Principal{Kind: PrincipalOperator, OrgID: org, Role: RoleOwner}
}

// ManagedAgentPrincipal is a managed agent acting in org through the MCP
// server the runtime gives it: a member, never an administrator.
func ManagedAgentPrincipal(org string) Principal {
	return Principal{Kind: PrincipalSystem, OrgID: org, Role: RoleMember}
}

// Authorize returns the organisation of the caller in ctx when it may take
// action a. Without a principal in ctx it is EUNAUTHORIZED; a caller that
// may not is EFORBIDDEN, naming the role or scope it lacks.
func Authorize(ctx context.Context, a Action) (string, error) {
	p, err := Caller(ctx)
	if err != nil {
		return "", err
	}
	if err := p.Authorize(a); err != nil {
		return "", err
	}
	return p.OrgID, nil
}

// Caller returns the principal in ctx, or EUNAUTHORIZED without one: for
// the operation whose action depends on what it finds (start_run of a
// managed agent queues a run, of any other agent records one), which then
// asks Principal.Authorize.
func Caller(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.OrgID == "" {
		return Principal{}, Errorf(EUNAUTHORIZED, "no authenticated caller")
	}
	return p, nil
}
