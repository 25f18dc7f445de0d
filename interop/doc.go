// Package interop proves AgentScope's MCP server with clients it does not
// own: the official TypeScript SDKs (@modelcontextprotocol/sdk 1.x and
// @modelcontextprotocol/client 2.x, over Streamable HTTP and stdio) and the
// MCP conformance suite, run against the built agentscope binary. The Node
// side lives beside this file (package.json, lib/, scripts/); see README.md.
package interop
