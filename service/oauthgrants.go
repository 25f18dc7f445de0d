package service

import (
	"context"

	"github.com/agentscope/agentscope"
)

// OAuthGrants keeps the grants people gave MCP hosts on the consent page
// (*sqlstore.Store).
type OAuthGrants interface {
	ListOAuthGrants(ctx context.Context, orgID string) ([]agentscope.OAuthGrant, error)
	RevokeOAuthGrant(ctx context.Context, orgID, id, actor string) error
}

// ListOAuthGrants returns the caller's organisation's OAuth grants, revoked
// ones included, oldest first (GET /api/v1/oauth/grants). Like keys, they
// are an administrator's to see (agentscope.ActionManageKeys).
func (s *Service) ListOAuthGrants(ctx context.Context) ([]agentscope.OAuthGrant, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionManageKeys)
	if err != nil {
		return nil, err
	}
	if s.grants == nil {
		return nil, agentscope.Errorf(agentscope.EUNAVAILABLE, "OAuth grants are not available in this process")
	}
	return s.grants.ListOAuthGrants(ctx, org)
}

// RevokeOAuthGrant ends one of the caller's organisation's OAuth grants
// and every token of it (DELETE /api/v1/oauth/grants/{id}); another
// organisation's grant is not found.
func (s *Service) RevokeOAuthGrant(ctx context.Context, id string) error {
	org, err := agentscope.Authorize(ctx, agentscope.ActionManageKeys)
	if err != nil {
		return err
	}
	if s.grants == nil {
		return agentscope.Errorf(agentscope.EUNAVAILABLE, "OAuth grants are not available in this process")
	}
	return s.grants.RevokeOAuthGrant(ctx, org, id, agentscope.ActorFrom(ctx))
}
