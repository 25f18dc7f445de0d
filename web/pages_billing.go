package web

import (
	"net/http"
	"strings"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

// The Billing page (owners): the plan and its usage against every limit
// (the service's BillingUsage, as GET /api/v1/billing/usage), the Stripe
// subscription with Upgrade and Manage buttons, and the last invoices.

func (s *Server) handleBillingPage(w http.ResponseWriter, r *http.Request) {
	var notice *ui.Notice
	if r.URL.Query().Get("checkout") == "done" {
		notice = &ui.Notice{Kind: "info", Text: "Thank you: the new plan applies as soon as Stripe confirms the subscription."}
	}
	s.billingPage(w, r, http.StatusOK, notice)
}

func (s *Server) billingPage(w http.ResponseWriter, r *http.Request, status int, notice *ui.Notice) {
	ctx := r.Context()
	p := s.page(r, "Billing", "billing")
	if _, err := agentscope.Authorize(ctx, agentscope.ActionBilling); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	usage, err := s.svc.BillingUsage(ctx)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	st, err := s.billing.Status(ctx)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v := ui.Billing{Usage: usage, Stripe: st}
	if notice != nil {
		v.Notices = append(v.Notices, *notice)
	}
	s.render(w, r, status, ui.BillingPage(p, v))
}

// toStripe sends the browser to the Checkout or Portal URL Stripe gave,
// or shows the Billing page with the error.
func (s *Server) toStripe(w http.ResponseWriter, r *http.Request, url string, err error) {
	if err == nil && !strings.HasPrefix(url, "https://") {
		err = agentscope.Errorf(agentscope.EUNAVAILABLE, "Stripe answered no https URL to go to")
	}
	if err != nil {
		if agentscope.ErrorCode(err) == agentscope.EINTERNAL {
			s.log.Error("billing", "err", err)
		}
		s.billingPage(w, r, codeStatus[agentscope.ErrorCode(err)], &ui.Notice{Kind: "error", Text: agentscope.ErrorMessage(err)})
		return
	}
	redirectToStripe(w, r, url)
}

// redirectToStripe sends the browser to a Checkout or Customer Portal
// session: a URL Stripe's API answered, never one from the request.
func redirectToStripe(w http.ResponseWriter, r *http.Request, url string) {
	http.Redirect(w, r, url, http.StatusSeeOther)
}
