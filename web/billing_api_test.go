package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentscope/agentscope/billing/stripebilling"
	"github.com/agentscope/agentscope/web"
)

// TestStripeWebhookIsSignedNotBearer: the webhook takes no bearer
// credential (Stripe sends none) and answers what the billing side says
// (here: not configured, 503, not 401), and one address past its bucket
// of deliveries gets 429 with Retry-After, while the API beside it still
// asks for a credential.
func TestStripeWebhookIsSignedNotBearer(t *testing.T) {
	f := uiSetup(t, web.UIOptions{})
	off, err := stripebilling.New(stripebilling.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := web.New(f.svc, f.opts)
	h.RouteBillingStripe(off)
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(path string) *http.Response {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"id":"evt_1"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/api/v1/billing/checkout"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("checkout without a credential: %d, want 401", resp.StatusCode)
	}
	// The bucket refills as the test sends: past the burst, within twice
	// as many, a delivery is refused.
	for i := range 2 * web.StripeWebhookLimit.Burst {
		resp := post("/api/v1/billing/webhook")
		if resp.StatusCode == http.StatusTooManyRequests {
			if i < web.StripeWebhookLimit.Burst || resp.Header.Get("Retry-After") == "" {
				t.Errorf("delivery %d refused (Retry-After %q): within the burst, or without Retry-After", i, resp.Header.Get("Retry-After"))
			}
			return
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("delivery %d: %d, want 503 (billing is not configured)", i, resp.StatusCode)
		}
	}
	t.Errorf("%d deliveries from one address were all taken", 2*web.StripeWebhookLimit.Burst)
}
