package agentscope

import "time"

// Stripe (issue 19): a hosted AgentScope's organisations pay through
// Stripe. Package billing/stripebilling talks to Stripe; the store keeps
// what Stripe told it, each Stripe event applied exactly once.

// Audit actions of the Stripe binding. A plan change by Stripe is the
// billing package's plan change entry, written in the same transaction.
const (
	// AuditStripeCustomerCreated: the organisation's Stripe customer was
	// made (its first Checkout or Portal).
	AuditStripeCustomerCreated AuditAction = "billing.stripe_customer_created"
	// AuditStripeSubscription: a Stripe event changed the organisation's
	// subscription (bound it, its price or status).
	AuditStripeSubscription AuditAction = "billing.stripe_subscription"
	// AuditStripeInvoice: an invoice of the organisation was paid or its
	// payment failed (a grace period begins or ends).
	AuditStripeInvoice AuditAction = "billing.stripe_invoice"
)

// ActorStripe is the audit log's actor of changes Stripe's webhooks make.
const ActorStripe = "stripe"

// StripeAccount is an organisation's binding to Stripe: its customer and,
// once it subscribed, its subscription's newest known state.
type StripeAccount struct {
	OrgID          string `json:"-"`
	CustomerID     string `json:"customer_id"`
	SubscriptionID string `json:"subscription_id,omitempty"`
	// PriceID and Status are the subscription's (its item's price; active,
	// past_due, canceled, …) as of StateAt, the creation time of the
	// Stripe event that told them: an older event never overwrites them.
	PriceID string    `json:"price_id,omitempty"`
	Status  string    `json:"status,omitempty"`
	StateAt time.Time `json:"state_at,omitzero"`
	// PaymentFailedAt is when an invoice's payment failed and the grace
	// period began; nil once an invoice is paid.
	PaymentFailedAt *time.Time `json:"payment_failed_at,omitempty"`
	// UsagePeriod and UsageReported: the events reported to Stripe for
	// the period; UsagePending, when set, is a report sent (or about to
	// be) and not yet confirmed, resent with the same idempotency key.
	UsagePeriod   string    `json:"usage_period,omitempty"`
	UsageReported int64     `json:"usage_reported"`
	UsagePending  *int64    `json:"usage_pending,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Subscribed reports whether the subscription is running (being paid, on
// trial or in a failed payment's grace): its plan changes in the Customer
// Portal, and a second Checkout would start a second subscription.
func (a StripeAccount) Subscribed() bool {
	switch a.Status {
	case "active", "trialing", "past_due":
		return a.SubscriptionID != ""
	}
	return false
}

// StripeInvoice is the last status Stripe reported of one of an
// organisation's invoices.
type StripeInvoice struct {
	OrgID     string `json:"-"`
	ID        string `json:"id"`
	Status    string `json:"status"`     // paid, payment_failed
	AmountDue int64  `json:"amount_due"` // in the currency's smallest unit
	Currency  string `json:"currency"`
	// At is the creation time of the Stripe event that reported it.
	At time.Time `json:"at"`
}

// StripeSubscriptionState is a subscription as one Stripe event showed it.
type StripeSubscriptionState struct {
	ID      string
	PriceID string
	Status  string
	// At orders states: the event's creation time.
	At time.Time
}

// StripeChange is the effect of one Stripe event on one organisation,
// which the store applies in one transaction with the event's id, so that
// a redelivered event changes nothing.
type StripeChange struct {
	// EventID is Stripe's event id (evt_…); "" for AgentScope's own
	// change (the end of a grace period), which has no event.
	EventID   string
	EventType string
	OrgID     string
	// CustomerID and SubscriptionID, when set, bind the organisation to
	// them (checkout.session.completed).
	CustomerID, SubscriptionID string
	// Subscription, when set, is applied only if newer than the stored
	// state (StripeAccount.StateAt); Plan moves with it.
	Subscription *StripeSubscriptionState
	// Plan, when set, is the plan the organisation moves to: with
	// Subscription only if that state is applied.
	Plan string
	// Invoice, when set, records the invoice's status.
	Invoice *StripeInvoice
	// PaymentFailedAt starts the grace period (kept if one is running);
	// PaymentSettled ends it.
	PaymentFailedAt *time.Time
	PaymentSettled  bool
	// GraceStartedAt, for the end of a grace period, is the grace period
	// that ended: the change applies only if it is still running.
	GraceStartedAt *time.Time
	// Reason is said in the audit entries.
	Reason string
}

// StripeOutcome is what the store did with a StripeChange.
type StripeOutcome string

// Stripe outcomes.
const (
	// StripeApplied: the change was made.
	StripeApplied StripeOutcome = "applied"
	// StripeReplayed: the event was applied before; nothing changed.
	StripeReplayed StripeOutcome = "replayed"
	// StripeStale: the event is older than the state stored; only its id
	// was kept.
	StripeStale StripeOutcome = "stale"
)

// StripeStatus is what the Billing page shows of Stripe for an
// organisation.
type StripeStatus struct {
	// Configured is false when Stripe is off (nothing else is set).
	Configured bool `json:"configured"`
	// Account is the organisation's binding; nil before its first
	// Checkout or Portal visit.
	Account *StripeAccount `json:"account,omitempty"`
	// Invoices are its last invoices' statuses, newest first.
	Invoices []StripeInvoice `json:"invoices"`
	// Plans are the plans one can subscribe to (those with a Stripe
	// price).
	Plans []string `json:"plans,omitempty"`
}
