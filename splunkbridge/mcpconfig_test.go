package splunkbridge_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/agentscope/agentscope/client"
	"github.com/agentscope/agentscope/splunkbridge"
)

func TestSearchToolOverride(t *testing.T) {
	for _, tc := range []struct {
		tool, args string
		want       *client.ToolMapping
		err        string
	}{
		{"", "", nil, ""},
		{"search_splunk", "", &client.ToolMapping{Tool: "search_splunk"}, ""},
		{"", "query=search_query, limit=max_results", &client.ToolMapping{QueryArg: "search_query", LimitArg: "max_results"}, ""},
		{"x", "query=q,earliest=from,latest=to,limit=-", &client.ToolMapping{Tool: "x", QueryArg: "q", EarliestArg: "from", LatestArg: "to", LimitArg: "-"}, ""},
		{"", "rows=10", nil, `"rows=10" is not name=argument`},
		{"", "query", nil, `"query" is not name=argument`},
		{"", "limit=", nil, `"limit=" is not name=argument`},
		{"", "query=-", nil, "cannot be dropped"},
	} {
		got, err := splunkbridge.Config{MCPSearchTool: tc.tool, MCPSearchArgs: tc.args}.MCPSearchOverride()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "AGENTSCOPE_SPLUNK_MCP_SEARCH_ARGS") {
				t.Errorf("%q %q: err %v, want %q", tc.tool, tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q %q = %+v, %v; want %+v", tc.tool, tc.args, got, err, tc.want)
		}
	}
}
