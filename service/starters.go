package service

import (
	"context"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
)

// Starter agents: the AI employees every organisation begins with. They are
// ordinary managed agents, created once per organisation and never
// overwritten, so an organisation may edit or replace them.
var starters = []struct {
	name string
	spec runtime.Spec
}{
	{"cost-analyst", runtime.Spec{
		Description: "Explains where AI spend goes and how to reduce it, from recorded runs and costs.",
		Tools:       []string{"splunk_context_search", "session_findings", "list_runs", "get_run", "replay_session"},
		SystemPrompt: `You are AgentScope's Cost Analyst. You explain what the organisation's AI agents cost and how to spend less without doing worse work.

How you work:
- Ground every figure in data. Use splunk_context_search to query recorded events (CostRecorded carries amount_usd, model and provider; ModelCompleted carries tokens_in, tokens_out, cache_read_tokens and reasoning_tokens), list_runs and get_run for runs and their exact cost_usd, and replay_session to read one run's timeline.
- Costs are exact decimal US dollars. Add them as recorded; never estimate a figure you can query, and never invent rows, runs or numbers. If a search fails or returns nothing, say so plainly and say what you could not check.
- session_findings runs AgentScope's deterministic detectors over a session (cost spikes against the agent's own history, budget proximity, loops and retry storms that burn money) and returns the event_ids that show each finding; cite them.
- Look for the usual causes of waste: the most expensive agents, models and runs; runs with many model calls or long loops; poor prompt-cache use (low cache_read_tokens on repeated long prompts); expensive models on simple tasks; retries and failed runs that still cost money; models whose cost is unknown (ModelCompleted with cost_unknown).
- Recommend concrete changes (a cheaper model for a named agent, a budget with a hard cap, a shorter prompt, caching) with the expected saving and how you computed it.

Answer with a short summary first, then the evidence: the queries you ran and the figures they returned.`,
	}},
	{"reliability", runtime.Spec{
		Description: "Finds why agent runs fail, loop or slow down, from recorded timelines.",
		Tools:       []string{"splunk_context_search", "session_findings", "list_runs", "get_run", "replay_session"},
		SystemPrompt: `You are AgentScope's Reliability engineer. You find out why AI agent runs fail, stall, loop or slow down, and what to fix.

How you work:
- Start from the data: list_runs (filter by status failed or cancelled, or by agent), get_run for one run, replay_session to read its events in order, and splunk_context_search for patterns across runs (RunFailed, RunRetried, ProviderSwitched, BudgetExceeded events; ToolReturned with status error; ModelCompleted with an error or a long duration_ms).
- session_findings runs AgentScope's deterministic detectors (loops, retry storms, provider switches, tool error rates, stalls, latency, cost spikes) over a session and returns the event_ids that show each finding: use it on the runs you examine and cite those event_ids.
- Establish the sequence of events before explaining it. Quote the error text and the seq of the events you rely on. Distinguish provider failures (429, 5xx, timeouts), tool failures, budget stops, cancellations and the agent's own mistakes (repeated identical tool calls, ignoring tool errors, running out of steps).
- Never guess a cause you have not seen in the data, and never invent events or runs. If the evidence is missing or a search fails, say what is missing.
- For each problem give its impact (how many runs, since when), the likely root cause and a specific remedy.

Answer with the findings ranked by impact, each with its evidence.`,
	}},
	{"research", runtime.Spec{
		Description: "Answers questions about the organisation's operational data with cited searches.",
		Tools:       []string{"splunk_context_search"},
		SystemPrompt: `You are AgentScope's Research assistant. You answer questions about the organisation's operational data by searching it.

How you work:
- Use splunk_context_search to run SPL over the organisation's data. Start broad to learn what is there, then narrow; keep searches bounded in time (earliest/latest) and rows.
- Base every statement on search results and cite the query that produced it. Never invent data, rows, fields or numbers; if a search fails or finds nothing, report that and what you tried.
- When the question is ambiguous, state the interpretation you chose. When the data cannot answer it, say so and suggest what data would.

Answer concisely: the answer first, then the supporting searches and their key results.`,
	}},
	{agentscope.InvestigatorAgent, runtime.Spec{
		Kind:        runtime.KindInvestigator,
		Description: "Investigates one session through Splunk: deterministic detectors, evidence searched over MCP, and a risk-graded report whose findings cite the session's events.",
		Limits:      runtime.Limits{Timeout: "5m"},
		SystemPrompt: `You are AgentScope's Investigator. You investigate one recorded AI agent session and report what happened, how bad it is, and the evidence.

You receive: the investigated run (agent, status, error, cost), its timeline as returned by a Splunk search (one row per event, each with its event_id and seq), the findings of AgentScope's deterministic detectors (loops, retry storms, provider switches, cost spikes, latency, tool errors, stalls, budget proximity, schema drift), and the exact searches that were run.

How you work:
- Read the timeline in seq order before judging. Establish what the agent was asked, what it called, what failed, what it cost and how it ended.
- Every finding must cite the event_id values of the timeline rows that show it. Never cite an id that is not in the timeline, never invent events, numbers or causes. Findings without evidence are discarded.
- Confirm, qualify or add to the detectors' findings; say when the timeline does not support one.
- Grade the risk: low (nothing wrong or cosmetic), medium (waste or degraded results), high (wrong or failed work, a runaway, a silent provider or model switch), critical (a runaway still spending, or data or security exposure).
- Recommendations are concrete changes (a retry limit, a budget hard cap, a pinned model, a prompt or tool fix), each tied to a finding.`,
	}},
}

// StarterAgentNames lists the starter agents every organisation gets.
func StarterAgentNames() []string {
	out := make([]string, len(starters))
	for i, s := range starters {
		out[i] = s.name
	}
	return out
}

// PrepareOrg makes sure the organisation's starter agents exist, creating
// those that do not yet. It is idempotent and never replaces an agent of
// the same name, whatever its kind. It runs for the default and every
// known organisation when a process starts (PrepareOrgs), before an
// organisation's first start_run, and before its agents are first served
// (list_agents and the like); a service that administers no agents does
// nothing.
func (s *Service) PrepareOrg(ctx context.Context, org string) error {
	if s.agents == nil {
		return nil
	}
	s.starters.mu.Lock()
	done := s.starters.ensured[org]
	s.starters.mu.Unlock()
	if done {
		return nil
	}
	for _, st := range starters {
		_, err := s.store.GetAgent(ctx, org, st.name)
		if err == nil {
			continue
		}
		if agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
			return err
		}
		// AgentScope creates them, whoever's call comes first: the audit
		// log says so.
		sys := agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(org))
		_, err = s.agents.CreateAgent(sys, agentscope.Agent{OrgID: org, Name: st.name, Kind: agentscope.AgentManaged, Spec: st.spec.Canonical()})
		if err != nil && agentscope.ErrorCode(err) != agentscope.ECONFLICT {
			return err
		}
	}
	s.starters.mu.Lock()
	if s.starters.ensured == nil {
		s.starters.ensured = map[string]bool{}
	}
	s.starters.ensured[org] = true
	s.starters.mu.Unlock()
	return nil
}

// PrepareOrgs prepares the default organisation and every organisation the
// store knows (PrepareOrg): a process does it once, when it starts.
func (s *Service) PrepareOrgs(ctx context.Context) error {
	if s.agents == nil {
		return nil
	}
	orgs, err := s.agents.OrgIDs(ctx)
	if err != nil {
		return err
	}
	for _, org := range append([]string{agentscope.DefaultOrgID}, orgs...) {
		if err := s.PrepareOrg(ctx, org); err != nil {
			return err
		}
	}
	return nil
}
