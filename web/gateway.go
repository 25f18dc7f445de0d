package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
)

// routeGateway mounts the LLM gateway (Options.Gateway) on its routes,
// behind the API's authentication and rate limits. The AgentScope
// credential comes in Authorization, or in X-AgentScope-Key when
// Authorization carries the client's own provider key
// (gateway.Credential); its failures, and the caller's rate limit, are
// answered in the provider's error shape, which the SDKs read.
func (s *Server) routeGateway(mux *Router) {
	h := s.gatewayBearer(s.opts.Gateway)
	for _, p := range gateway.Routes {
		mux.Handle(p, h)
	}
}

func (s *Server) gatewayBearer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.opts.Auth.AuthenticateHeader(r.Context(), gateway.Credential(r))
		if err != nil {
			if agentscope.ErrorCode(err) == agentscope.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", bearerChallenge(r))
			}
			s.writeGatewayError(w, r, err)
			return
		}
		if err := s.limits.admit(p); err != nil {
			s.writeGatewayError(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(agentscope.WithPrincipal(r.Context(), p)))
	})
}

// writeGatewayError is writeError for the gateway's routes: the same
// status, message and Retry-After, in the provider's error shape, so that
// an SDK pointed at the gateway reads a bad key as its AuthenticationError
// and a rate limit as its RateLimitError.
func (s *Server) writeGatewayError(w http.ResponseWriter, r *http.Request, err error) {
	code := agentscope.ErrorCode(err)
	if code == agentscope.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	setRetryAfter(w, err)
	gateway.WriteError(w, r.URL.Path, codeStatus[code], "AgentScope: "+agentscope.ErrorMessage(err))
}
