package spl

import (
	"strings"
	"testing"
)

// TestProjectFields pins which event fields an order-free query makes the
// store decode; nil (shown as "ALL") means every field.
func TestProjectFields(t *testing.T) {
	for q, want := range map[string]string{
		`sourcetype="agentscope:events" type=ModelCompleted | stats count avg(duration_ms) perc95(duration_ms) by agent, model`: "agent duration_ms model type",
		`index=agentscope | stats count`: "",
		`* | eval x=if(isnull(error), tokens_in, tokens_out*2) | where x > 3 | stats sum(x) by _time`: "error tokens_in tokens_out ts x", // x: made by eval, ignored by the store
		`* | rename model as m | stats dc(m) by attributes.team`:                                      "attributes m model",
		`* | spath input=input path=a.b output=ab | stats count by ab`:                                "ab input",
		`* | bin _time span=1h | fillnull value=none provider | stats count by _time provider`:        "provider ts",
		`session_id=s1 NOT status=ok | stats values(input.tags{})`:                                    "input session_id status",
		`"rate limited" | stats count`:                                                                "ALL",
		`* | rex "x=(?<x>\d+)" | stats count by x`:                                                    "ALL",
		`* | table * | stats count`:                                                                   "ALL",
		`* | eval r=_raw | stats dc(r)`:                                                               "ALL",
		`* | fillnull | stats count`:                                                                  "ALL",
	} {
		p, err := parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		got := "ALL"
		if fs := projectFields(p); fs != nil {
			got = strings.Join(fs, " ")
		}
		if got != want {
			t.Errorf("projectFields(%s) = %q, want %q", q, got, want)
		}
	}
}
