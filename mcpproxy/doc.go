// Package mcpproxy is AgentScope's transparent MCP proxy: it stands between
// an MCP host (Claude Desktop, an agent) and one MCP server, relays every
// JSON-RPC message both ways unchanged, and records each tools/call as a
// ToolCalled / ToolReturned pair in one session per host connection.
//
// The host speaks stdio to the proxy; the server is a spawned command (stdio)
// or a Streamable HTTP endpoint. Messages are forwarded as the bytes that
// arrived; the proxy decodes a copy to see what passes. Recording is a side
// effect on a bounded queue drained by one goroutine (see Recorder): a slow
// or unreachable AgentScope drops records, counted and logged, and never
// holds up or breaks the host's session.
package mcpproxy
