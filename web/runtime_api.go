package web

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/agentscope/agentscope"
)

// TokenStream streams the model tokens of the runs executing in this
// process (package runtime's Runtime implements it). The caller's
// organisation is in the context.
type TokenStream interface {
	StreamTokens(ctx context.Context, sessionID string, subscribed func(), fn func(spanID, text string) error) error
}

// RouteRuntime adds the managed-agent endpoints, the agents and budgets
// through the service and the tokens from tokens:
//
//	GET  /api/v1/agents                          the organisation's agents
//	POST /api/v1/agents                          {"name", "definition"}: create a managed agent;
//	                                             {"name", "kind": "external"}: register an external one
//	GET  /api/v1/agents/{name}                   one agent
//	PUT  /api/v1/agents/{name}                   {"definition"}: replace its definition
//	GET  /api/v1/budgets[?agent=]                budgets with the current period's spend
//	PUT  /api/v1/budgets                         {"agent", "period", "limit_usd", "hard_cap"}
//	GET  /api/v1/sessions/{session_id}/tokens    server-sent events of the run's streamed tokens
func (s *Server) RouteRuntime(tokens TokenStream) {
	api := s.svc
	s.mux.Handle("GET /api/v1/agents", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		agents, err := api.ListAgents(r.Context())
		return http.StatusOK, map[string]any{"agents": agents}, err
	}))
	s.mux.Handle("POST /api/v1/agents", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in struct {
			Name       string          `json:"name"`
			Kind       string          `json:"kind"`
			Definition json.RawMessage `json:"definition"`
		}
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		switch agentscope.AgentKind(in.Kind) {
		case "", agentscope.AgentManaged:
			a, err := api.CreateAgent(r.Context(), in.Name, in.Definition)
			return http.StatusCreated, a, err
		case agentscope.AgentExternal:
			if len(in.Definition) > 0 && string(in.Definition) != "null" {
				return 0, nil, agentscope.FieldErrorf("definition", "is for a managed agent; an external agent runs elsewhere and has none")
			}
			a, err := api.RegisterAgent(r.Context(), in.Name)
			return http.StatusCreated, a, err
		default:
			return 0, nil, agentscope.FieldErrorf("kind", "must be managed or external (got %q)", in.Kind)
		}
	}))
	s.mux.Handle("GET /api/v1/agents/{name}", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		a, err := api.GetAgent(r.Context(), r.PathValue("name"))
		return http.StatusOK, a, err
	}))
	s.mux.Handle("PUT /api/v1/agents/{name}", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in struct {
			Name       string          `json:"name,omitempty"`
			Definition json.RawMessage `json:"definition"`
		}
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		if in.Name != "" && in.Name != r.PathValue("name") {
			return 0, nil, agentscope.FieldErrorf("name", "body says %q but the path says %q", in.Name, r.PathValue("name"))
		}
		a, err := api.UpdateAgent(r.Context(), r.PathValue("name"), in.Definition)
		return http.StatusOK, a, err
	}))
	s.mux.Handle("GET /api/v1/budgets", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		bs, err := api.GetBudgets(r.Context(), r.URL.Query().Get("agent"))
		return http.StatusOK, map[string]any{"budgets": bs}, err
	}))
	s.mux.Handle("PUT /api/v1/budgets", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in struct {
			Agent    string         `json:"agent"`
			Period   string         `json:"period"`
			LimitUSD agentscope.USD `json:"limit_usd"`
			HardCap  bool           `json:"hard_cap"`
		}
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		b, err := api.SetBudget(r.Context(), agentscope.AgentCostBudget{Agent: in.Agent, Period: agentscope.BudgetPeriod(in.Period), LimitUSD: in.LimitUSD, HardCap: in.HardCap})
		return http.StatusOK, b, err
	}))
	s.mux.Handle("GET /api/v1/sessions/{session_id}/tokens", s.bearer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handleTokens(w, r, tokens)
	})))
}

// handleTokens streams a run's model tokens as server-sent events, one
// "data: {span_id, text}" event per piece, as the process's workers
// receive them. Tokens are not stored: a client that connects late sees
// the answers in ModelCompleted events (replay or /live) instead.
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request, tokens TokenStream) {
	sid := r.PathValue("session_id")
	if _, err := s.svc.GetRun(r.Context(), sid); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, r, s.log, agentscope.Errorf(agentscope.EUNAVAILABLE, "streaming is not supported on this connection"))
		return
	}
	err := tokens.StreamTokens(r.Context(), sid, func() {
		// Subscribed: the answer's headers tell the client it will miss
		// nothing from now on.
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		fl.Flush()
	}, func(spanID, text string) error {
		b, _ := json.Marshal(map[string]string{"span_id": spanID, "text": text})
		if _, err := w.Write(append(append([]byte("data: "), b...), '\n', '\n')); err != nil {
			return err
		}
		fl.Flush()
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		s.log.Debug("token stream ended", "session_id", sid, "err", err)
	}
}
