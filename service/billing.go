package service

import (
	"context"

	"github.com/agentscope/agentscope"
)

// BillingUsage is the caller's organisation's plan and its usage this
// billing period against every limit (owners and admins, keys with the
// admin scope). With billing off it answers enabled: false.
func (s *Service) BillingUsage(ctx context.Context) (agentscope.BillingUsage, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionReadBilling)
	if err != nil {
		return agentscope.BillingUsage{}, err
	}
	if s.billing == nil {
		return agentscope.BillingUsage{OrgID: org}, nil
	}
	return s.billing.OrgUsage(ctx, org)
}
