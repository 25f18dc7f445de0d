// Package client is AgentScope's MCP client. It reaches one MCP server,
// either a program AgentScope spawns and talks to over stdio (the Splunk MCP
// server via npx, or AgentScope's own "agentscope mcp") or a Streamable HTTP
// endpoint such as the Splunk MCP Server app.
//
// A [Client] connects lazily on first use and keeps one session for all
// calls. When the server crashes or the connection drops, the session is
// torn down and a new one is opened with bounded, jittered exponential
// backoff; calls that were never sent, and calls the caller marks
// idempotent, are then retried. The spawned program's stderr goes to the
// injected slog logger, never to AgentScope's stdout.
//
// [FindSearchTool] picks the Splunk search tool out of a server's tool list
// whatever the server calls it, and a [Searcher] runs SPL through it and
// returns the result rows.
//
// A typical use:
//
//	argv, err := client.ParseCommandLine(`npx -y mcp-remote https://splunk:8089/services/mcp --header "Authorization: Bearer x"`)
//	if err != nil { … }
//	c, err := client.New(client.Config{Command: argv[0], Args: argv[1:], Logger: logger})
//	if err != nil { … }
//	defer c.Close()
//	rows, err := client.NewSearcher(c, nil).Search(ctx, "index=main error", "-24h", "now", 100)
package client
