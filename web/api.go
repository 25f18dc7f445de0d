package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/jsonscan"
	"github.com/agentscope/agentscope/service"
)

func (s *Server) routeAPI(mux *Router) {
	mux.Handle("POST /api/v1/runs", s.api(s.handleStartRun))
	mux.Handle("GET /api/v1/runs", s.api(s.handleListRuns))
	mux.Handle("GET /api/v1/runs/{session_id}", s.api(s.handleGetRun))
	mux.Handle("POST /api/v1/runs/{session_id}/end", s.api(s.handleEndRun))
	mux.Handle("POST /api/v1/runs/{session_id}/cancel", s.api(s.handleCancelRun))
	mux.Handle("POST /api/v1/events", s.api(s.handleRecord))
	mux.Handle("GET /api/v1/sessions/{session_id}/events", s.api(s.handleReplay))
	mux.Handle("GET /api/v1/sessions/{session_id}/live", s.bearer(http.HandlerFunc(s.handleLive)))
	s.routeKeys(mux)
	mux.Handle("GET /api/v1/audit", s.api(s.handleListAudit))
	mux.Handle("GET /api/v1/billing/usage", s.api(s.handleBillingUsage))
	mux.Handle("GET /api/v1/oauth/grants", s.api(s.handleListOAuthGrants))
	mux.Handle("DELETE /api/v1/oauth/grants/{id}", s.api(s.handleRevokeOAuthGrant))
}

// apiHandler is an API endpoint: it returns the value to encode or an error.
type apiHandler func(w http.ResponseWriter, r *http.Request) (status int, v any, err error)

// api wraps an endpoint with bearer authentication, a body limit and JSON
// encoding of its result or error.
func (s *Server) api(h apiHandler) http.Handler {
	return s.bearer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, read := r.Body.(*readBodyOf); !read { // limitRequest bounded it already
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		}
		status, v, err := h(w, r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, status, v)
	}))
}

// decodeBody decodes a JSON request body into v, refusing unknown fields,
// anything after the one JSON value, and a key sent twice (decoding would
// keep only the last value, silently).
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return err
		}
		return agentscope.Errorf(agentscope.EINVALID, "request body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return agentscope.Errorf(agentscope.EINVALID, "request body: trailing data after the JSON value; send exactly one JSON value")
	}
	if path, why, ok := jsonscan.Check(body); !ok {
		return agentscope.Errorf(agentscope.EINVALID, "request body: %s %s", strings.TrimPrefix(path, "."), why)
	}
	return nil
}

func (s *Server) handleStartRun(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var in service.StartRunInput
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	run, err := s.svc.StartRun(r.Context(), in)
	return http.StatusCreated, run, err
}

func (s *Server) handleEndRun(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var in service.EndRunInput
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if in.SessionID != "" && in.SessionID != r.PathValue("session_id") {
		return 0, nil, agentscope.FieldErrorf("session_id", "body says %q but the path says %q", in.SessionID, r.PathValue("session_id"))
	}
	in.SessionID = r.PathValue("session_id")
	run, err := s.svc.EndRun(r.Context(), in)
	return http.StatusOK, run, err
}

func (s *Server) handleCancelRun(w http.ResponseWriter, r *http.Request) (int, any, error) {
	run, err := s.svc.CancelRun(r.Context(), r.PathValue("session_id"))
	return http.StatusOK, run, err
}

func (s *Server) handleGetRun(w http.ResponseWriter, r *http.Request) (int, any, error) {
	run, err := s.svc.GetRun(r.Context(), r.PathValue("session_id"))
	return http.StatusOK, run, err
}

func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	in := service.ListRunsInput{Agent: q.Get("agent"), Status: q.Get("status"), Since: q.Get("since"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return 0, nil, agentscope.FieldErrorf("limit", "must be an integer, got %q", l)
		}
		in.Limit = n
	}
	page, err := s.svc.ListRuns(r.Context(), in)
	return http.StatusOK, page, err
}

func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	in := service.ReplayInput{SessionID: r.PathValue("session_id"), Cursor: q.Get("cursor")}
	if t := q.Get("types"); t != "" {
		in.Types = strings.Split(t, ",")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return 0, nil, agentscope.FieldErrorf("limit", "must be an integer, got %q", l)
		}
		in.Limit = n
	}
	page, err := s.svc.Replay(r.Context(), in)
	return http.StatusOK, page, err
}

// handleRecord takes events as a JSON array or as NDJSON (one object per
// line); each carries its session_id. The answer lists every event.
func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request) (int, any, error) {
	body, err := bodyBytes(r)
	if err != nil {
		return 0, nil, err
	}
	batch, err := splitEvents(body)
	if err != nil {
		return 0, nil, err
	}
	results, err := s.svc.RecordBatch(r.Context(), "", &batch)
	if err != nil {
		return 0, nil, err
	}
	resp := service.Tally(results)
	status := http.StatusOK
	if resp.Accepted == 0 {
		status = http.StatusBadRequest
		if allCode(results, agentscope.ECONFLICT) {
			status = http.StatusConflict
		} else if allCode(results, agentscope.EPLANLIMIT) {
			// Refused whole for the organisation's plan limit.
			status = http.StatusPaymentRequired
		}
	} else if resp.Rejected > 0 {
		status = http.StatusMultiStatus
	}
	return status, resp, nil
}

// allCode reports whether every result was refused with code: a conflict
// (an ended session, or an event_id already recorded with another body),
// or the plan's limit.
func allCode(results []service.RecordResult, code string) bool {
	for _, r := range results {
		if r.Code != code {
			return false
		}
	}
	return len(results) > 0
}

// splitEvents splits a JSON array or NDJSON body into raw events; those of
// an array are decoded as they are split.
func splitEvents(body []byte) (agentscope.EventBatch, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return agentscope.EventBatch{}, agentscope.Errorf(agentscope.EINVALID, "request body is empty; send a JSON array of events or NDJSON")
	}
	var raws []json.RawMessage
	if trimmed[0] == '[' {
		b, ok := agentscope.SplitEvents(trimmed, service.MaxBatchEvents)
		if !ok {
			if err := json.Unmarshal(trimmed, &raws); err != nil {
				return agentscope.EventBatch{}, agentscope.Errorf(agentscope.EINVALID, "request body is not a JSON array of events: %s", agentscope.ErrorMessage(bodyError(err)))
			}
			b = agentscope.BatchOf(raws)
		}
		if len(b.Raw) > service.MaxBatchEvents {
			return agentscope.EventBatch{}, agentscope.Errorf(agentscope.ETOOLARGE, "%d events in one request; at most %d", len(b.Raw), service.MaxBatchEvents)
		}
		return b, nil
	}
	// NDJSON: the lines share the body's memory, which nothing else
	// holds or changes.
	for rest := trimmed; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if l := bytes.TrimSpace(line); len(l) > 0 {
			if len(raws) == service.MaxBatchEvents {
				return agentscope.EventBatch{}, agentscope.Errorf(agentscope.ETOOLARGE, "more than %d events in one request; at most %d", service.MaxBatchEvents, service.MaxBatchEvents)
			}
			raws = append(raws, json.RawMessage(l[:len(l):len(l)]))
		}
	}
	return agentscope.BatchOf(raws), nil
}
