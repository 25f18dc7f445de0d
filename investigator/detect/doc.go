// Package detect finds known failure patterns in a session's events with
// deterministic rules: no model, no I/O, the same findings for the same
// input.
//
// Detectors:
//
//   - loop: the same tool with the same arguments, or the same model
//     request, several times in a row.
//   - retry_storm: a burst of failed calls to one tool or one provider.
//   - provider_switch: a model call served by another provider or model than
//     the configured or previous ones, with no ProviderSwitched event to
//     explain it.
//   - cost_spike: the session costs more than the agent's recent sessions.
//   - latency_slo: the 95th percentile of model call latency is over the SLO.
//   - tool_error_rate: a tool fails too often.
//   - stall: no event for a long time while the session is running.
//   - budget_proximity: the agent's spend nears or reaches a budget limit.
//   - schema_drift: attribute keys that the agent's recent sessions never
//     sent, or always sent and this session omits.
//
// Every detector reads the events in seq order and raises a finding the
// moment its condition holds; a finding is never revised or withdrawn by
// later events. Rates and percentiles are therefore those of the events so
// far when the finding is raised. This is what makes [Run] over a whole
// session and [Live] fed the same events in batches agree finding for
// finding.
//
// Each [Finding] names the events that show it and carries an SPL query
// that lists them, built from [agentscope.SessionQuery] and fixed
// pipeline text, with every value taken from event data escaped inside
// double quotes. The query runs unchanged in Splunk and in the embedded
// engine of package spl.
//
//	base := detect.BuildBaseline(recentSessions)
//	findings, err := detect.Run(sessionID, events, base, detect.Config{Index: "agentscope"})
package detect
