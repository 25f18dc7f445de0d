package web

import (
	"net/http"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
)

// The API key endpoints (admin: agentscope.ActionManageKeys, checked by
// the service):
//
//	POST   /api/v1/keys       {name, scopes, expires_at?} → 201 {id, key, prefix, scopes, created_at, expires_at}: the key, shown once
//	GET    /api/v1/keys       the organisation's keys, never their secrets
//	DELETE /api/v1/keys/{id}  revoke → the key, revoked
func (s *Server) routeKeys(mux *Router) {
	mux.Handle("POST /api/v1/keys", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in struct {
			Name      string             `json:"name"`
			Scopes    []agentscope.Scope `json:"scopes"`
			ExpiresAt *string            `json:"expires_at"`
		}
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		ck := service.CreateKeyInput{Name: in.Name, Scopes: in.Scopes}
		if in.ExpiresAt != nil && *in.ExpiresAt != "" {
			at, err := time.Parse(time.RFC3339, *in.ExpiresAt)
			if err != nil {
				return 0, nil, agentscope.FieldErrorf("expires_at", "must be an RFC 3339 time such as 2027-01-31T00:00:00Z")
			}
			ck.ExpiresAt = &at
		}
		k, cred, err := s.svc.CreateKey(r.Context(), ck)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, createdKey{ID: k.ID, Key: cred.Reveal(), Prefix: k.Prefix, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}, nil
	}))
	mux.Handle("GET /api/v1/keys", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		keys, err := s.svc.ListKeys(r.Context())
		views := make([]keyView, len(keys))
		for i, k := range keys {
			views[i] = viewOfKey(k)
		}
		return http.StatusOK, map[string]any{"keys": views}, err
	}))
	mux.Handle("DELETE /api/v1/keys/{id}", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		k, err := s.svc.RevokeKey(r.Context(), r.PathValue("id"))
		return http.StatusOK, viewOfKey(k), err
	}))
}

// createdKey is POST /api/v1/keys' answer: the only one with the key.
type createdKey struct {
	ID        string             `json:"id"`
	Key       string             `json:"key"`
	Prefix    string             `json:"prefix"`
	Name      string             `json:"name"`
	Scopes    []agentscope.Scope `json:"scopes"`
	CreatedAt time.Time          `json:"created_at"`
	ExpiresAt *time.Time         `json:"expires_at"`
}

// keyView is a key as listed: every field always present (null when
// unset), the secret and its hash never.
type keyView struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Prefix     string             `json:"prefix"`
	Scopes     []agentscope.Scope `json:"scopes"`
	CreatedBy  string             `json:"created_by"`
	CreatedAt  time.Time          `json:"created_at"`
	ExpiresAt  *time.Time         `json:"expires_at"`
	LastUsedAt *time.Time         `json:"last_used_at"`
	RevokedAt  *time.Time         `json:"revoked_at"`
}

func viewOfKey(k agentscope.APIKey) keyView {
	return keyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt,
		ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}
