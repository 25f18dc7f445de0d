package splunkbridge_test

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/splunkbridge"
)

func TestInsights(t *testing.T) {
	all, err := service.Insights("agentscope")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"cost_by_agent":    {`type="CostRecorded"`, "sum(amount_usd)", "by agent"},
		"model_latency":    {`type="ModelCompleted"`, "perc50(duration_ms)", "perc95(duration_ms)", "by provider model"},
		"tool_reliability": {`type="ToolReturned"`, `status="error"`, "perc95(duration_ms)", "by tool", "error_rate"},
		"runs_by_status":   {`type="SessionCompleted"`, "by status"},
	}
	if len(all) != len(want) {
		t.Fatalf("%d insights, want %d", len(all), len(want))
	}
	for _, in := range all {
		if in.Description == "" {
			t.Errorf("%s has no description", in.Name)
		}
		if !strings.HasPrefix(in.SPL, `index="agentscope" sourcetype="agentscope:events" `) {
			t.Errorf("%s does not start with the base search: %s", in.Name, in.SPL)
		}
		for _, frag := range want[in.Name] {
			if !strings.Contains(in.SPL, frag) {
				t.Errorf("%s lacks %q: %s", in.Name, frag, in.SPL)
			}
		}
		// Every insight must survive organisation scoping unchanged.
		scoped, err := splunkbridge.ScopeQuery("acme", in.SPL)
		if err != nil {
			t.Errorf("%s cannot be scoped: %v", in.Name, err)
		} else if err := checkScoped("acme", scoped); err != nil {
			t.Errorf("%s scoped to %s: %v", in.Name, scoped, err)
		}
	}
	if in, err := service.LookupInsight("", "runs_by_status"); err != nil || !strings.HasPrefix(in.SPL, `sourcetype="agentscope:events" type=`) {
		t.Errorf("LookupInsight: %+v, %v", in, err)
	}
	if _, err := service.LookupInsight("main", "nope"); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		t.Errorf("unknown insight: %v", err)
	}
	if _, err := service.Insights(`main" OR index="*`); err == nil {
		t.Error("hostile index accepted")
	}
}
