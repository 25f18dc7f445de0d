// Package bench holds AgentScope's cross-package benchmarks: ingest through
// the recorder beside the raw database floor measured in the same run,
// record_event over MCP Streamable HTTP, replay, and commit-to-websocket
// latency. `make bench` runs them (and the packages' own benchmarks) and
// writes BENCHMARKS.md with the machine and the raw figures. Nothing here is
// asserted as a timing in tests.
package bench
