package agentscope_test

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

func TestAlertRuleValidateFillsDefaults(t *testing.T) {
	r := agentscope.AlertRule{OrgID: "org-a", Name: " pager ", Kinds: []string{"loop"}, URL: "https://example.com/hook"}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Format != agentscope.AlertFormatJSON || r.Name != "pager" {
		t.Errorf("defaults: format %q name %q", r.Format, r.Name)
	}
	for _, k := range append(append([]string{}, agentscope.AlertDetectorKinds...), agentscope.AlertKindRisk, agentscope.AlertKindPlanLimit, agentscope.AlertKindAny) {
		r.Kinds = []string{k}
		if err := r.Validate(); err != nil {
			t.Errorf("kind %s: %v", k, err)
		}
	}
}

// TestAlertRuleKinds: plan_limit is a kind of its own (no threshold
// needed: its signals carry theirs), and an unknown kind is refused with
// the known ones listed, plan_limit among them.
func TestAlertRuleKinds(t *testing.T) {
	r := agentscope.AlertRule{OrgID: "org-a", Name: "quota", Kinds: []string{"plan_limit", "budget"}, BudgetPercent: 90, URL: "https://example.com/hook"}
	if err := r.Validate(); err != nil {
		t.Fatalf("plan_limit with budget: %v", err)
	}
	r.Kinds, r.BudgetPercent = []string{"plan_limit"}, 0
	if err := r.Validate(); err != nil {
		t.Fatalf("plan_limit alone: %v", err)
	}
	r.Kinds = []string{"plan_limits"}
	err := r.Validate()
	if agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), `"plan_limits"`) || !strings.Contains(err.Error(), "plan_limit or") {
		t.Errorf("misspelt kind: %v; want EINVALID naming it and listing plan_limit", err)
	}
	r.Kinds = []string{"plan_limit", "plan_limit"}
	if err := r.Validate(); agentscope.ErrorCode(err) != agentscope.EINVALID {
		t.Errorf("plan_limit twice: %v", err)
	}
}

// FuzzValidateWebhookURL: any input is accepted or refused with an EINVALID error
// on url that does not repeat it; accepted URLs redact to scheme://host.
func FuzzValidateWebhookURL(f *testing.F) {
	for _, s := range []string{"https://hooks.slack.com/services/T/B/tokenXYZ", "http://[::1]:8080/x", "ftp://a/b", "https:///p", "http://a#frag", "%zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := agentscope.ValidateWebhookURL(raw)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Fatalf("code %s", agentscope.ErrorCode(err))
			}
			if len(raw) > 8 && strings.Contains(err.Error(), raw) {
				t.Fatalf("the error repeats the URL: %v", err)
			}
			return
		}
		red := agentscope.RedactURL(raw)
		if !strings.HasPrefix(red, "http://") && !strings.HasPrefix(red, "https://") {
			t.Fatalf("accepted %q redacts to %q", raw, red)
		}
	})
}
