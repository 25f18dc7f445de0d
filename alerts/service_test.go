package alerts_test

import (
	"context"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/internal/netguard"
)

// TestUpdateKeepsTheWebhookURL: rules are shown with their webhook
// redacted to scheme and host (a Slack webhook's path is its token), so a
// rule read and written back must keep the stored URL, as must an update
// without one; a new URL still replaces it. It used to be replaced by the
// redacted form, so the next alert went to https://hooks.slack.com.
func TestUpdateKeepsTheWebhookURL(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			h := newHarness(t, backend)
			svc, err := alerts.NewService(alerts.Options{Store: h.store, River: h.client, Network: netguard.Policy{AllowPrivate: true}})
			if err != nil {
				t.Fatal(err)
			}
			ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("o1"))
			const hook = "https://hooks.example.com/services/T000/B000/s3cr3tT0ken"
			created, err := svc.CreateAlertRule(ctx, agentscope.AlertRule{Name: "ops", Enabled: true, Kinds: []string{"loop"}, URL: hook})
			if err != nil {
				t.Fatal(err)
			}
			stored := func() string {
				t.Helper()
				r, err := h.store.GetAlertRule(context.Background(), "o1", created.ID)
				if err != nil {
					t.Fatal(err)
				}
				return r.URL
			}
			shown, err := svc.GetAlertRule(ctx, created.ID)
			if err != nil || shown.URL != "https://hooks.example.com" {
				t.Fatalf("shown %q, %v; want the redacted URL", shown.URL, err)
			}
			shown.Name = "ops, renamed"
			if _, err := svc.UpdateAlertRule(ctx, created.ID, shown); err != nil {
				t.Fatal(err)
			}
			if got := stored(); got != hook {
				t.Fatalf("after writing back the rule as shown, the webhook is %q, want %q", got, hook)
			}
			shown.URL = ""
			if _, err := svc.UpdateAlertRule(ctx, created.ID, shown); err != nil || stored() != hook {
				t.Fatalf("an update without url: %v, webhook %q", err, stored())
			}
			const next = "https://hooks.example.com/services/T000/B000/n3wT0ken"
			shown.URL = next
			if _, err := svc.UpdateAlertRule(ctx, created.ID, shown); err != nil || stored() != next {
				t.Fatalf("an update with a new url: %v, webhook %q", err, stored())
			}
			shown.URL = ""
			if _, err := svc.UpdateAlertRule(agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("o2")), created.ID, shown); agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
				t.Fatalf("another organisation's rule: %v, want not found", err)
			}
		})
	}
}
