package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web"
)

// TestAuditPage: the Audit page lists the organisation's log newest first
// (the keyboard's g u opens it), escapes what entries say, and pages to
// older entries and back.
func TestAuditPage(t *testing.T) {
	a := startApp(t, web.UIOptions{})
	log, ok := a.store.(interface {
		AppendAudit(ctx context.Context, e agentscope.AuditEntry) (agentscope.AuditEntry, error)
	})
	if !ok {
		t.Fatal("the store keeps no audit log")
	}
	for i := range 55 {
		if _, err := log.AppendAudit(context.Background(), agentscope.AuditEntry{OrgID: org, Actor: "key:key-7", Action: agentscope.AuditAlertRuleUpdated,
			Target: fmt.Sprintf("rule-%02d <b>", i), Detail: json.RawMessage(`{"enabled":false}`)}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t)
	b.signIn(a.url)
	b.do(chromedp.Navigate(a.url+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#sessions")),
		chromedp.KeyEvent("g"), chromedp.KeyEvent("u"), chromedp.WaitVisible(chromedp.CSS("#audit tbody tr")))
	if first := b.text("#audit tbody tr:first-child"); !strings.Contains(first, "rule-54 <b>") || !strings.Contains(first, "alert_rule.updated") || !strings.Contains(first, "key:key-7") {
		t.Errorf("newest entry: %q", first)
	}
	if n := eval[int](b, `document.querySelectorAll('#audit tbody tr').length`); n != 50 {
		t.Errorf("first page holds %d entries, want 50", n)
	}
	if eval[int](b, `document.querySelectorAll('#audit b').length`) != 0 {
		t.Error("an entry's target was rendered as markup")
	}
	b.screenshot("audit")
	b.do(chromedp.Click(chromedp.CSS(`a[rel="next"]`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/audit"]`)))
	if last := b.text("#audit tbody tr:last-child"); !strings.Contains(last, "rule-00 <b>") {
		t.Errorf("oldest entry on the second page: %q", last)
	}
	if eval[bool](b, `document.querySelector('a[rel="next"]') !== null`) {
		t.Error("the last page links to an older one")
	}
	b.do(chromedp.Click(chromedp.CSS(`a[href="/audit"]`)), chromedp.WaitVisible(chromedp.CSS(`a[rel="next"]`)))
}
