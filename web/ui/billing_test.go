package ui

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// TestLimitReached: a limit at or past its bound says what it refuses and
// the way past it (Upgrade before a subscription, Manage billing with one,
// the operator without Stripe); below its bound, unlimited, or unknown, it
// says nothing.
func TestLimitReached(t *testing.T) {
	at := func(name string, pct float64) agentscope.LimitUsage {
		limit := json.Number("10")
		return agentscope.LimitUsage{Name: name, Used: "10", Limit: &limit, Percent: &pct}
	}
	upgradable := agentscope.StripeStatus{Configured: true, Plans: []string{"team"}}
	subscribed := upgradable
	subscribed.Account = &agentscope.StripeAccount{Status: "active", SubscriptionID: "sub_1"}
	for name, refuses := range map[string]string{
		"events_per_month":          "New events are refused",
		"seats":                     "Invitations are refused",
		"api_keys":                  "New API keys are refused",
		"managed_run_usd_per_month": "New managed runs are refused",
	} {
		for _, pct := range []float64{100, 130} {
			if got := LimitReached(at(name, pct), upgradable); !strings.Contains(got, refuses) || !strings.Contains(got, "Upgrade the plan below") {
				t.Errorf("%s at %v%%, not subscribed: %q", name, pct, got)
			}
			if got := LimitReached(at(name, pct), subscribed); !strings.Contains(got, refuses) || !strings.Contains(got, "Manage billing") || strings.Contains(got, "Upgrade") {
				t.Errorf("%s at %v%%, subscribed: %q", name, pct, got)
			}
			if got := LimitReached(at(name, pct), agentscope.StripeStatus{}); !strings.Contains(got, refuses) || !strings.Contains(got, "agentscope billing set-plan") || strings.Contains(got, "Upgrade") {
				t.Errorf("%s at %v%% without Stripe: %q", name, pct, got)
			}
		}
		if got := LimitReached(at(name, 99.9), upgradable); got != "" {
			t.Errorf("%s at 99.9%%: %q, want nothing", name, got)
		}
		if got := LimitReached(agentscope.LimitUsage{Name: name, Used: "10"}, upgradable); got != "" {
			t.Errorf("%s unlimited: %q, want nothing", name, got)
		}
	}
	if got := LimitReached(at("retention_days", 100), upgradable); got != "" {
		t.Errorf("an unknown limit: %q, want nothing", got)
	}
}
