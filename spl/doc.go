// Package spl is an embedded engine for a documented subset of Splunk's
// Search Processing Language, run over AgentScope's own event store.
//
// Every stored event is seen as Splunk sees it once forwarded with sourcetype
// "agentscope:events": its top-level JSON fields by name, nested objects by
// dotted name (attributes.temperature), arrays as multivalue fields
// (result{}), and the metadata fields _time, _raw, index, sourcetype, source,
// host and org_id. A query that runs here runs unchanged in Splunk against
// the forwarded events; docs/spl.md lists the commands, the functions and the
// known differences.
//
// Execution streams: the initial search is pushed down to
// agentscope.Store.ScanEvents (sessions, agents, types, time range), events
// are read in bounded batches and flow through a pipeline of per-row
// operators; aggregating commands keep one state per group, and only sort
// and eventstats buffer their input, up to a fixed cap.
//
//	eng := spl.New(store, spl.Options{})
//	res, err := eng.Run(ctx, orgID, `type=ModelCompleted | stats count avg(duration_ms) by model`, spl.QueryOptions{EarliestTime: "-24h"})
package spl
