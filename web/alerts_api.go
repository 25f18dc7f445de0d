package web

import (
	"context"
	"net/http"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// AlertRulesAPI manages alert rules (package alerts' Service implements
// it). The caller's organisation is in the context.
type AlertRulesAPI interface {
	CreateAlertRule(ctx context.Context, r agentscope.AlertRule) (agentscope.AlertRule, error)
	UpdateAlertRule(ctx context.Context, id string, r agentscope.AlertRule) (agentscope.AlertRule, error)
	ListAlertRules(ctx context.Context) ([]agentscope.AlertRule, error)
	GetAlertRule(ctx context.Context, id string) (agentscope.AlertRule, error)
	DeleteAlertRule(ctx context.Context, id string) error
}

// RouteAlertRules adds the alert rule endpoints:
//
//	GET    /api/v1/alerts/rules        the organisation's rules (no secrets)
//	POST   /api/v1/alerts/rules        create → 201, with the signing secret (shown once)
//	GET    /api/v1/alerts/rules/{id}   one rule
//	PUT    /api/v1/alerts/rules/{id}   replace its settings (secret and webhook URL kept unless given)
//	DELETE /api/v1/alerts/rules/{id}   delete it
func (s *Server) RouteAlertRules(api AlertRulesAPI) {
	s.mux.Handle("GET /api/v1/alerts/rules", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		rs, err := api.ListAlertRules(r.Context())
		return http.StatusOK, map[string]any{"rules": rs}, err
	}))
	s.mux.Handle("POST /api/v1/alerts/rules", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in service.AlertRuleInput
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		rule, err := api.CreateAlertRule(r.Context(), in.Rule())
		return http.StatusCreated, rule, err
	}))
	s.mux.Handle("GET /api/v1/alerts/rules/{id}", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		rule, err := api.GetAlertRule(r.Context(), r.PathValue("id"))
		return http.StatusOK, rule, err
	}))
	s.mux.Handle("PUT /api/v1/alerts/rules/{id}", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in service.AlertRuleInput
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		rule, err := api.UpdateAlertRule(r.Context(), r.PathValue("id"), in.Rule())
		return http.StatusOK, rule, err
	}))
	s.mux.Handle("DELETE /api/v1/alerts/rules/{id}", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, map[string]string{"deleted": r.PathValue("id")}, api.DeleteAlertRule(r.Context(), r.PathValue("id"))
	}))
}
