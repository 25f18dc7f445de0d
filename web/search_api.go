package web

import (
	"net/http"

	"github.com/agentscope/agentscope/service"
)

// RouteSearch adds the search endpoints, answered by the same service calls
// as the MCP tools run_spl, splunk_insights and splunk_health (configured
// by the service's SearchOptions):
//
//	POST /api/v1/spl            {"query", "earliest_time", "latest_time", "row_limit", "backend"}
//	                            → {"results", "fields", "backend", "query", "elapsed_ms"}
//	GET  /api/v1/insights       ?name=&earliest_time=&latest_time= : the operational searches
//	GET  /api/v1/splunk/health  Splunk forwarding health
func (s *Server) RouteSearch() {
	s.mux.Handle("POST /api/v1/spl", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in service.RunSPLInput
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		a, err := s.svc.RunSPL(r.Context(), in)
		return http.StatusOK, a, err
	}))
	s.mux.Handle("GET /api/v1/insights", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		out, err := s.svc.RunInsights(r.Context(), service.InsightsInput{Name: q.Get("name"), EarliestTime: q.Get("earliest_time"), LatestTime: q.Get("latest_time")})
		return http.StatusOK, out, err
	}))
	s.mux.Handle("GET /api/v1/splunk/health", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		h, err := s.svc.SplunkHealth(r.Context())
		return http.StatusOK, h, err
	}))
}
