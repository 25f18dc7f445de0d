package service

import (
	"context"
	"time"

	"github.com/agentscope/agentscope"
)

// KeyStore keeps the organisations' API keys (the SQL store). Creating and
// revoking a key writes its audit entry in the same transaction.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k agentscope.APIKey) (agentscope.APIKey, agentscope.Credential, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]agentscope.APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id, actor string) (agentscope.APIKey, error)
}

// CreateKeyInput is a new API key: what it is for, its scopes and when,
// if ever, it stops working.
type CreateKeyInput struct {
	Name      string             `json:"name"`
	Scopes    []agentscope.Scope `json:"scopes"`
	ExpiresAt *time.Time         `json:"expires_at,omitempty"`
}

// CreateKey makes an API key of the caller's organisation, created by the
// caller (the audit log names it), and returns it with its credential:
// the only time the key exists outside the caller's hands.
func (s *Service) CreateKey(ctx context.Context, in CreateKeyInput) (agentscope.APIKey, agentscope.Credential, error) {
	p, org, err := s.keysCaller(ctx)
	if err != nil {
		return agentscope.APIKey{}, agentscope.Credential{}, err
	}
	if s.billing != nil {
		if err := s.billing.CheckAPIKey(ctx, org); err != nil {
			return agentscope.APIKey{}, agentscope.Credential{}, err
		}
	}
	return s.keys.CreateAPIKey(ctx, agentscope.APIKey{OrgID: org, Name: in.Name, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt, CreatedBy: p.Actor()})
}

// ListKeys lists the organisation's API keys, revoked ones included,
// oldest first: never their secrets.
func (s *Service) ListKeys(ctx context.Context) ([]agentscope.APIKey, error) {
	_, org, err := s.keysCaller(ctx)
	if err != nil {
		return nil, err
	}
	return s.keys.ListAPIKeys(ctx, org)
}

// RevokeKey stops the organisation's key id from signing in and returns
// it; another organisation's key is ENOTFOUND, like a missing one.
func (s *Service) RevokeKey(ctx context.Context, id string) (agentscope.APIKey, error) {
	p, org, err := s.keysCaller(ctx)
	if err != nil {
		return agentscope.APIKey{}, err
	}
	return s.keys.RevokeAPIKey(ctx, org, id, p.Actor())
}

// keysCaller authorizes the caller to manage keys.
func (s *Service) keysCaller(ctx context.Context) (agentscope.Principal, string, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionManageKeys)
	if err != nil {
		return agentscope.Principal{}, "", err
	}
	if s.keys == nil {
		return agentscope.Principal{}, "", agentscope.Errorf(agentscope.EUNAVAILABLE, "API keys are not available in this process")
	}
	p, _ := agentscope.PrincipalFrom(ctx)
	return p, org, nil
}
