package stripebilling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/agentscope/agentscope"
)

// HandleWebhook verifies a Stripe webhook delivery (payload and its
// Stripe-Signature header, within the timestamp tolerance) and applies its
// event exactly once. A bad signature is EINVALID and nothing is stored.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signature string) error {
	if !s.Configured() {
		return ErrNotConfigured
	}
	if s.cfg.WebhookSecret == "" {
		return agentscope.Errorf(agentscope.EUNAVAILABLE, "the Stripe webhook is not configured on this AgentScope: set %s to the endpoint's signing secret", EnvWebhookSecret)
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, s.cfg.WebhookSecret, webhook.ConstructEventOptions{
		Tolerance: s.cfg.Tolerance,
		// The account's webhook endpoint may use another API version;
		// only fields every version has are read (see parseEvent).
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		return signatureError(err)
	}
	p, err := parseEvent(ev)
	if err != nil {
		return err
	}
	c, err := s.changeOf(ctx, p)
	if err != nil {
		return err
	}
	out, err := s.opts.Store.ApplyStripeChange(ctx, c)
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND && c.OrgID != "" {
		// An organisation deleted since (or never ours): Stripe would
		// retry for days; the event is kept as one of no organisation.
		s.log.Warn("stripe event of an organisation that does not exist", "event", ev.ID, "type", string(ev.Type), "org", c.OrgID)
		out, err = s.opts.Store.ApplyStripeChange(ctx, agentscope.StripeChange{EventID: c.EventID, EventType: c.EventType})
	}
	if err != nil {
		return err
	}
	s.log.Info("stripe event", "event", ev.ID, "type", string(ev.Type), "org", c.OrgID, "outcome", string(out))
	return nil
}

func signatureError(err error) error {
	why := err.Error()
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		why = "the request has no Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		why = "the Stripe-Signature header is malformed"
	case errors.Is(err, webhook.ErrTooOld):
		why = "its signed timestamp is older than the tolerance (a replayed or delayed delivery)"
	case errors.Is(err, webhook.ErrNoValidSignature):
		why = "no signature matches the payload under the webhook secret (is AGENTSCOPE_STRIPE_WEBHOOK_SECRET the endpoint's signing secret?)"
	}
	return agentscope.Errorf(agentscope.EINVALID, "Stripe webhook refused, nothing stored: %s", why)
}

// event is what AgentScope reads of a Stripe event.
type event struct {
	id, typ string
	created time.Time
	// checkout.session.completed
	clientReference string
	// every kind but checkout: the customer the object is of.
	customer     string
	subscription string
	// customer.subscription.*
	price, status string
	// invoice.*
	invoice *agentscope.StripeInvoice
}

// parseEvent reads the event's object: only the fields every Stripe API
// version has.
func parseEvent(ev stripe.Event) (event, error) {
	p := event{id: ev.ID, typ: string(ev.Type), created: time.Unix(ev.Created, 0).UTC()}
	if ev.ID == "" {
		return p, agentscope.Errorf(agentscope.EINVALID, "Stripe webhook: the event has no id")
	}
	if ev.Data == nil {
		return p, agentscope.Errorf(agentscope.EINVALID, "Stripe webhook: event %s has no data.object", ev.ID)
	}
	decode := func(v any) error {
		if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
			return agentscope.Errorf(agentscope.EINVALID, "Stripe webhook: event %s (%s): data.object: %v", ev.ID, ev.Type, err)
		}
		return nil
	}
	switch ev.Type {
	case "checkout.session.completed":
		var cs stripe.CheckoutSession
		if err := decode(&cs); err != nil {
			return p, err
		}
		p.clientReference = cs.ClientReferenceID
		if cs.Customer != nil {
			p.customer = cs.Customer.ID
		}
		if cs.Subscription != nil {
			p.subscription = cs.Subscription.ID
		}
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var sub stripe.Subscription
		if err := decode(&sub); err != nil {
			return p, err
		}
		p.subscription, p.status = sub.ID, string(sub.Status)
		if sub.Customer != nil {
			p.customer = sub.Customer.ID
		}
		if sub.Items != nil {
			for _, it := range sub.Items.Data {
				if it != nil && it.Price != nil && it.Price.ID != "" {
					p.price = it.Price.ID
					break
				}
			}
		}
		if ev.Type == "customer.subscription.deleted" {
			p.status = string(stripe.SubscriptionStatusCanceled)
		}
	case "invoice.paid", "invoice.payment_failed":
		var inv stripe.Invoice
		if err := decode(&inv); err != nil {
			return p, err
		}
		if inv.Customer != nil {
			p.customer = inv.Customer.ID
		}
		status, amount := "paid", inv.AmountPaid
		if ev.Type == "invoice.payment_failed" {
			status, amount = "payment_failed", inv.AmountDue
		}
		p.invoice = &agentscope.StripeInvoice{ID: inv.ID, Status: status, AmountDue: amount, Currency: string(inv.Currency), At: p.created}
		if inv.ID == "" {
			return p, agentscope.Errorf(agentscope.EINVALID, "Stripe webhook: event %s (%s): the invoice has no id", ev.ID, ev.Type)
		}
	}
	return p, nil
}

// changeOf is the change event p makes: to the organisation its checkout
// names, or whose Stripe customer it is of. An event of no organisation of
// ours (another product's customer, a kind AgentScope does not act on) is
// a change of no organisation: only its id is kept.
func (s *Service) changeOf(ctx context.Context, p event) (agentscope.StripeChange, error) {
	c := agentscope.StripeChange{EventID: p.id, EventType: p.typ, Reason: "Stripe " + p.typ}
	if p.typ == "checkout.session.completed" {
		if p.clientReference == "" || agentscope.ValidateOrgID(p.clientReference) != nil || p.customer == "" {
			return c, nil
		}
		c.OrgID, c.CustomerID, c.SubscriptionID = p.clientReference, p.customer, p.subscription
		return c, nil
	}
	if p.customer == "" || (p.invoice == nil && p.status == "") {
		return c, nil
	}
	a, err := s.opts.Store.StripeAccountByCustomer(ctx, p.customer)
	if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		s.log.Info("stripe event of a customer no organisation has", "event", p.id, "type", p.typ)
		return c, nil
	} else if err != nil {
		return c, err
	}
	c.OrgID = a.OrgID
	if p.invoice != nil {
		c.Invoice = p.invoice
		if p.invoice.Status == "paid" {
			c.PaymentSettled = true
		} else {
			at := p.created
			c.PaymentFailedAt = &at
		}
		return c, nil
	}
	c.Subscription = &agentscope.StripeSubscriptionState{ID: p.subscription, PriceID: p.price, Status: p.status, At: p.created}
	switch stripe.SubscriptionStatus(p.status) {
	case stripe.SubscriptionStatusActive, stripe.SubscriptionStatusTrialing:
		plan, ok := s.planOfPrice(p.price)
		if !ok {
			s.log.Warn("stripe subscription of a price no plan names: the plan is unchanged", "event", p.id, "org", a.OrgID, "price", p.price)
			break
		}
		c.Plan = plan
		c.Reason = fmt.Sprintf("Stripe %s: subscription %s is %s on price %s", p.typ, p.subscription, p.status, p.price)
	case stripe.SubscriptionStatusCanceled, stripe.SubscriptionStatusUnpaid, stripe.SubscriptionStatusIncompleteExpired:
		c.Plan = s.defaultPlan()
		c.Reason = fmt.Sprintf("Stripe %s: subscription %s is %s", p.typ, p.subscription, p.status)
	}
	// past_due and incomplete keep the plan: a failed payment's grace
	// period (invoice.payment_failed) decides.
	return c, nil
}
