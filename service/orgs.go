package service

import (
	"context"
	"log/slog"

	"github.com/agentscope/agentscope"
)

// OrgStore keeps the organisations (the SQL store).
type OrgStore interface {
	GetOrg(ctx context.Context, id string) (agentscope.Org, error)
	DeleteOrg(ctx context.Context, orgID string) (map[string]int64, error)
}

// DeleteOrgInput confirms the deletion of the caller's organisation by
// repeating its name.
type DeleteOrgInput struct {
	Confirm string `json:"confirm"`
}

// DeleteOrg deletes the caller's organisation and everything it holds —
// sessions and their events, runs, agents, budgets, alert rules, reports,
// keys, members, invitations, OAuth grants, the audit log and what waits
// to be forwarded — and returns how many rows each table lost. Only an
// owner may (no API key can), confirming with the organisation's exact
// name; the default organisation, the instance token's, cannot be
// deleted. What Splunk already indexed stays there.
func (s *Service) DeleteOrg(ctx context.Context, in DeleteOrgInput) (map[string]int64, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionDeleteOrg)
	if err != nil {
		return nil, err
	}
	if s.orgs == nil {
		return nil, agentscope.Errorf(agentscope.EUNAVAILABLE, "deleting organisations is not available in this AgentScope process")
	}
	if org == agentscope.DefaultOrgID {
		return nil, agentscope.Errorf(agentscope.EINVALID, "the default organisation belongs to the instance token (AGENTSCOPE_TOKEN) and cannot be deleted")
	}
	o, err := s.orgs.GetOrg(ctx, org)
	if err != nil {
		return nil, err
	}
	if in.Confirm != o.Name {
		return nil, agentscope.FieldErrorf("confirm", "must be the organisation's name, %q, exactly", o.Name)
	}
	deleted, err := s.orgs.DeleteOrg(ctx, org)
	if err != nil {
		return nil, err
	}
	// Its audit log went with it: the deletion is told here, once.
	p, _ := agentscope.PrincipalFrom(ctx)
	s.log.Warn("organisation deleted", slog.String("org_id", org), slog.String("actor", p.Actor()), slog.Int64("events", deleted["events"]), slog.Int64("runs", deleted["runs"]))
	return deleted, nil
}
