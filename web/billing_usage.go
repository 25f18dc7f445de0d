package web

import "net/http"

// handleBillingUsage is GET /api/v1/billing/usage: the organisation's plan
// and its usage this period against every limit (owners and admins, keys
// with the admin scope: agentscope.ActionReadBilling); {"enabled": false}
// with billing off.
func (s *Server) handleBillingUsage(w http.ResponseWriter, r *http.Request) (int, any, error) {
	u, err := s.svc.BillingUsage(r.Context())
	return http.StatusOK, u, err
}
