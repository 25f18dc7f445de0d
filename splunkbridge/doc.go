// Package splunkbridge connects AgentScope to Splunk.
//
// Forwarding: every event the store commits is also written, in the same
// transaction, to the store's outbox. A [Forwarder] claims outbox
// entries with a lease, wraps each stored event body verbatim in an HTTP
// Event Collector envelope (indexed fields org_id, session_id, agent and
// type), and posts gzip-compressed batches to HEC. HEC's reply decides
// each entry's fate: completed on success; released with exponential
// backoff (or the server's Retry-After) when Splunk is busy or
// unreachable; moved to dead_letters when Splunk refuses that one event;
// kept while sending pauses when the configuration is wrong (a refused
// token, a wrong index). Delivery is at least once: a batch whose answer
// was lost (a cut connection, a crash) is sent again.
//
// Searching: [RESTClient] (Splunk's REST API) and [MCPSearcher] (a Splunk
// MCP server's search tool) implement agentscope.Searcher, each confining
// the query to the caller's organisation with [ScopeQuery]; [Insights] are
// named operational searches.
//
// [Config] gathers the settings an operator gives through
// AGENTSCOPE_SPLUNK_* variables, validates them, and gives each part its
// own: [Config.HEC] for the forwarder, [Config.REST] for the REST client,
// [Config.MCPClient] and [Config.MCPSearchOverride] for the Splunk MCP
// server.
package splunkbridge
