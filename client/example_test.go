package client_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/agentscope/agentscope/client"
)

// Reaching the Splunk MCP server through mcp-remote, as configured by a
// command line, and running a search.
func ExampleSearcher() {
	ctx := context.Background()
	argv, err := client.ParseCommandLine(`npx -y mcp-remote https://splunk:8089/services/mcp --header "Authorization: Bearer TOKEN"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := client.New(client.Config{Command: argv[0], Args: argv[1:], Logger: slog.Default()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	rows, err := client.NewSearcher(c, nil).Search(ctx, "index=_internal log_level=ERROR | head 5", "-24h", "now", 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range rows {
		fmt.Println(row["_raw"])
	}
}
