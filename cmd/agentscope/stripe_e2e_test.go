package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/stripemocktest"
)

// TestStripeEndToEnd: serve with Stripe (stripe-mock as its API): an
// owner's Checkout gets a URL; the webhook takes no bearer credential
// and refuses an unsigned or wrongly signed delivery with 400; signed
// deliveries bind the subscription and upgrade the plan, after which
// ingest refused on the free plan resumes.
func TestStripeEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			plans := filepath.Join(t.TempDir(), "plans.json")
			if err := os.WriteFile(plans, []byte(`{"default":"tiny","plans":[
				{"id":"tiny","name":"Tiny","limits":{"events_per_month":2}},
				{"id":"big","name":"Big","stripe_price_id":"price_big","limits":{"events_per_month":1000}}]}`), 0o600); err != nil {
				t.Fatal(err)
			}
			const secret = "whsec_e2e"
			vars["AGENTSCOPE_PLANS_FILE"] = plans
			vars["AGENTSCOPE_STRIPE_SECRET_KEY"] = "sk_test_123"
			vars["AGENTSCOPE_STRIPE_WEBHOOK_SECRET"] = secret
			vars["AGENTSCOPE_STRIPE_API_BASE"] = stripemocktest.Start(t)
			vars["AGENTSCOPE_PUBLIC_URL"] = "https://scope.example.com"
			const token = "test-token-0123456789"
			base, stop := serveInProcess(t, envOf(vars))
			defer stop()

			code, _, body := call(t, "POST", base+"/api/v1/billing/checkout", token, `{"plan":"big"}`)
			var out struct{ URL string }
			if json.Unmarshal([]byte(body), &out); code != http.StatusOK || !strings.HasPrefix(out.URL, "https://") {
				t.Fatalf("checkout: %d %s", code, body)
			}
			if code, _, body := call(t, "POST", base+"/api/v1/billing/checkout", token, `{"plan":"nope"}`); code != http.StatusBadRequest || !strings.Contains(body, `is not a plan with a Stripe price`) {
				t.Errorf("checkout of an unknown plan: %d %s", code, body)
			}
			if code, _, body := call(t, "POST", base+"/api/v1/billing/portal", "", ""); code != http.StatusUnauthorized {
				t.Errorf("portal without a credential: %d %s", code, body)
			}
			customer := ""
			_, _, audit := call(t, "GET", base+"/api/v1/audit?limit=500", token, "")
			var page agentscope.AuditPage
			_ = json.Unmarshal([]byte(audit), &page)
			for _, e := range page.Entries {
				if e.Action == agentscope.AuditStripeCustomerCreated {
					customer = e.Target
				}
			}
			if customer == "" {
				t.Fatalf("no customer in the audit log: %s", audit)
			}

			deliver := func(payload, sig string) (int, string) {
				req, _ := http.NewRequest("POST", base+"/api/v1/billing/webhook", strings.NewReader(payload))
				req.Header.Set("Content-Type", "application/json")
				if sig != "" {
					req.Header.Set("Stripe-Signature", sig)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			signed := func(payload string) string {
				return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret}).Header
			}
			now := time.Now().Unix()
			completed := fmt.Sprintf(`{"id":"evt_c","type":"checkout.session.completed","created":%d,"data":{"object":{"id":"cs_1","client_reference_id":"default","customer":%q,"subscription":"sub_1"}}}`, now, customer)
			if code, body := deliver(completed, ""); code != http.StatusBadRequest || !strings.Contains(body, "no Stripe-Signature header") {
				t.Errorf("unsigned delivery: %d %s", code, body)
			}
			bad := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(completed), Secret: "whsec_other"}).Header
			if code, body := deliver(completed, bad); code != http.StatusBadRequest || !strings.Contains(body, "no signature matches") {
				t.Errorf("wrongly signed delivery: %d %s", code, body)
			}
			// Two events fill the tiny plan; the third is refused whole.
			if code, _, body := call(t, "POST", base+"/api/v1/runs", token, `{"agent":"bot","session_id":"s1"}`); code != http.StatusCreated {
				t.Fatalf("start: %d %s", code, body)
			}
			ev := func(id string) string {
				return fmt.Sprintf(`[{"event_id":%q,"session_id":"s1","type":"ToolCalled","tool":"t","call_id":%q}]`, id, id)
			}
			call(t, "POST", base+"/api/v1/events", token, ev("e1"))
			if code, _, body := call(t, "POST", base+"/api/v1/events", token, ev("e2")); code != http.StatusPaymentRequired {
				t.Fatalf("past the tiny plan: %d %s", code, body)
			}
			if code, body := deliver(completed, signed(completed)); code != http.StatusOK {
				t.Fatalf("checkout.session.completed: %d %s", code, body)
			}
			sub := fmt.Sprintf(`{"id":"evt_s","type":"customer.subscription.created","created":%d,"data":{"object":{"id":"sub_1","customer":%q,"status":"active","items":{"data":[{"id":"si_1","price":{"id":"price_big"}}]}}}}`, now, customer)
			if code, body := deliver(sub, signed(sub)); code != http.StatusOK {
				t.Fatalf("customer.subscription.created: %d %s", code, body)
			}
			if code, _, body := call(t, "POST", base+"/api/v1/events", token, ev("e2")); code != http.StatusOK {
				t.Fatalf("after the upgrade by webhook: %d %s", code, body)
			}
			// The Billing page shows the plan, its limits as meters, the
			// subscription and the invoice; Upgrade goes on to Stripe.
			inv := fmt.Sprintf(`{"id":"evt_i","type":"invoice.paid","created":%d,"data":{"object":{"id":"in_1","customer":%q,"amount_paid":4900,"currency":"usd"}}}`, now, customer)
			if code, body := deliver(inv, signed(inv)); code != http.StatusOK {
				t.Fatalf("invoice.paid: %d %s", code, body)
			}
			browser, csrf := signedInBrowser(t, base, token)
			resp, err := browser.Get(base + "/billing")
			if err != nil {
				t.Fatal(err)
			}
			billingPage, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`id="plan-name">Big<`, `data-limit="events_per_month"`, "<meter", `id="sub-status">active<`, `data-invoice="in_1"`, "49.00 USD", `action="/billing/portal"`, `href="/billing"`} {
				if !strings.Contains(string(billingPage), want) {
					t.Errorf("the Billing page lacks %q:\n%s", want, billingPage)
				}
			}
			if strings.Contains(string(billingPage), `action="/billing/checkout"`) {
				t.Error("the Billing page of a subscribed organisation offers Upgrade (a second subscription)")
			}
			form := func(path string, v url.Values) (*http.Response, string) {
				v.Set("csrf", csrf)
				req, _ := http.NewRequest("POST", base+path, strings.NewReader(v.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", base)
				resp, err := browser.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			// Subscribed already: Upgrade would start a second
			// subscription, so the page says to use Manage billing, which
			// goes on to the Customer Portal.
			if resp, page := form("/billing/checkout", url.Values{"plan": {"big"}}); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "already has a subscription") {
				t.Errorf("Upgrade while subscribed: %d", resp.StatusCode)
			}
			if resp, _ := form("/billing/portal", url.Values{}); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://") {
				t.Errorf("Manage billing: %d to %q; want 303 to Stripe", resp.StatusCode, resp.Header.Get("Location"))
			}
			var usage agentscope.BillingUsage
			_, _, body = call(t, "GET", base+"/api/v1/billing/usage", token, "")
			if err := json.Unmarshal([]byte(body), &usage); err != nil || usage.Plan != "big" {
				t.Errorf("usage after the upgrade: %s", body)
			}
		})
	}
}

// signedInBrowser signs in to the web UI with the instance token and
// returns the browser (not following redirects) and its CSRF token.
func signedInBrowser(t *testing.T, base, token string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(base + "/billing")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on /billing: %d %s", resp.StatusCode, page)
	}
	return c, string(m[1])
}
