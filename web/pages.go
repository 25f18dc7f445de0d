package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a component as the response. It renders into a buffer
// first, so a failure mid-page becomes an error response rather than half
// a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := renderBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer renderBuffers.Put(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Error("render page", "path", r.URL.Path, "err", err)
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// page returns the frame data of a signed-in page.
func (s *Server) page(r *http.Request, title, nav string) ui.Page {
	sess, _ := sessionFrom(r.Context())
	p := ui.Page{Title: title, Nav: nav, Org: sess.OrgID, CSRF: s.sessions.csrfToken(sess), Members: s.opts.UI.Accounts != nil, Connections: s.opts.OAuth != nil}
	if sess.UserID != "" && s.opts.UI.Accounts != nil {
		s.personOnPage(r.Context(), &p, sess)
	}
	if caller, ok := agentscope.PrincipalFrom(r.Context()); ok && s.billing != nil {
		p.Billing = caller.Allows(agentscope.ActionBilling)
	}
	return p
}

// withFeed adds the organisation feed's cursor at now to a page that
// updates its run rows live. Taken before the page reads the store, so
// anything that commits while it renders arrives over the feed.
func (s *Server) withFeed(ctx context.Context, p ui.Page) ui.Page {
	cur, err := startFeedCursor(ctx, s.svc, time.Now())
	if err != nil {
		s.log.Warn("start organisation feed cursor", "err", err)
		return p
	}
	p.Feed = cur.encode()
	return p
}

// pageError shows an error page with err's status and client-safe text.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, p ui.Page, err error) {
	code := agentscope.ErrorCode(err)
	if code == agentscope.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	status := codeStatus[code]
	if p.Title == "" {
		p.Title = http.StatusText(status)
	}
	s.render(w, r, status, ui.ErrorPage(p, status, agentscope.ErrorMessage(err)))
}
