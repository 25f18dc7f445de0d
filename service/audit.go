package service

import (
	"context"

	"github.com/agentscope/agentscope"
)

// AuditLog keeps organisations' audit logs (*sqlstore.Store): the store
// writes each entry with the change it records, so the service only reads.
type AuditLog interface {
	ListAudit(ctx context.Context, orgID string, f agentscope.AuditFilter) (agentscope.AuditPage, error)
}

// MaxAuditPage is the most entries one page of the audit log holds.
const MaxAuditPage = 500

// ListAudit returns a page of the caller's organisation's audit log,
// newest first (GET /api/v1/audit and the Audit page). Reading it is an
// administrator's (agentscope.ActionReadAudit).
func (s *Service) ListAudit(ctx context.Context, f agentscope.AuditFilter) (agentscope.AuditPage, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionReadAudit)
	if err != nil {
		return agentscope.AuditPage{}, err
	}
	if f.Limit < 0 || f.Limit > MaxAuditPage {
		return agentscope.AuditPage{}, agentscope.FieldErrorf("limit", "must be between 1 and %d, got %d", MaxAuditPage, f.Limit)
	}
	if s.audit == nil {
		return agentscope.AuditPage{}, agentscope.Errorf(agentscope.EUNAVAILABLE, "the audit log is not available in this process")
	}
	page, err := s.audit.ListAudit(ctx, org, f)
	if page.Entries == nil {
		page.Entries = []agentscope.AuditEntry{}
	}
	return page, err
}
