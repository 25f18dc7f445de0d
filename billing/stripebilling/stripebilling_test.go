package stripebilling_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/billing/stripebilling"
	"github.com/agentscope/agentscope/internal/stripemocktest"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

const (
	webhookSecret = "whsec_test_secret"
	teamPrice     = "price_team_monthly"
)

// plansFile: "free" (the default) allows 3 events a period, "team" many.
const plansFile = `{"default": "free", "plans": [
	{"id": "free", "name": "Free", "limits": {"events_per_month": 3}},
	{"id": "team", "name": "Team", "stripe_price_id": "` + teamPrice + `", "limits": {"events_per_month": 1000}}]}`

// store is what the tests need of either SQL store.
type store interface {
	stripebilling.Store
	agentscope.Store
	CreateOrg(ctx context.Context, name, actor string) (agentscope.Org, error)
	OrgPlan(ctx context.Context, orgID string) (string, error)
	ListAudit(ctx context.Context, orgID string, f agentscope.AuditFilter) (agentscope.AuditPage, error)
	WriteDB() *sql.DB
	Database() string
	Close() error
}

type fixture struct {
	st   store
	svc  *stripebilling.Service
	org  string
	now  time.Time
	base string
}

// stores runs fn against SQLite and (when enabled) Postgres, each with
// the plans enforced and a stripe-mock behind the service.
func stores(t *testing.T, fn func(t *testing.T, f *fixture)) {
	plans, err := billing.Parse([]byte(plansFile))
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]func(t *testing.T) store{
		"sqlite": func(t *testing.T) store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{Usage: plans})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) store {
			st, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{Usage: plans})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := o(t)
			t.Cleanup(func() { st.Close() })
			f := &fixture{st: st, now: time.Now().UTC(), base: stripemocktest.Start(t)}
			org, err := st.CreateOrg(context.Background(), "acme", "test")
			if err != nil {
				t.Fatal(err)
			}
			f.org = org.ID
			f.svc = f.service(t, stripebilling.Config{SecretKey: "sk_test_123", WebhookSecret: webhookSecret, APIBase: f.base, PublicURL: "https://scope.example.com"}, plans)
			fn(t, f)
		})
	}
}

func (f *fixture) service(t *testing.T, cfg stripebilling.Config, plans *billing.Plans) *stripebilling.Service {
	opts := stripebilling.Options{Config: cfg, Store: f.st, Period: billing.Period, PeriodBounds: billing.PeriodBounds,
		DefaultPlan: plans.DefaultPlan(), Now: func() time.Time { return f.now }}
	for _, p := range plans.Plans {
		opts.Plans = append(opts.Plans, stripebilling.Plan{ID: p.ID, StripePriceID: p.StripePriceID})
	}
	svc, err := stripebilling.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (f *fixture) as(role agentscope.Role) context.Context {
	return agentscope.WithPrincipal(context.Background(), agentscope.Principal{Kind: agentscope.PrincipalUser, OrgID: f.org, Role: role, UserID: "u-1"})
}

func (f *fixture) plan(t *testing.T) string {
	t.Helper()
	p, err := f.st.OrgPlan(context.Background(), f.org)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) audits(t *testing.T, action agentscope.AuditAction) []agentscope.AuditEntry {
	t.Helper()
	page, err := f.st.ListAudit(context.Background(), f.org, agentscope.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []agentscope.AuditEntry
	for _, e := range page.Entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func wantCode(t *testing.T, err error, code string, mention string) {
	t.Helper()
	if agentscope.ErrorCode(err) != code || !strings.Contains(agentscope.ErrorMessage(err), mention) {
		t.Fatalf("got %v (%s), want %s mentioning %q", err, agentscope.ErrorCode(err), code, mention)
	}
}

// TestCheckoutAndPortal: against stripe-mock, an owner's first Checkout
// makes the organisation's customer (once, audited), the session and the
// portal answer URLs; others are refused.
func TestCheckoutAndPortal(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		owner := f.as(agentscope.RoleOwner)
		url, err := f.svc.Checkout(owner, "team")
		if err != nil || !strings.HasPrefix(url, "https://") {
			t.Fatalf("checkout: %q %v", url, err)
		}
		acct, err := f.st.StripeAccount(context.Background(), f.org)
		if err != nil || !strings.HasPrefix(acct.CustomerID, "cus_") {
			t.Fatalf("customer after checkout: %+v %v", acct, err)
		}
		if _, err := f.svc.Checkout(owner, "team"); err != nil {
			t.Fatal(err)
		}
		if n := len(f.audits(t, agentscope.AuditStripeCustomerCreated)); n != 1 {
			t.Errorf("customer created %d times in the audit log, want 1", n)
		}
		url, err = f.svc.Portal(owner)
		if err != nil || !strings.HasPrefix(url, "https://") {
			t.Fatalf("portal: %q %v", url, err)
		}
		_, err = f.svc.Checkout(owner, "free")
		wantCode(t, err, agentscope.EINVALID, `"free" is not a plan with a Stripe price`)
		_, err = f.svc.Checkout(f.as(agentscope.RoleAdmin), "team")
		wantCode(t, err, agentscope.EFORBIDDEN, "owner")
		_, err = f.svc.Portal(f.as(agentscope.RoleMember))
		wantCode(t, err, agentscope.EFORBIDDEN, "owner")
		st, err := f.svc.Status(owner)
		if err != nil || !st.Configured || st.Account == nil || st.Account.CustomerID != acct.CustomerID || len(st.Plans) != 1 || st.Plans[0] != "team" {
			t.Fatalf("status: %+v %v", st, err)
		}
		if _, err := f.svc.Status(f.as(agentscope.RoleAdmin)); agentscope.ErrorCode(err) != agentscope.EFORBIDDEN {
			t.Fatalf("status as an admin: %v", err)
		}
	})
}

// TestNotConfigured: without a secret key every call says so, as
// EUNAVAILABLE, and nothing is asked of the store.
func TestNotConfigured(t *testing.T) {
	svc, err := stripebilling.New(stripebilling.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("default"))
	_, err = svc.Checkout(ctx, "team")
	wantCode(t, err, agentscope.EUNAVAILABLE, "billing is not configured")
	_, err = svc.Portal(ctx)
	wantCode(t, err, agentscope.EUNAVAILABLE, "AGENTSCOPE_STRIPE_SECRET_KEY")
	wantCode(t, svc.HandleWebhook(ctx, []byte(`{}`), "t=1,v1=00"), agentscope.EUNAVAILABLE, "billing is not configured")
	if err := svc.ReportUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if jobs := svc.PeriodicJobs("q"); len(jobs) != 0 {
		t.Errorf("periodic jobs without Stripe: %d", len(jobs))
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for name, c := range map[string]struct {
		env     []string
		wantErr string
	}{
		"off":                {nil, ""},
		"on":                 {[]string{stripebilling.EnvSecretKey, "sk_test_1", "AGENTSCOPE_PUBLIC_URL", "https://x"}, ""},
		"no public url":      {[]string{stripebilling.EnvSecretKey, "sk_test_1"}, "AGENTSCOPE_PUBLIC_URL"},
		"secret without key": {[]string{stripebilling.EnvWebhookSecret, "whsec_1"}, stripebilling.EnvSecretKey},
		"bad base":           {[]string{stripebilling.EnvSecretKey, "sk_test_1", "AGENTSCOPE_PUBLIC_URL", "https://x", stripebilling.EnvAPIBase, "ftp://x"}, stripebilling.EnvAPIBase},
		"bad grace":          {[]string{stripebilling.EnvGracePeriod, "a week"}, stripebilling.EnvGracePeriod},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := stripebilling.ConfigFromEnv(env(c.env...))
			if (err == nil) != (c.wantErr == "") || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "sk_test_1") {
				t.Errorf("the error shows the secret key: %v", err)
			}
		})
	}
}

// checkout opens a Checkout Session as the owner, which makes the
// organisation's Stripe customer, and returns its account.
func (f *fixture) checkout(t *testing.T) agentscope.StripeAccount {
	t.Helper()
	if _, err := f.svc.Checkout(f.as(agentscope.RoleOwner), "team"); err != nil {
		t.Fatal(err)
	}
	acct, err := f.st.StripeAccount(context.Background(), f.org)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

// subscribe checks out and delivers the webhooks of a completed Checkout
// and an active subscription to the team price; it returns the account.
func (f *fixture) subscribe(t *testing.T) agentscope.StripeAccount {
	t.Helper()
	acct := f.checkout(t)
	f.mustDeliver(t, event("evt_c", "checkout.session.completed", time.Now(),
		fmt.Sprintf(`{"id": "cs_1", "object": "checkout.session", "client_reference_id": %q, "customer": %q, "subscription": "sub_1"}`, f.org, acct.CustomerID)))
	f.mustDeliver(t, event("evt_s", "customer.subscription.created", time.Now(), subscription(acct.CustomerID, "active", teamPrice)))
	return acct
}

// startSession stores session s1 (its SessionStarted: one event).
func (f *fixture) startSession(t *testing.T, at time.Time) {
	t.Helper()
	res := f.st.Append(context.Background(), []agentscope.AppendRequest{{OrgID: f.org, SessionID: "s1",
		Start:  &agentscope.Run{Agent: "bot", Status: agentscope.StatusRunning, CreatedAt: at, StartedAt: &at},
		Events: []agentscope.Event{{Type: agentscope.SessionStarted, Agent: "bot", TS: at}}}})[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
}

// event is a Stripe event's JSON.
func event(id, typ string, created time.Time, object string) []byte {
	return []byte(fmt.Sprintf(`{"id": %q, "object": "event", "api_version": "2023-10-16", "type": %q, "created": %d, "data": {"object": %s}}`,
		id, typ, created.Unix(), object))
}

func subscription(customer, status, price string) string {
	return fmt.Sprintf(`{"id": "sub_1", "object": "subscription", "customer": %q, "status": %q,
		"items": {"object": "list", "data": [{"id": "si_1", "object": "subscription_item", "price": {"id": %q, "object": "price"}}]}}`, customer, status, price)
}

func invoice(id, customer string) string {
	return fmt.Sprintf(`{"id": %q, "object": "invoice", "customer": %q, "amount_due": 4900, "amount_paid": 4900, "currency": "usd"}`, id, customer)
}

// deliver signs payload (at the given time) and hands it to the webhook.
func (f *fixture) deliver(payload []byte, signedAt time.Time, secret string) error {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: signedAt})
	return f.svc.HandleWebhook(context.Background(), sp.Payload, sp.Header)
}

func (f *fixture) mustDeliver(t *testing.T, payload []byte) {
	t.Helper()
	if err := f.deliver(payload, time.Now(), webhookSecret); err != nil {
		t.Fatalf("deliver %s: %v", payload, err)
	}
}

// TestWebhook: signed deliveries move the organisation between plans:
// checkout binds it, subscription events set the plan of their price,
// each event applies once, an older state never overwrites a newer one,
// and a bad or stale signature stores nothing.
func TestWebhook(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		acct := f.checkout(t)
		cus := acct.CustomerID
		t0 := time.Now().Add(-time.Hour).Truncate(time.Second)

		completed := event("evt_checkout", "checkout.session.completed", t0,
			fmt.Sprintf(`{"id": "cs_1", "object": "checkout.session", "client_reference_id": %q, "customer": %q, "subscription": "sub_1"}`, f.org, cus))
		// A bad signature and a stale one are refused, and store nothing:
		// the same event delivered properly afterwards still applies.
		wantCode(t, f.deliver(completed, time.Now(), "whsec_wrong"), agentscope.EINVALID, "no signature matches")
		wantCode(t, f.deliver(completed, time.Now().Add(-10*time.Minute), webhookSecret), agentscope.EINVALID, "older than the tolerance")
		wantCode(t, f.svc.HandleWebhook(ctx, completed, ""), agentscope.EINVALID, "no Stripe-Signature header")
		f.mustDeliver(t, completed)
		if acct, _ = f.st.StripeAccount(ctx, f.org); acct.SubscriptionID != "sub_1" {
			t.Fatalf("checkout did not bind the subscription: %+v", acct)
		}

		// Ingest past the free plan's 3 events is refused ...
		at := time.Now().UTC()
		f.startSession(t, at)
		var res agentscope.AppendResult
		models := func(prefix string, n int) []agentscope.Event {
			evs := make([]agentscope.Event, n)
			for i := range evs {
				evs[i] = agentscope.Event{EventID: fmt.Sprintf("%s-%d", prefix, i), Type: agentscope.ModelInvoked, TS: at, Provider: "p", Model: "m"}
			}
			return evs
		}
		res = f.st.Append(ctx, []agentscope.AppendRequest{{OrgID: f.org, SessionID: "s1", Events: models("a", 4)}})[0]
		if res.Rejected == nil || res.Rejected[3] == nil || res.Rejected[1] != nil {
			t.Fatalf("free plan: want events 3.. refused, got %+v %v", res.Rejected, res.Err)
		}

		// ... until a subscription to the team price upgrades it.
		f.mustDeliver(t, event("evt_sub_created", "customer.subscription.created", t0.Add(time.Second), subscription(cus, "active", teamPrice)))
		if p := f.plan(t); p != "team" {
			t.Fatalf("plan after subscription = %q, want team", p)
		}
		changes := f.audits(t, agentscope.AuditPlanChanged)
		if len(changes) != 1 || changes[0].Actor != agentscope.ActorStripe {
			t.Fatalf("plan changes in the audit log: %+v", changes)
		}
		// Subscribed: a second Checkout would bill twice, the Portal changes plans.
		_, err := f.svc.Checkout(f.as(agentscope.RoleOwner), "team")
		wantCode(t, err, agentscope.ECONFLICT, "Manage billing")
		res = f.st.Append(ctx, []agentscope.AppendRequest{{OrgID: f.org, SessionID: "s1", Events: models("b", 4)}})[0]
		if res.Err != nil || res.Rejected != nil {
			t.Fatalf("after the upgrade ingest is still refused: %v %+v", res.Err, res.Rejected)
		}

		// The same event again changes nothing.
		subEntries := len(f.audits(t, agentscope.AuditStripeSubscription))
		f.mustDeliver(t, event("evt_sub_created", "customer.subscription.created", t0.Add(time.Second), subscription(cus, "active", teamPrice)))
		if n := len(f.audits(t, agentscope.AuditStripeSubscription)); n != subEntries {
			t.Errorf("a replayed event wrote %d more audit entries", n-subEntries)
		}

		// Out of order: the cancellation (newer) arrives before an update
		// (older) that would make it active again: the cancellation wins.
		f.mustDeliver(t, event("evt_sub_deleted", "customer.subscription.deleted", t0.Add(3*time.Second), subscription(cus, "canceled", teamPrice)))
		if p := f.plan(t); p != "free" {
			t.Fatalf("plan after cancellation = %q, want free", p)
		}
		f.mustDeliver(t, event("evt_sub_updated_late", "customer.subscription.updated", t0.Add(2*time.Second), subscription(cus, "active", teamPrice)))
		if p := f.plan(t); p != "free" {
			t.Fatalf("an older update overwrote the newer cancellation: plan %q", p)
		}
		if acct, _ = f.st.StripeAccount(ctx, f.org); acct.Status != "canceled" {
			t.Errorf("status = %q, want canceled", acct.Status)
		}
		// A newer one applies.
		f.mustDeliver(t, event("evt_sub_updated", "customer.subscription.updated", t0.Add(4*time.Second), subscription(cus, "active", teamPrice)))
		if p := f.plan(t); p != "team" {
			t.Fatalf("plan after a newer update = %q, want team", p)
		}

		// A failed payment starts a grace period; a paid invoice ends it.
		f.mustDeliver(t, event("evt_inv_failed", "invoice.payment_failed", t0.Add(5*time.Second), invoice("in_1", cus)))
		if acct, _ = f.st.StripeAccount(ctx, f.org); acct.PaymentFailedAt == nil {
			t.Fatal("no grace period after a failed payment")
		}
		f.mustDeliver(t, event("evt_inv_paid", "invoice.paid", t0.Add(6*time.Second), invoice("in_1", cus)))
		if acct, _ = f.st.StripeAccount(ctx, f.org); acct.PaymentFailedAt != nil {
			t.Fatal("the grace period outlived a paid invoice")
		}
		// A failure of the same invoice older than its payment, arriving
		// late, starts nothing.
		f.mustDeliver(t, event("evt_inv_failed_late", "invoice.payment_failed", t0.Add(5500*time.Millisecond).Truncate(time.Second), invoice("in_1", cus)))
		if acct, _ = f.st.StripeAccount(ctx, f.org); acct.PaymentFailedAt != nil {
			t.Fatal("a late, older payment failure started a grace period after the invoice was paid")
		}
		invs, err := f.st.ListStripeInvoices(ctx, f.org, 10)
		if err != nil || len(invs) != 1 || invs[0].Status != "paid" {
			t.Fatalf("invoices: %+v %v", invs, err)
		}
		// Failed again and not paid: past the grace period the
		// organisation is on the default plan.
		f.mustDeliver(t, event("evt_inv_failed2", "invoice.payment_failed", t0.Add(7*time.Second), invoice("in_2", cus)))
		if err := f.svc.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
		if p := f.plan(t); p != "team" {
			t.Fatalf("plan within the grace period = %q, want team", p)
		}
		f.now = f.now.Add(stripebilling.DefaultGracePeriod + time.Hour)
		if err := f.svc.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
		if p := f.plan(t); p != "free" {
			t.Fatalf("plan after the grace period = %q, want free", p)
		}

		// A checkout naming an organisation that does not exist is kept
		// (answered 200, so Stripe stops retrying) and changes nothing.
		f.mustDeliver(t, event("evt_gone", "checkout.session.completed", t0.Add(9*time.Second),
			`{"id": "cs_2", "object": "checkout.session", "client_reference_id": "no-such-org", "customer": "cus_x", "subscription": "sub_x"}`))
		// An event of a customer no organisation has is kept and ignored.
		f.mustDeliver(t, event("evt_other", "customer.subscription.updated", t0.Add(8*time.Second), subscription("cus_someone_else", "active", teamPrice)))
		if p := f.plan(t); p != "free" {
			t.Fatalf("another customer's event moved the plan to %q", p)
		}
	})
}

// TestReportUsage: against stripe-mock, the events stored this period
// go to Stripe's meter once; a pending report is resent with the same
// identifier; nothing new sends nothing.
func TestReportUsage(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		acct := f.subscribe(t)
		at := time.Now().UTC()
		f.startSession(t, at)
		res := f.st.Append(ctx, []agentscope.AppendRequest{{OrgID: f.org, SessionID: "s1", Events: []agentscope.Event{{Type: agentscope.ModelInvoked, TS: at, Provider: "p", Model: "m"}}}})[0]
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		f.now = at
		period := billing.Period(at)
		if err := f.svc.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
		acct, _ = f.st.StripeAccount(ctx, f.org)
		if acct.UsagePeriod != period || acct.UsageReported != 2 || acct.UsagePending != nil {
			t.Fatalf("after the report: period %q reported %d pending %v", acct.UsagePeriod, acct.UsageReported, acct.UsagePending)
		}
		if id := stripebilling.UsageIdentifier(f.org, period, 2, 3); !strings.Contains(id, f.org) || !strings.HasSuffix(id, "-2-3") {
			t.Errorf("identifier %q", id)
		}
		// Stripe unreachable: the error says so and the report stays
		// pending ...
		plans, _ := billing.Parse([]byte(plansFile))
		down := f.service(t, stripebilling.Config{SecretKey: "sk_test_123", APIBase: "http://127.0.0.1:1", PublicURL: "https://x"}, plans)
		res = f.st.Append(ctx, []agentscope.AppendRequest{{OrgID: f.org, SessionID: "s1", Events: []agentscope.Event{{Type: agentscope.ModelInvoked, TS: at, Provider: "p", Model: "m"}}}})[0]
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if err := down.ReportUsage(ctx); err == nil || !strings.Contains(err.Error(), "cannot reach Stripe") {
			t.Fatalf("report with Stripe down: %v", err)
		}
		acct, _ = f.st.StripeAccount(ctx, f.org)
		if acct.UsagePending == nil || *acct.UsagePending != 3 || acct.UsageReported != 2 {
			t.Fatalf("after a failed report: reported %d pending %v", acct.UsageReported, acct.UsagePending)
		}
		// ... and is sent again (the same identifier) when Stripe is back.
		if err := f.svc.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
		acct, _ = f.st.StripeAccount(ctx, f.org)
		if acct.UsageReported != 3 || acct.UsagePending != nil {
			t.Fatalf("after the resend: reported %d pending %v", acct.UsageReported, acct.UsagePending)
		}
		if b, _ := json.Marshal(acct); strings.Contains(string(b), "sk_test") {
			t.Errorf("the account shows the key: %s", b)
		}
	})
}

// TestReportJob: the usage report runs as River's periodic job (at the
// client's start, then every ReportInterval) through the worker the
// service registers, and reports the subscribed organisation's events.
func TestReportJob(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		acct := f.subscribe(t)
		f.now = time.Now().UTC()
		f.startSession(t, f.now)

		var driver riverdriver.Driver[*sql.Tx] = riversqlite.New(f.st.WriteDB())
		if f.st.Database() == "postgres" {
			driver = riverdatabasesql.New(f.st.WriteDB())
		}
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			t.Fatal(err)
		}
		workers := river.NewWorkers()
		if err := f.svc.AddWorkers(workers); err != nil {
			t.Fatal(err)
		}
		client, err := river.NewClient(driver, &river.Config{
			Logger: slog.New(slog.DiscardHandler), Workers: workers, TestOnly: true,
			Queues:        map[string]river.QueueConfig{"billing_test": {MaxWorkers: 1}},
			PeriodicJobs:  f.svc.PeriodicJobs("billing_test"),
			FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
		defer cancel()
		if err := client.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = client.Stop(sctx)
		}()
		select {
		case ev := <-events:
			if ev.Kind != river.EventKindJobCompleted || ev.Job.Kind != (stripebilling.ReportArgs{}).Kind() {
				t.Fatalf("job %s: %s %v", ev.Job.Kind, ev.Kind, ev.Job.Errors)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the usage report job did not run at the client's start")
		}
		acct, _ = f.st.StripeAccount(ctx, f.org)
		if acct.UsageReported != 1 || acct.UsagePeriod != billing.Period(f.now) {
			t.Fatalf("after the job: %+v", acct)
		}
	})
}

// TestPlansFrom: with PlansFrom the service maps prices to plans by the
// plans in force at each delivery (plans another process republished
// with a new price), not by those it started with.
func TestPlansFrom(t *testing.T) {
	stores(t, func(t *testing.T, f *fixture) {
		const newPrice = "price_team_2027"
		var (
			mu      sync.Mutex
			current = []stripebilling.Plan{{ID: "free"}, {ID: "team", StripePriceID: teamPrice}}
		)
		opts := stripebilling.Options{Config: stripebilling.Config{SecretKey: "sk_test_123", WebhookSecret: webhookSecret, APIBase: f.base, PublicURL: "https://scope.example.com"},
			Store: f.st, Period: billing.Period, PeriodBounds: billing.PeriodBounds, Plans: current, DefaultPlan: "free", Now: func() time.Time { return f.now },
			PlansFrom: func() ([]stripebilling.Plan, string) { mu.Lock(); defer mu.Unlock(); return current, "free" }}
		svc, err := stripebilling.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		f.svc = svc
		acct := f.checkout(t)
		f.mustDeliver(t, event("evt_c", "checkout.session.completed", time.Now(),
			fmt.Sprintf(`{"id": "cs_1", "object": "checkout.session", "client_reference_id": %q, "customer": %q, "subscription": "sub_1"}`, f.org, acct.CustomerID)))
		// Republished: team now sells at newPrice.
		mu.Lock()
		current = []stripebilling.Plan{{ID: "free"}, {ID: "team", StripePriceID: newPrice}}
		mu.Unlock()
		f.mustDeliver(t, event("evt_s", "customer.subscription.created", time.Now(), subscription(acct.CustomerID, "active", newPrice)))
		if p := f.plan(t); p != "team" {
			t.Errorf("a subscription to the republished price left the organisation on %q, want team", p)
		}
		st, err := svc.Status(f.as(agentscope.RoleOwner))
		if err != nil || !slices.Equal(st.Plans, []string{"team"}) {
			t.Errorf("Status: plans %v, %v", st.Plans, err)
		}
	})
}
