package splunkbridge

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/agentscope/agentscope/client"
)

// MCPClient returns the client of the configured Splunk MCP server:
// spawned over stdio from MCPCommand (AGENTSCOPE_SPLUNK_MCP_COMMAND), or
// reached at MCPURL with MCPToken (AGENTSCOPE_SPLUNK_MCP_URL and _TOKEN)
// and c's TLS settings. It connects on first use and is reused across
// searches; the caller closes it.
func (c Config) MCPClient(log *slog.Logger) (*client.Client, error) {
	cc := client.Config{Logger: log}
	if c.MCPCommand != "" {
		argv, err := client.ParseCommandLine(c.MCPCommand)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvMCPCommand, err)
		}
		cc.Command, cc.Args = argv[0], argv[1:]
	} else {
		hc, err := c.mcpHTTPClient()
		if err != nil {
			return nil, err
		}
		cc.URL, cc.HTTPClient = c.MCPURL, hc
		if c.MCPToken != "" {
			cc.Headers = map[string]string{"Authorization": "Bearer " + c.MCPToken}
		}
	}
	mc, err := client.New(cc)
	if err != nil {
		return nil, fmt.Errorf("splunk MCP server: %w", err)
	}
	return mc, nil
}

// MCPSearchOverride reads MCPSearchTool and MCPSearchArgs
// (AGENTSCOPE_SPLUNK_MCP_SEARCH_TOOL and _ARGS:
// "query=search_query,limit=max_results"; "-" drops an argument) into the
// override of the discovered search tool, or nil when neither is set.
func (c Config) MCPSearchOverride() (*client.ToolMapping, error) {
	tool, args := c.MCPSearchTool, c.MCPSearchArgs
	if tool == "" && args == "" {
		return nil, nil
	}
	m := &client.ToolMapping{Tool: tool}
	if args == "" {
		return m, nil
	}
	fields := map[string]*string{"query": &m.QueryArg, "earliest": &m.EarliestArg, "latest": &m.LatestArg, "limit": &m.LimitArg}
	for _, part := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		dst, known := fields[strings.TrimSpace(k)]
		v = strings.TrimSpace(v)
		if !ok || !known || v == "" {
			return nil, fmt.Errorf("%s: %q is not name=argument with name one of query, earliest, latest, limit (e.g. query=search_query,limit=max_results; - drops an argument)", EnvMCPSearchArgs, part)
		}
		if k == "query" && v == "-" {
			return nil, fmt.Errorf("%s: the query argument cannot be dropped", EnvMCPSearchArgs)
		}
		*dst = v
	}
	return m, nil
}
