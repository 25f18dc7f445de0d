package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/web/ui"
)

// agentRecentRuns is how many of each agent's runs the agents page lists.
const agentRecentRuns = 5

func (s *Server) handleAgentsPage(w http.ResponseWriter, r *http.Request) {
	s.renderAgents(w, r, http.StatusOK, formResult{})
}

// formResult is a refused Run or Run Splunk Investigation form, shown
// again with its error.
type formResult struct {
	agent, input, err string
	investigateErr    string
}

func (s *Server) renderAgents(w http.ResponseWriter, r *http.Request, status int, form formResult) {
	ctx := r.Context()
	p := s.withFeed(ctx, s.page(r, "Agents", "agents"))
	v, err := s.agentsView(ctx)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	for i := range v.Agents {
		if v.Agents[i].Agent.Name == form.agent {
			v.Agents[i].Error, v.Agents[i].Input = form.err, form.input
			v.Agents[i].InvestigateError = form.investigateErr
		}
	}
	s.render(w, r, status, ui.AgentsPage(p, v))
}

func (s *Server) agentsView(ctx context.Context) (ui.Agents, error) {
	org, _ := agentscope.OrgFrom(ctx)
	agents, err := s.svc.ListAgents(ctx)
	if err != nil {
		return ui.Agents{}, err
	}
	v := ui.Agents{Now: time.Now(), Investigations: s.investigations != nil}
	budgets, known, berr := s.budgetsByAgent(ctx, org)
	v.BudgetsKnown = known
	if berr != nil {
		v.BudgetsError = agentscope.ErrorMessage(berr)
	}
	for _, a := range agents {
		page, err := s.svc.Runs(ctx, agentscope.RunFilter{Agent: a.Name, Limit: agentRecentRuns})
		if err != nil {
			return ui.Agents{}, err
		}
		v.Agents = append(v.Agents, ui.AgentRow{Agent: a, Budgets: budgets[a.Name], Runs: page.Runs})
	}
	return v, nil
}

// budgetsByAgent reads the budget source, if there is one. known is false
// without a source or when it failed.
func (s *Server) budgetsByAgent(ctx context.Context, org string) (map[string][]ui.BudgetView, bool, error) {
	if s.opts.UI.Budgets == nil {
		return nil, false, nil
	}
	list, err := s.opts.UI.Budgets.AgentBudgets(ctx, org)
	if err != nil {
		if agentscope.ErrorCode(err) == agentscope.EINTERNAL {
			s.log.Error("read budgets", "err", err)
		}
		return nil, false, err
	}
	out := map[string][]ui.BudgetView{}
	for _, b := range list {
		out[b.Agent] = append(out[b.Agent], ui.BudgetView{BudgetStatus: b})
	}
	return out, true, nil
}

// handleRunAgent queues a run of a managed agent from its Run form. The
// script posts it with X-Requested-With: fetch and inserts the returned
// row; without the script the browser is sent back to the agents page,
// where the new run is listed.
func (s *Server) handleRunAgent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	text := r.PostFormValue("input")
	fetch := r.Header.Get("X-Requested-With") == "fetch"
	run, err := s.runManaged(ctx, name, text)
	if err != nil {
		code := agentscope.ErrorCode(err)
		if code == agentscope.EINTERNAL {
			s.log.Error("queue run", "agent", name, "err", err)
		}
		if fetch {
			http.Error(w, agentscope.ErrorMessage(err), codeStatus[code])
			return
		}
		s.renderAgents(w, r, codeStatus[code], formResult{agent: name, input: text, err: agentscope.ErrorMessage(err)})
		return
	}
	if fetch {
		s.render(w, r, http.StatusCreated, ui.AgentRunRow(run, time.Now()))
		return
	}
	redirectOnSite(w, r, "/agents#agent-"+name)
}

// runManaged starts a run of a managed agent through the service layer,
// as start_run does. Only managed agents can be started here: a
// self-reported run started from a browser would never be ended.
func (s *Server) runManaged(ctx context.Context, name, text string) (agentscope.Run, error) {
	a, err := s.svc.GetAgent(ctx, name)
	if err != nil {
		return agentscope.Run{}, err
	}
	if a.Kind != agentscope.AgentManaged {
		return agentscope.Run{}, agentscope.Errorf(agentscope.EINVALID, "%s is an external agent: it reports its own runs and cannot be started here", name)
	}
	return s.svc.StartRun(ctx, service.StartRunInput{Agent: name, Input: formInput(text)})
}

// formInput turns the Run form's text into the run's input: JSON as it is,
// anything else as a JSON string; nothing for blank text.
func formInput(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil
	}
	if json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(t)
	return b
}
