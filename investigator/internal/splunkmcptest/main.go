// Command splunkmcptest is a stdio MCP server for the investigator's tests
// that speaks like the official Splunk MCP Server app: one tool,
// splunk_run_query {query, earliest_time, latest_time, row_limit}, with the
// rows in structuredContent.results. Its "Splunk" is the embedded SPL
// engine over AgentScope's own database, which holds what HEC would have
// indexed; a query scoped as AgentScope scopes Splunk queries
// (search org_id::<org> (<terms>) | …) runs for that organisation.
//
// -mode exit exits at once; -mode fail answers every search with Splunk's
// error; -crash-file F makes the first process that finds F missing create
// it and exit during its first search (a crash mid-investigation).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

type queryInput struct {
	Query        string `json:"query"`
	EarliestTime string `json:"earliest_time,omitempty"`
	LatestTime   string `json:"latest_time,omitempty"`
	RowLimit     int    `json:"row_limit,omitempty"`
}

var scoped = regexp.MustCompile(`^search org_id::([A-Za-z0-9_.-]+) \((.*)\)(.*)$`)

func main() {
	db := flag.String("db", "", "SQLite file or postgres:// URL")
	mode := flag.String("mode", "normal", "normal, exit or fail")
	crashFile := flag.String("crash-file", "", "crash during the first search of the first process")
	flag.Parse()
	if *mode == "exit" {
		os.Exit(2)
	}
	ctx := context.Background()
	var store agentscope.Store
	if strings.HasPrefix(*db, "postgres") {
		s, err := postgres.Open(ctx, *db, sqlstore.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		store = s
	} else {
		s, err := sqlite.Open(ctx, *db, sqlstore.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		store = s
	}
	engine := spl.New(store, spl.Options{})
	srv := mcp.NewServer(&mcp.Implementation{Name: "Splunk MCP Server", Version: "1.0.0"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "splunk_run_query", Description: "Run a Splunk search query and return the results."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in queryInput) (*mcp.CallToolResult, map[string]any, error) {
			if *crashFile != "" {
				if _, err := os.Stat(*crashFile); errors.Is(err, os.ErrNotExist) {
					_ = os.WriteFile(*crashFile, []byte("crashed"), 0o600)
					os.Exit(3)
				}
			}
			if *mode == "fail" {
				//lint:ignore ST1005 Splunk's own message text
				return nil, nil, errors.New("Error in 'search' command: Your Splunk license expired")
			}
			m := scoped.FindStringSubmatch(in.Query)
			if m == nil {
				return nil, nil, errors.New("this server only runs searches scoped with org_id")
			}
			res, err := engine.Run(ctx, m[1], m[2]+m[3], spl.QueryOptions{EarliestTime: in.EarliestTime, LatestTime: in.LatestTime, RowLimit: in.RowLimit})
			if err != nil {
				return nil, nil, err
			}
			rows := make([]any, len(res.Rows))
			for i, r := range res.Rows {
				rows[i] = r
			}
			return nil, map[string]any{"results": rows}, nil
		})
	if err := srv.Run(ctx, &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
