package web

import (
	"net/http"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
)

// routeGateway mounts the LLM gateway (Options.Gateway) on its routes,
// behind the API's authentication and rate limits. The AgentScope
// credential comes in Authorization, or in X-AgentScope-Key when
// Authorization carries the client's own provider key
// (gateway.Credential); its failures are answered in the provider's error
// shape, which the SDKs read.
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
			writeError(w, r, s.log, err)
			return
		}
		s.serveAs(w, r, h, p)
	})
}
