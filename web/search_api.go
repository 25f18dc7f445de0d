package web

import (
	"net/http"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/search"
)

// RouteSearch adds the search endpoints:
//
//	POST /api/v1/spl            {"query", "earliest_time", "latest_time", "row_limit", "backend"}
//	                            → {"results", "fields", "backend", "query", "elapsed_ms"}
//	GET  /api/v1/insights       ?name=&earliest_time=&latest_time= : the operational searches
//	GET  /api/v1/splunk/health  Splunk forwarding health
func (s *Server) RouteSearch(t search.Tools) {
	s.mux.Handle("POST /api/v1/spl", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in search.RunSPLInput
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		org, err := agentscope.OrgFrom(r.Context())
		if err != nil {
			return 0, nil, err
		}
		a, err := t.Router.Search(r.Context(), org, agentscope.SearchQuery{Query: in.Query, Earliest: in.EarliestTime, Latest: in.LatestTime, Limit: in.RowLimit, Backend: in.Backend})
		return http.StatusOK, a, err
	}))
	s.mux.Handle("GET /api/v1/insights", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		org, err := agentscope.OrgFrom(r.Context())
		if err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		res, err := t.Insights(r.Context(), org, q.Get("name"), q.Get("earliest_time"), q.Get("latest_time"))
		return http.StatusOK, search.InsightsOutput{Insights: res}, err
	}))
	s.mux.Handle("GET /api/v1/splunk/health", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		if t.Health == nil {
			return http.StatusOK, agentscope.SplunkHealth{}, nil // forwarding not configured
		}
		return http.StatusOK, t.Health(r.Context()), nil
	}))
}
