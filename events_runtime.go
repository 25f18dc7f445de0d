package agentscope

// Run-state event types, written by the runtime that executes managed agents
// (package runtime). They are System types: record_event refuses them, and
// they appear in the session's timeline beside the agent's own events, so
// the live view shows queued → running → completed/failed as it happens.
const (
	// RunQueued: a managed run was admitted and queued for a worker.
	RunQueued EventType = "RunQueued"
	// RunStarted: a worker began an attempt (attributes.attempt).
	RunStarted EventType = "RunStarted"
	// RunRetried: an attempt ended with a transient failure, or its worker
	// was lost, and the run will be attempted again (error says why).
	RunRetried EventType = "RunRetried"
	// RunFailed: the run failed for good (error says why).
	RunFailed EventType = "RunFailed"
	// RunCancelled: the run was cancelled by request.
	RunCancelled EventType = "RunCancelled"
	// BudgetWarning: the agent's spend reached a soft budget.
	BudgetWarning EventType = "BudgetWarning"
	// BudgetExceeded: the agent's spend reached a hard cap; the run stops
	// before its next model call.
	BudgetExceeded EventType = "BudgetExceeded"
	// ProviderSwitched: the run moved to another model provider (provider
	// is the new one; error says why).
	ProviderSwitched EventType = "ProviderSwitched"
)

func init() {
	RegisterEventType(RunQueued, EventSpec{Optional: []string{"input"}, System: true})
	RegisterEventType(RunStarted, EventSpec{System: true})
	RegisterEventType(RunRetried, EventSpec{Required: []string{"error"}, System: true})
	RegisterEventType(RunFailed, EventSpec{Required: []string{"error"}, System: true})
	RegisterEventType(RunCancelled, EventSpec{Optional: []string{"error"}, System: true})
	RegisterEventType(BudgetWarning, EventSpec{Optional: []string{"error"}, System: true})
	RegisterEventType(BudgetExceeded, EventSpec{Required: []string{"error"}, System: true})
	RegisterEventType(ProviderSwitched, EventSpec{Required: []string{"provider"}, Optional: []string{"model", "error"}, System: true})
}
