package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/agentscope/agentscope"
)

var codeStatus = map[string]int{
	agentscope.ECONFLICT:     http.StatusConflict,
	agentscope.EINVALID:      http.StatusBadRequest,
	agentscope.ENOTFOUND:     http.StatusNotFound,
	agentscope.EUNAUTHORIZED: http.StatusUnauthorized,
	agentscope.EFORBIDDEN:    http.StatusForbidden,
	agentscope.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	agentscope.EUNAVAILABLE:  http.StatusServiceUnavailable,
	agentscope.ERATELIMITED:  http.StatusTooManyRequests,
	agentscope.EPLANLIMIT:    http.StatusPaymentRequired,
	agentscope.EINTERNAL:     http.StatusInternalServerError,
}

// errorBody is the JSON of every API error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// writeError answers with err's status and client-safe message; internal
// errors are logged here, once, and their detail is not shown.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, body := errorAnswer(w, r, log, err)
	writeJSON(w, status, body)
}

// errorAnswer is the answer to err: its status and body. It logs an
// internal error and sets Retry-After on w where err carries one.
func errorAnswer(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) (int, errorBody) {
	code := agentscope.ErrorCode(err)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		code, err = agentscope.ETOOLARGE, agentscope.Errorf(agentscope.ETOOLARGE, "request body is larger than %d bytes", maxErr.Limit)
	}
	if code == agentscope.EINTERNAL && !errors.Is(err, context.Canceled) {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body errorBody
	body.Error.Code, body.Error.Message = code, agentscope.ErrorMessage(err)
	var e *agentscope.Error
	if errors.As(err, &e) {
		body.Error.Field = e.Field
	}
	setRetryAfter(w, err)
	return codeStatus[code], body
}

// appendBuffers holds the buffers writeJSON encodes jsonAppenders into;
// one bigger than maxPooledAnswer is left to the collector.
var appendBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledAnswer = 1 << 20

// jsonAppender is a value that encodes itself as encoding/json would,
// without reflection (a recording call's answer, a result per event).
type jsonAppender interface{ AppendJSON([]byte) []byte }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if a, ok := v.(jsonAppender); ok {
		// As Encode writes it: the JSON and a newline, in a buffer
		// kept for the next answer as encoding/json keeps its own.
		bp := appendBuffers.Get().(*[]byte)
		b := append(a.AppendJSON((*bp)[:0]), '\n')
		_, _ = w.Write(b)
		if cap(b) <= maxPooledAnswer {
			*bp = b
			appendBuffers.Put(bp)
		}
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}
