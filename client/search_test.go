package client

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentscope/agentscope/client/internal/testserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tool returns a tool whose input schema has the given properties, as a
// client receives it: a decoded JSON object.
func tool(name string, props map[string]string) *mcp.Tool {
	p := map[string]any{}
	for k, typ := range props {
		p[k] = map[string]any{"type": typ}
	}
	return &mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object", "properties": p}}
}

var (
	splunkArgs = map[string]string{"query": "string", "earliest_time": "string", "latest_time": "string", "row_limit": "integer"}
	decoys     = []*mcp.Tool{
		tool("get_indexes", nil),
		tool("query_history", map[string]string{"query": "integer"}),
		tool("search_docs", map[string]string{"topic": "string"}),
	}
)

func TestFindSearchTool(t *testing.T) {
	official := ToolMapping{Tool: "splunk_run_query", QueryArg: "query", EarliestArg: "earliest_time", LatestArg: "latest_time", LimitArg: "row_limit"}
	tests := []struct {
		name     string
		tools    []*mcp.Tool
		override *ToolMapping
		want     ToolMapping
		wantErr  string
	}{{
		name:  "official app",
		tools: append(decoys, tool("splunk_run_query", splunkArgs)),
		want:  official,
	}, {
		name:  "official app, older name",
		tools: append(decoys, tool("run_splunk_query", splunkArgs)),
		want:  ToolMapping{"run_splunk_query", "query", "earliest_time", "latest_time", "row_limit"},
	}, {
		name: "community search_splunk",
		tools: append(decoys, tool("search_splunk", map[string]string{
			"search_query": "string", "earliest_time": "string", "latest_time": "string", "max_results": "integer"})),
		want: ToolMapping{"search_splunk", "search_query", "earliest_time", "latest_time", "max_results"},
	}, {
		name: "community run_oneshot_search",
		tools: append(decoys, tool("run_oneshot_search", map[string]string{
			"query": "string", "earliest_time": "string", "latest_time": "string", "count": "integer"})),
		want: ToolMapping{"run_oneshot_search", "query", "earliest_time", "latest_time", "count"},
	}, {
		name:  "agentscope run_spl",
		tools: append(decoys, tool("run_spl", splunkArgs)),
		want:  ToolMapping{"run_spl", "query", "earliest_time", "latest_time", "row_limit"},
	}, {
		name:  "official preferred over others",
		tools: []*mcp.Tool{tool("run_spl", splunkArgs), tool("search_splunk", nil), tool("splunk_run_query", splunkArgs)},
		want:  official,
	}, {
		name:  "known name without schema properties keeps the known arguments",
		tools: []*mcp.Tool{{Name: "splunk_run_query"}},
		want:  official,
	}, {
		name: "known name follows a renamed argument in its schema",
		tools: []*mcp.Tool{tool("splunk_run_query", map[string]string{
			"query": "string", "earliest_time": "string", "latest_time": "string", "max_rows": "integer"})},
		want: ToolMapping{"splunk_run_query", "query", "earliest_time", "latest_time", "max_rows"},
	}, {
		name: "fallback by schema",
		tools: append(decoys, tool("execute_splunk_search", map[string]string{
			"search": "string", "from": "string", "to": "string", "limit": "integer"})),
		want: ToolMapping{Tool: "execute_splunk_search", QueryArg: "search", EarliestArg: "from", LatestArg: "to", LimitArg: "limit"},
	}, {
		name: "fallback prefers splunk in the name, then the query property",
		tools: []*mcp.Tool{
			tool("query_logs", map[string]string{"query": "string"}),
			tool("splunk_search", map[string]string{"search": "string"}),
		},
		want: ToolMapping{Tool: "splunk_search", QueryArg: "search"},
	}, {
		name:    "nothing suitable",
		tools:   decoys,
		wantErr: "no Splunk search tool among the server's tools [get_indexes query_history search_docs]",
	}, {
		name:     "override names an unknown tool, arguments from its schema",
		tools:    append(decoys, tool("my_tool", map[string]string{"search_query": "string", "start": "string"})),
		override: &ToolMapping{Tool: "my_tool"},
		want:     ToolMapping{Tool: "my_tool", QueryArg: "search_query", EarliestArg: "start"},
	}, {
		name:     "override arguments, and drop one",
		tools:    []*mcp.Tool{tool("splunk_run_query", splunkArgs)},
		override: &ToolMapping{QueryArg: "spl", LimitArg: "-"},
		want:     ToolMapping{"splunk_run_query", "spl", "earliest_time", "latest_time", ""},
	}, {
		name:     "override tool missing",
		tools:    decoys,
		override: &ToolMapping{Tool: "splunk_run_query"},
		wantErr:  `configured search tool "splunk_run_query" is not among the server's tools`,
	}, {
		name:     "override tool without a query argument",
		tools:    decoys,
		override: &ToolMapping{Tool: "get_indexes"},
		wantErr:  "configure QueryArg",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindSearchTool(tt.tools, tt.override)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FindSearchTool() error = %v; want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindSearchTool(): %v", err)
			}
			if got != tt.want {
				t.Errorf("FindSearchTool() = %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestSearchDiscoversEachServerVariant runs a search against each kind of
// Splunk MCP server and checks that every argument reached the server
// under the right name.
func TestSearchDiscoversEachServerVariant(t *testing.T) {
	for _, variant := range []string{"official", "legacy", "community", "oneshot", "agentscope", "fallback"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			s := newStdioClient(t, Config{}, "-variant", variant, "-rows", "text")
			rows, err := NewSearcher(s.client, nil).Search(testContext(t), "index=main error", "-24h", "now", 3)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(rows) != 3 {
				t.Fatalf("Search returned %d rows; want 3 (limit)", len(rows))
			}
			for _, row := range rows {
				if row["query"] != "index=main error" || row["earliest"] != "-24h" || row["latest"] != "now" {
					t.Errorf("row %v; want the query and time range echoed", row)
				}
			}
		})
	}
}

func TestSearchReadsEachRowFormat(t *testing.T) {
	for _, format := range []string{"structured", "structured-array", "structured-rows", "text", "text-array", "ndjson", "export"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			s := newStdioClient(t, Config{}, "-rows", format)
			rows, err := NewSearcher(s.client, nil).Search(testContext(t), "index=main", "", "", 0)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(rows) != 2 || rows[0]["_raw"] != "event 0" || rows[1]["i"] != json.Number("1") {
				t.Fatalf("Search rows = %v; want the server's 2 rows", rows)
			}
			if _, ok := rows[0]["earliest"]; !ok || rows[0]["earliest"] != nil {
				t.Errorf("earliest = %v; want it unsent (null)", rows[0]["earliest"])
			}
			if !strings.HasPrefix(format, "structured") && rows[0]["big"] != json.Number("9007199254740993") {
				t.Errorf("big = %#v; want %d exactly", rows[0]["big"], testserver.BigNumber)
			}
		})
	}
}

func TestSearchToolErrorCarriesItsText(t *testing.T) {
	s := newStdioClient(t, Config{})
	_, err := NewSearcher(s.client, nil).Search(testContext(t), "fail", "", "", 0)
	var toolErr *ToolError
	if !errors.As(err, &toolErr) || toolErr.Tool != "splunk_run_query" || !strings.Contains(toolErr.Message, "Unknown search command 'fail'") {
		t.Fatalf("Search: %v; want a ToolError with the tool's text", err)
	}
}

func TestSearchWithoutSearchTool(t *testing.T) {
	s := newStdioClient(t, Config{}, "-variant", "none")
	_, err := NewSearcher(s.client, nil).Search(testContext(t), "index=main", "", "", 0)
	if err == nil || !strings.Contains(err.Error(), "no Splunk search tool") {
		t.Fatalf("Search: %v; want an error naming the missing tool", err)
	}
}
