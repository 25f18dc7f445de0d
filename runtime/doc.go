// Package runtime executes managed agents: AgentScope's own AI employees.
//
// A run of a managed agent is admitted against the agent's cost budgets,
// then created (status queued, with a RunQueued event) together with its
// River job in one transaction, and start_run returns at once. Workers —
// River clients in `agentscope worker`, or in-process in serve and mcp
// unless --no-worker — claim the job and run the agent loop: streaming chat
// completions through any OpenAI-compatible endpoint (github.com/sashabaranov/go-openai
// with a configurable base URL), with tool calls made through AgentScope's
// own MCP server over an in-memory transport (the server Start is given in
// Work.Tools) and through the MCP servers the agent's definition names,
// until a final answer or the step limit. A definition of a built-in kind
// (the investigator) runs with the Executor Start is given for that kind
// instead of the loop, through the same recording and retries.
//
// Every model call records ModelInvoked and ModelCompleted (with the
// provider's token usage) and a CostRecorded priced from package pricing;
// every tool call records ToolCalled and ToolReturned; run state changes
// record RunStarted, RunRetried, RunFailed, RunCancelled, BudgetWarning,
// BudgetExceeded and ProviderSwitched. Everything goes through the
// recorder, so it is validated, durable and published live. A run's events
// are committed in order by a per-run journal that does not block the loop
// between model calls; the loop waits for it only before it ends the run
// (and before checking a hard cap). A worker killed mid-run thus loses at
// most the events it had queued and not yet committed — typically none, at
// worst the ModelInvoked of the call in flight.
//
// Streamed tokens are not stored: they go to live subscribers of this
// process's TokenHub, and the final message is recorded in ModelCompleted.
//
// Failures are classified: transient ones (provider 5xx and 429, timeouts,
// unreachable endpoints) are retried by River with backoff, after failing
// over to the agent's next provider when a circuit breaker allows; permanent
// ones (missing credentials, 4xx, an exhausted budget, the run timeout) fail
// the run at once with a RunFailed event naming the cause. A worker holds
// a lease on the run it executes and renews it (Options.RunLease,
// AGENTSCOPE_RUN_LEASE); when a worker dies mid-run, its lease lapses and
// another worker takes the run over as a new attempt under a new job,
// recorded as RunRetried, within about the lease, whatever the run's
// timeout (lease.go says what is guaranteed). A sweeper fails any run whose
// job ended without finishing it, so no run stays running for ever.
//
// Configuration: the default provider comes from AGENTSCOPE_LLM_BASE_URL,
// AGENTSCOPE_LLM_API_KEY and AGENTSCOPE_LLM_MODEL (or OPENAI_BASE_URL and
// OPENAI_API_KEY); a definition's providers override them and name the
// environment variables holding their keys, which never appear in
// definitions, logs, errors or events.
//
// The runtime only runs agents. Agents' definitions, budgets and starter
// agents are administered by package service, which launches managed runs
// with the runtime (Launch, Cancel); the tools agents call, such as
// splunk_context_search, are the MCP server's (package mcpserver) over the
// service.
package runtime
