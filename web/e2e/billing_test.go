package e2e_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/billing/stripebilling"
	"github.com/agentscope/agentscope/internal/stripemocktest"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// TestBillingPage: an owner opens Billing from the keyboard (g b) and
// sees the plan, its events this period as a meter that is over its
// limit, the Upgrade form offering the plans with a Stripe price, Manage
// billing, and an invoice a signed webhook reported paid.
func TestBillingPage(t *testing.T) {
	plans, err := billing.Parse([]byte(`{"default": "free", "plans": [
		{"id": "free", "name": "Free", "limits": {"events_per_month": 2, "api_keys": 5}},
		{"id": "team", "name": "Team", "stripe_price_id": "price_team", "limits": {"events_per_month": 1000}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e2e.db"), sqlstore.Options{Usage: plans})
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	svc := service.New(rec, service.Options{Audit: st, Billing: billing.NewService(plans, st, nil)})
	const secret = "whsec_e2e"
	stripe, err := stripebilling.New(stripebilling.Options{
		Config: stripebilling.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIBase: stripemocktest.Start(t), PublicURL: "https://scope.example.com"},
		Store:  st, Period: billing.Period, PeriodBounds: billing.PeriodBounds, DefaultPlan: "free",
		Plans: []stripebilling.Plan{{ID: "free"}, {ID: "team", StripePriceID: "price_team"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := web.New(svc, web.Options{Tokens: map[string]string{token: org}})
	h.RouteBillingStripe(stripe)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		rec.Close()
		st.Close()
	})

	// Two events fill the free plan.
	now := time.Now().UTC()
	if res := st.Append(ctx, []agentscope.AppendRequest{{OrgID: org, SessionID: "s1",
		Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: now, StartedAt: &now},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bot", TS: now}, {Type: agentscope.ModelInvoked, TS: now, Provider: "p", Model: "m"}}}})[0]; res.Err != nil {
		t.Fatal(res.Err)
	}
	// The owner's first Checkout made the customer; Stripe reports a paid invoice.
	owner := agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(org))
	if _, err := stripe.Checkout(owner, "team"); err != nil {
		t.Fatal(err)
	}
	acct, err := st.StripeAccount(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	payload := fmt.Sprintf(`{"id":"evt_i","type":"invoice.paid","created":%d,"data":{"object":{"id":"in_e2e","customer":%q,"amount_paid":1900,"currency":"eur"}}}`, now.Unix(), acct.CustomerID)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret})
	if err := stripe.HandleWebhook(ctx, signed.Payload, signed.Header); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.signIn(srv.URL)
	b.do(chromedp.WaitVisible(chromedp.CSS(`nav.sections a[href="/billing"]`)),
		chromedp.KeyEvent("g"), chromedp.KeyEvent("b"), chromedp.WaitVisible(chromedp.CSS("#plan-name")))
	if got := b.text("#plan-name"); got != "Free" {
		t.Errorf("plan: %q", got)
	}
	if !eval[bool](b, `document.querySelector('[data-limit="events_per_month"]').classList.contains('over')`) {
		t.Error("the events meter at its limit is not marked over")
	}
	if got := b.text(`[data-limit="events_per_month"] .budget-num`); got != "2 of 2" {
		t.Errorf("events: %q", got)
	}
	if got := b.text(`[data-limit="events_per_month"] .limit-note`); !strings.Contains(got, "New events are refused") || !strings.Contains(got, "Upgrade the plan below") {
		t.Errorf("the events limit does not say what it refuses and the way past it: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('.limit-note').length`); n != 1 {
		t.Errorf("%d limit notes, want 1 (only events are at their limit)", n)
	}
	if got := eval[string](b, `[...document.querySelectorAll('#upgrade-plan option')].map(o => o.value).join(',')`); got != "team" {
		t.Errorf("plans to upgrade to: %q", got)
	}
	if !eval[bool](b, `document.querySelector('#manage button') !== null`) {
		t.Error("no Manage billing button")
	}
	if got := b.text(`[data-invoice="in_e2e"]`); !strings.Contains(got, "paid") || !strings.Contains(got, "19.00 EUR") {
		t.Errorf("invoice row: %q", got)
	}
	b.screenshot("billing")
}
