package web

import (
	"net/http"
	"strconv"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

// The audit log, read through the service (an administrator's):
//
//	GET /api/v1/audit[?cursor=&limit=]   {"entries": [...], "next_cursor"}, newest first
//	GET /audit[?cursor=]                 the Audit page

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) (int, any, error) {
	f, err := auditFilter(r)
	if err != nil {
		return 0, nil, err
	}
	page, err := s.svc.ListAudit(r.Context(), f)
	return http.StatusOK, page, err
}

// auditFilter reads ?cursor= and ?limit= (1 to service.MaxAuditPage;
// default 50).
func auditFilter(r *http.Request) (agentscope.AuditFilter, error) {
	q := r.URL.Query()
	f := agentscope.AuditFilter{Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return f, agentscope.FieldErrorf("limit", "must be a whole number from 1, got %q", l)
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Audit log", "audit")
	f, err := auditFilter(r)
	if err == nil {
		var page agentscope.AuditPage
		page, err = s.svc.ListAudit(r.Context(), f)
		if err == nil {
			s.render(w, r, http.StatusOK, ui.AuditPage(p, ui.Audit{Entries: page.Entries, Cursor: f.Cursor, NextCursor: page.NextCursor}))
			return
		}
	}
	s.pageError(w, r, p, err)
}
