// Package alerts turns what the investigator finds into notifications.
//
// An organisation's alert rules (agentscope.AlertRule) say which Signals
// matter — detector findings by kind and severity, investigation risk
// levels, budget thresholds — and which webhook hears of them, in Slack's
// incoming-webhook format or as AgentScope's own JSON (Payload). Match is
// pure: the caller lists the organisation's rules (the store keeps them) and
// asks which a signal matches. For each match, NewAlert derives an Alert whose id is stable for
// the same occurrence; in one transaction the caller appends the alert's
// Alert event (Alert.Event) and queues its delivery (Enqueue), so an alert
// is recorded and delivered, or neither.
//
// Service does this for the rest of AgentScope: it keeps the
// organisations' rules (for the HTTP API, the MCP tools and the CLI alike)
// and raises the alerts that signals trigger (RaiseAlerts), queuing their
// deliveries on the runtime's River client, whose workers include the
// delivery worker (AddWorkers). FindingSignals, ReportSignals and
// BudgetSignals build the signals of the investigator's findings and
// reports and of budgets' spend.
//
// Delivery is a River job (DeliverArgs) worked by Worker: a POST of the
// body with the headers X-AgentScope-Timestamp and X-AgentScope-Signature,
// "sha256=" and the hex HMAC-SHA256 of timestamp + "." + body keyed with the
// rule's secret. Receivers check them with Verify. 2xx completes a
// delivery, other 4xx and 3xx (redirects are not followed) cancel it, and
// 5xx, 408, 429 and network errors are retried with backoff, honouring
// Retry-After, up to the job's MaxAttempts.
//
// Secrets: a rule's secret is generated unless given, shown once when the
// rule is created, and otherwise read only by the worker; it is stored as
// is, since signing needs it. Neither the secret nor the webhook URL (a
// Slack URL's path is its token) is put in River's job arguments, events,
// logs or errors: these name the destination by scheme and host.
//
// Destinations: only http and https URLs with a host are accepted, and by
// default only public addresses (no server-side request forgery to this
// machine, the private network or the cloud metadata address):
// CheckDestination refuses literal addresses when a rule is saved, and the
// worker's dialer refuses every resolved address that is not public when
// each connection is made, so DNS rebinding cannot pass; redirects are
// never followed. Deps.Network (AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE,
// AGENTSCOPE_WEBHOOK_ALLOW_CIDRS) allows an internal receiver.
package alerts
