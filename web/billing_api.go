package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/ratelimit"
)

// BillingStripeAPI is the Stripe side of billing (package
// billing/stripebilling's Service implements it). The caller's
// organisation is in the context; without Stripe every call answers that
// billing is not configured (EUNAVAILABLE).
type BillingStripeAPI interface {
	// Checkout returns the URL of a Checkout Session subscribing the
	// caller's organisation to plan.
	Checkout(ctx context.Context, plan string) (string, error)
	// Portal returns the URL of a Customer Portal session.
	Portal(ctx context.Context) (string, error)
	// HandleWebhook verifies and applies one Stripe webhook delivery.
	HandleWebhook(ctx context.Context, payload []byte, signature string) error
	// Status is the caller's organisation's Stripe binding and invoices
	// (Configured false with Stripe off), for the Billing page.
	Status(ctx context.Context) (agentscope.StripeStatus, error)
}

// StripeWebhookLimit bounds the webhook's deliveries per client address:
// Stripe sends far fewer, and retries what is refused with backoff, so a
// flood of unsigned requests costs little and loses nothing.
var StripeWebhookLimit = ratelimit.Limit{Rate: 20, Burst: 100}

// maxStripeWebhookBytes bounds a webhook delivery's body.
const maxStripeWebhookBytes = 1 << 20

// RouteBillingStripe adds the Stripe endpoints:
//
//	POST /api/v1/billing/checkout {plan}  → {url}, owners only
//	POST /api/v1/billing/portal           → {url}, owners only
//	POST /api/v1/billing/webhook          Stripe's deliveries: no bearer
//	                                      credential, the Stripe-Signature
//	                                      is the authentication; rate
//	                                      limited per client address
//
// and the Billing page for owners (GET /billing; its Upgrade and Manage
// forms POST /billing/checkout and /billing/portal, which send the browser
// on to Stripe).
func (s *Server) RouteBillingStripe(api BillingStripeAPI) {
	s.billing = api
	cop := http.NewCrossOriginProtection()
	handle := func(pattern string, h http.Handler) { s.mux.Handle(pattern, cop.Handler(uiHeaders(h))) }
	handle("GET /billing", s.signedIn(s.handleBillingPage))
	handle("POST /billing/checkout", s.signedIn(s.csrfProtected(func(w http.ResponseWriter, r *http.Request) {
		url, err := api.Checkout(r.Context(), r.PostFormValue("plan"))
		s.toStripe(w, r, url, err)
	})))
	handle("POST /billing/portal", s.signedIn(s.csrfProtected(func(w http.ResponseWriter, r *http.Request) {
		url, err := api.Portal(r.Context())
		s.toStripe(w, r, url, err)
	})))
	s.mux.Handle("POST /api/v1/billing/checkout", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in struct {
			Plan string `json:"plan"`
		}
		if err := decodeBody(r, &in); err != nil {
			return 0, nil, err
		}
		if in.Plan == "" {
			return 0, nil, agentscope.FieldErrorf("plan", "is required: the id of the plan to subscribe to")
		}
		url, err := api.Checkout(r.Context(), in.Plan)
		return http.StatusOK, map[string]string{"url": url}, err
	}))
	s.mux.Handle("POST /api/v1/billing/portal", s.api(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		url, err := api.Portal(r.Context())
		return http.StatusOK, map[string]string{"url": url}, err
	}))
	limit := ratelimit.New(StripeWebhookLimit, nil)
	s.mux.HandleFunc("POST /api/v1/billing/webhook", func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ok, wait := limit.Allow(host); !ok {
			e := agentscope.Errorf(agentscope.ERATELIMITED, "too many webhook deliveries from this address; retry after %s", wait.Round(time.Millisecond))
			e.RetryAfter = wait
			writeError(w, r, s.log, e)
			return
		}
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStripeWebhookBytes))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if err := api.HandleWebhook(r.Context(), payload, r.Header.Get("Stripe-Signature")); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"received": true})
	})
}
