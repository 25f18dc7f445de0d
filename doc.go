// Package agentscope holds AgentScope's domain: runs and their sessions, the
// typed events of the canonical event log, agents, organisations and the
// people and keys that act in them (roles, scopes and the matrix of what
// each may do, the credential format, the audit log), and the application
// errors every transport maps to its own status codes.
//
// The package does no I/O. Storage lives in store/sqlite and store/postgres,
// which both implement Store and pass the conformance suite in
// store/storetest; the recorder validates and commits events; mcpserver and
// web expose the same service functions over MCP and HTTP.
package agentscope
