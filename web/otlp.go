package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/otlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
)

// routeOTLP serves OTLP/HTTP trace ingest on the API's listener, behind the
// same bearer authentication (the key needs the record action).
func (s *Server) routeOTLP(mux *Router) {
	mux.Handle("POST /v1/traces", s.bearer(http.HandlerFunc(s.handleOTLPTraces)))
	mux.Handle("GET /api/v1/sessions/{session_id}/otlp", s.bearer(http.HandlerFunc(s.handleSessionOTLP)))
}

// handleSessionOTLP exports a session as OTLP JSON (an
// ExportTraceServiceRequest another OTLP receiver takes as it is).
func (s *Server) handleSessionOTLP(w http.ResponseWriter, r *http.Request) {
	req, err := s.svc.ExportSessionOTLP(r.Context(), r.PathValue("session_id"))
	var out []byte
	if err == nil {
		out, err = otlp.MarshalJSON(req)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Content-Type", otlp.ContentTypeJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// handleOTLPTraces answers as the OTLP/HTTP specification asks: the
// ExportTraceServiceResponse (with partial_success when spans were not
// recorded) in the request's encoding, 415 for another Content-Type, and
// a google.rpc.Status body with every 4xx and 5xx.
func (s *Server) handleOTLPTraces(w http.ResponseWriter, r *http.Request) {
	enc, err := otlp.ParseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		s.writeOTLPStatus(w, otlp.JSON, http.StatusUnsupportedMediaType, err.Error())
		return
	}
	if _, read := r.Body.(*readBodyOf); !read {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	}
	out, err := s.ingestOTLP(r, enc)
	if err == nil {
		w.Header().Set("Content-Type", enc.ContentType())
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return
	}
	code := agentscope.ErrorCode(err)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		code, err = agentscope.ETOOLARGE, agentscope.Errorf(agentscope.ETOOLARGE, "request body is larger than %d bytes", maxErr.Limit)
	}
	if code == agentscope.EINTERNAL {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var e *agentscope.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter.Seconds()))))
	}
	s.writeOTLPStatus(w, enc, codeStatus[code], agentscope.ErrorMessage(err))
}

// ingestOTLP reads, decodes and records r's export and returns the
// encoded ExportTraceServiceResponse.
func (s *Server) ingestOTLP(r *http.Request, enc otlp.Encoding) ([]byte, error) {
	body, err := otlp.ReadBody(r.Body, r.Header.Get("Content-Encoding"), s.opts.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	req, err := otlp.DecodeTraces(body, enc)
	if err != nil {
		return nil, err
	}
	resp, err := s.svc.IngestTraces(r.Context(), req)
	if err != nil {
		return nil, err
	}
	return otlp.EncodeResponse(resp, enc)
}

// writeOTLPStatus writes a google.rpc.Status error body in enc.
func (s *Server) writeOTLPStatus(w http.ResponseWriter, enc otlp.Encoding, status int, msg string) {
	out, err := otlp.EncodeResponse(&spb.Status{Code: int32(grpcCode(status)), Message: msg}, enc)
	if err != nil {
		s.log.Error("encode OTLP status", "err", err)
	}
	w.Header().Set("Content-Type", enc.ContentType())
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// grpcCode is the google.rpc.Code that goes with an HTTP status.
func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 3 // INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	case http.StatusNotFound:
		return 5 // NOT_FOUND
	case http.StatusConflict:
		return 6 // ALREADY_EXISTS
	case http.StatusRequestEntityTooLarge:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusTooManyRequests:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusUnsupportedMediaType:
		return 3
	case http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	return 13 // INTERNAL
}
