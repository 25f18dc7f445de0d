// Package stripebilling is AgentScope's Stripe side of billing
// (github.com/stripe/stripe-go/v76): an organisation's Stripe customer
// (made on its first use), Checkout Sessions to subscribe to a plan's
// price, Customer Portal sessions, the webhook that moves organisations
// between plans as their subscriptions and invoices change (each Stripe
// event applied exactly once, the newest subscription state winning), and
// the metered usage reported to Stripe by a River periodic job.
//
// Without a Stripe secret key every call answers that billing is not
// configured (EUNAVAILABLE) and nothing else changes.
package stripebilling

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/agentscope/agentscope"
)

// Store is what the Stripe side keeps in AgentScope's store
// (store/sqlstore implements it).
type Store interface {
	StripeAccount(ctx context.Context, orgID string) (agentscope.StripeAccount, error)
	StripeAccountByCustomer(ctx context.Context, customerID string) (agentscope.StripeAccount, error)
	ListStripeAccounts(ctx context.Context) ([]agentscope.StripeAccount, error)
	BindStripeCustomer(ctx context.Context, orgID, customerID, actor string) (agentscope.StripeAccount, error)
	ApplyStripeChange(ctx context.Context, c agentscope.StripeChange) (agentscope.StripeOutcome, error)
	ListStripeInvoices(ctx context.Context, orgID string, limit int) ([]agentscope.StripeInvoice, error)
	BeginUsageReport(ctx context.Context, orgID, period string, quantity int64) error
	FinishUsageReport(ctx context.Context, orgID, period string, quantity int64) error
	// OrgEventUsage counts the organisation's stored events in a
	// billing period (package billing's count).
	OrgEventUsage(ctx context.Context, orgID, period string) (int64, error)
}

// Plan is what this package needs of a plan of the plans file.
type Plan struct {
	ID            string
	StripePriceID string
}

// Options configure a Service.
type Options struct {
	Config Config
	Store  Store
	// Plans are the plans file's plans; DefaultPlan the one organisations
	// fall back to when their subscription ends or its grace period does.
	Plans       []Plan
	DefaultPlan string
	// PlansFrom, when set, is asked for the plans and the default plan at
	// each use instead of Plans and DefaultPlan (which still name the
	// plans at start): the plans shared through the database, which
	// another process may republish (billing.Shared).
	PlansFrom func() (plans []Plan, defaultPlan string)
	// Period names the billing period t falls in, and PeriodBounds gives
	// its start and end (package billing's calendar months).
	Period       func(t time.Time) string
	PeriodBounds func(t time.Time) (start, end time.Time)
	// HTTPClient reaches Stripe (nil: a client with a 30s timeout).
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service is the Stripe side of billing.
type Service struct {
	opts Options
	cfg  Config
	api  *client.API
	log  *slog.Logger
}

// ErrNotConfigured answers every call while Stripe is off.
var ErrNotConfigured = agentscope.Errorf(agentscope.EUNAVAILABLE,
	"billing is not configured on this AgentScope: set %s (and %s for the webhook) to take payments through Stripe", EnvSecretKey, EnvWebhookSecret)

// New validates opts and returns the Service. With opts.Config not
// configured it returns a Service whose every call is ErrNotConfigured.
func New(opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := opts.Config
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{opts: opts, cfg: cfg, log: opts.Logger.With("component", "stripe")}
	if !cfg.Configured() {
		return s, nil
	}
	if opts.Store == nil || opts.Period == nil || opts.PeriodBounds == nil || opts.DefaultPlan == "" {
		return nil, errors.New("stripebilling: Store, Period, PeriodBounds and DefaultPlan are required with Stripe on")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{HTTPClient: hc, MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(strings.TrimSuffix(cfg.APIBase, "/"))
	}
	s.api = client.New(cfg.SecretKey, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	})
	return s, nil
}

// Configured reports whether Stripe is on.
func (s *Service) Configured() bool { return s != nil && s.cfg.Configured() }

// plans returns the plans and the default plan in force.
func (s *Service) plans() ([]Plan, string) {
	if s.opts.PlansFrom != nil {
		if plans, def := s.opts.PlansFrom(); def != "" {
			return plans, def
		}
	}
	return s.opts.Plans, s.opts.DefaultPlan
}

// defaultPlan is the plan organisations fall back to.
func (s *Service) defaultPlan() string {
	_, def := s.plans()
	return def
}

func (s *Service) priceOf(plan string) (string, error) {
	var names []string
	plans, _ := s.plans()
	for _, p := range plans {
		if p.ID == plan && p.StripePriceID != "" {
			return p.StripePriceID, nil
		}
		if p.StripePriceID != "" {
			names = append(names, p.ID)
		}
	}
	return "", agentscope.FieldErrorf("plan", "%q is not a plan with a Stripe price; the plans to subscribe to are %s", plan, strings.Join(names, ", "))
}

func (s *Service) planOfPrice(price string) (string, bool) {
	plans, _ := s.plans()
	i := slices.IndexFunc(plans, func(p Plan) bool { return p.StripePriceID != "" && p.StripePriceID == price })
	if i < 0 {
		return "", false
	}
	return plans[i].ID, true
}

// stripeError turns an error from Stripe into one safe to show: its
// message (never the key) with the operation, as EUNAVAILABLE.
func stripeError(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return agentscope.Errorf(agentscope.EUNAVAILABLE, "Stripe refused to %s: %s (%s)", op, se.Msg, se.Type)
	}
	return agentscope.Errorf(agentscope.EUNAVAILABLE, "cannot reach Stripe to %s: %v", op, err)
}

// customer returns the organisation's binding, making its Stripe customer
// on first use. The customer's idempotency key is the organisation's, so
// requests racing to make it get one customer from Stripe.
func (s *Service) customer(ctx context.Context, org string) (agentscope.StripeAccount, error) {
	a, err := s.opts.Store.StripeAccount(ctx, org)
	if agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		return a, err
	}
	params := &stripe.CustomerParams{Description: stripe.String("AgentScope organisation " + org)}
	params.AddMetadata("agentscope_org", org)
	params.SetIdempotencyKey("agentscope-customer-" + org)
	params.Context = ctx
	c, err := s.api.Customers.New(params)
	if err != nil {
		return a, stripeError("create the organisation's customer", err)
	}
	return s.opts.Store.BindStripeCustomer(ctx, org, c.ID, agentscope.ActorFrom(ctx))
}

func (s *Service) billingURL(query string) string {
	return strings.TrimSuffix(s.cfg.PublicURL, "/") + "/billing" + query
}

// Checkout returns the URL of a Stripe Checkout Session that subscribes
// the caller's organisation (an owner's) to plan's Stripe price, with the
// organisation's id as its client_reference_id.
func (s *Service) Checkout(ctx context.Context, plan string) (string, error) {
	if !s.Configured() {
		return "", ErrNotConfigured
	}
	org, err := agentscope.Authorize(ctx, agentscope.ActionBilling)
	if err != nil {
		return "", err
	}
	price, err := s.priceOf(plan)
	if err != nil {
		return "", err
	}
	a, err := s.customer(ctx, org)
	if err != nil {
		return "", err
	}
	if a.Subscribed() {
		// A second Checkout would start a second subscription, billed
		// beside the first.
		return "", agentscope.Errorf(agentscope.ECONFLICT, "this organisation already has a subscription (%s): change its plan or cancel it in Manage billing (the Customer Portal)", a.Status)
	}
	item := &stripe.CheckoutSessionLineItemParams{Price: stripe.String(price)}
	// A metered price takes no quantity; a licensed one needs it.
	pp := &stripe.PriceParams{}
	pp.Context = ctx
	p, err := s.api.Prices.Get(price, pp)
	if err != nil {
		return "", stripeError("read the plan's price "+price, err)
	}
	if p.Recurring == nil || p.Recurring.UsageType != stripe.PriceRecurringUsageTypeMetered {
		item.Quantity = stripe.Int64(1)
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(a.CustomerID),
		ClientReferenceID: stripe.String(org),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{item},
		SuccessURL:        stripe.String(s.billingURL("?checkout=done")),
		CancelURL:         stripe.String(s.billingURL("")),
		SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: map[string]string{"agentscope_org": org}},
	}
	params.Context = ctx
	cs, err := s.api.CheckoutSessions.New(params)
	if err != nil {
		return "", stripeError("create a Checkout Session", err)
	}
	return cs.URL, nil
}

// Portal returns the URL of a Customer Portal session of the caller's
// organisation (an owner's), where it changes or cancels its subscription
// and sees its invoices.
func (s *Service) Portal(ctx context.Context) (string, error) {
	if !s.Configured() {
		return "", ErrNotConfigured
	}
	org, err := agentscope.Authorize(ctx, agentscope.ActionBilling)
	if err != nil {
		return "", err
	}
	a, err := s.customer(ctx, org)
	if err != nil {
		return "", err
	}
	params := &stripe.BillingPortalSessionParams{Customer: stripe.String(a.CustomerID), ReturnURL: stripe.String(s.billingURL(""))}
	params.Context = ctx
	ps, err := s.api.BillingPortalSessions.New(params)
	if err != nil {
		return "", stripeError("create a Customer Portal session", err)
	}
	return ps.URL, nil
}

// Status returns the caller's organisation's (an owner's) Stripe
// binding, its last invoices and the plans to subscribe to; with Stripe
// off only that it is off.
func (s *Service) Status(ctx context.Context) (agentscope.StripeStatus, error) {
	out := agentscope.StripeStatus{Invoices: []agentscope.StripeInvoice{}}
	if !s.Configured() {
		return out, nil
	}
	org, err := agentscope.Authorize(ctx, agentscope.ActionBilling)
	if err != nil {
		return out, err
	}
	out.Configured = true
	plans, _ := s.plans()
	for _, p := range plans {
		if p.StripePriceID != "" {
			out.Plans = append(out.Plans, p.ID)
		}
	}
	a, err := s.opts.Store.StripeAccount(ctx, org)
	switch agentscope.ErrorCode(err) {
	case agentscope.ENOTFOUND:
	case "":
		out.Account = &a
	default:
		return out, err
	}
	invs, err := s.opts.Store.ListStripeInvoices(ctx, org, 10)
	if err != nil {
		return out, err
	}
	out.Invoices = append(out.Invoices, invs...)
	return out, nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }
