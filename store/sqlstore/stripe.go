package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// Stripe (migration 055): each organisation's binding to Stripe
// (stripe_accounts), the Stripe events applied (stripe_events) and its
// invoices' last statuses (stripe_invoices). An event's id is written in
// the transaction of its effect, plan change and audit entries included,
// so a redelivered event changes nothing and a crash leaves either both
// or neither.

const stripeAccountCols = `org_id, customer_id, subscription_id, price_id, status, state_at, payment_failed_at, usage_period, usage_reported, usage_pending, created_at, updated_at`

func scanStripeAccount(sc scanner) (agentscope.StripeAccount, error) {
	var (
		a                         agentscope.StripeAccount
		stateAt, created, updated int64
		failedAt, pending         sql.NullInt64
	)
	err := sc.Scan(&a.OrgID, &a.CustomerID, &a.SubscriptionID, &a.PriceID, &a.Status, &stateAt, &failedAt,
		&a.UsagePeriod, &a.UsageReported, &pending, &created, &updated)
	if stateAt != 0 {
		a.StateAt = fromMicros(stateAt)
	}
	a.PaymentFailedAt = optMicros(failedAt)
	if pending.Valid {
		a.UsagePending = &pending.Int64
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err
}

func stripeAccountNotFound(orgID string) error {
	return agentscope.Errorf(agentscope.ENOTFOUND, "organisation %q has no Stripe customer yet", orgID)
}

// StripeAccount returns the organisation's Stripe binding, ENOTFOUND when
// it has none.
func (s *Store) StripeAccount(ctx context.Context, orgID string) (agentscope.StripeAccount, error) {
	a, err := scanStripeAccount(s.queryRow(ctx, `SELECT `+stripeAccountCols+` FROM stripe_accounts WHERE org_id = ?`, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, stripeAccountNotFound(orgID)
	} else if err != nil {
		return a, fmt.Errorf("get Stripe account of %s: %w", orgID, err)
	}
	return a, nil
}

// StripeAccountByCustomer returns the binding of the Stripe customer,
// ENOTFOUND when no organisation has it.
func (s *Store) StripeAccountByCustomer(ctx context.Context, customerID string) (agentscope.StripeAccount, error) {
	a, err := scanStripeAccount(s.queryRow(ctx, `SELECT `+stripeAccountCols+` FROM stripe_accounts WHERE customer_id = ?`, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, agentscope.Errorf(agentscope.ENOTFOUND, "no organisation has Stripe customer %q", customerID)
	} else if err != nil {
		return a, fmt.Errorf("get Stripe account of customer %s: %w", customerID, err)
	}
	return a, nil
}

// ListStripeAccounts returns every organisation's binding, for the usage
// reports and the grace periods' end.
func (s *Store) ListStripeAccounts(ctx context.Context) ([]agentscope.StripeAccount, error) {
	return queryAll(ctx, s, "list Stripe accounts", scanStripeAccount, `SELECT `+stripeAccountCols+` FROM stripe_accounts ORDER BY org_id`)
}

// BindStripeCustomer stores customerID as the organisation's Stripe
// customer unless it has one already, and returns the binding it has:
// when two requests race to make a customer, the first stored wins and
// the second's customer is left unused. A new binding is audited as
// billing.stripe_customer_created by actor. An unknown organisation is
// ENOTFOUND.
func (s *Store) BindStripeCustomer(ctx context.Context, orgID, customerID, actor string) (agentscope.StripeAccount, error) {
	var a agentscope.StripeAccount
	err := s.inTx(ctx, func(t tx) error {
		if err := s.lockOrg(ctx, t, orgID); err != nil {
			return err
		}
		now := micros(s.now())
		res, err := t.exec(ctx, `INSERT INTO stripe_accounts (org_id, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (org_id) DO NOTHING`,
			orgID, customerID, now, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if err := s.audit(ctx, t, orgID, actor, agentscope.AuditStripeCustomerCreated, customerID, nil); err != nil {
				return err
			}
		}
		a, err = scanStripeAccount(t.queryRow(ctx, `SELECT `+stripeAccountCols+` FROM stripe_accounts WHERE org_id = ?`, orgID))
		return err
	})
	if err != nil {
		if agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
			return a, err
		}
		return a, fmt.Errorf("bind Stripe customer of %s: %w", orgID, err)
	}
	return a, nil
}

// ApplyStripeChange applies c in one transaction with its event's id:
// StripeReplayed (nothing changed) when the id was applied before,
// StripeStale when its subscription state is older than the one stored
// (only the id is kept). Every change it makes is audited by "stripe".
func (s *Store) ApplyStripeChange(ctx context.Context, c agentscope.StripeChange) (agentscope.StripeOutcome, error) {
	var out agentscope.StripeOutcome
	err := s.inTx(ctx, func(t tx) (err error) {
		out, err = s.applyStripeChange(ctx, t, c)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("apply Stripe event %s (%s) to %s: %w", c.EventID, c.EventType, c.OrgID, err)
	}
	return out, nil
}

func (s *Store) applyStripeChange(ctx context.Context, t tx, c agentscope.StripeChange) (agentscope.StripeOutcome, error) {
	now := s.now()
	if c.EventID != "" {
		res, err := t.exec(ctx, `INSERT INTO stripe_events (event_id, org_id, type, processed_at) VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
			c.EventID, c.OrgID, c.EventType, micros(now))
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return agentscope.StripeReplayed, nil
		}
	}
	if c.OrgID == "" {
		return agentscope.StripeApplied, nil // an event of no organisation of ours: its id is kept
	}
	a, err := scanStripeAccount(t.queryRow(ctx, `SELECT `+stripeAccountCols+` FROM stripe_accounts WHERE org_id = ?`+s.d.LockSuffix, c.OrgID))
	switch {
	case errors.Is(err, sql.ErrNoRows) && c.CustomerID != "":
		if err := s.lockOrg(ctx, t, c.OrgID); err != nil {
			return "", err
		}
		if _, err := t.exec(ctx, `INSERT INTO stripe_accounts (org_id, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			c.OrgID, c.CustomerID, micros(now), micros(now)); err != nil {
			return "", err
		}
		a = agentscope.StripeAccount{OrgID: c.OrgID, CustomerID: c.CustomerID}
	case errors.Is(err, sql.ErrNoRows):
		return "", stripeAccountNotFound(c.OrgID)
	case err != nil:
		return "", err
	}
	audit := func(action agentscope.AuditAction, target string, detail map[string]any) error {
		if detail == nil {
			detail = map[string]any{}
		}
		detail["stripe_event"], detail["stripe_event_type"], detail["reason"] = c.EventID, c.EventType, c.Reason
		return s.audit(ctx, t, c.OrgID, agentscope.ActorStripe, action, target, detail)
	}
	if c.GraceStartedAt != nil && (a.PaymentFailedAt == nil || !a.PaymentFailedAt.Equal(c.GraceStartedAt.UTC().Truncate(time.Microsecond))) {
		return agentscope.StripeStale, nil // the grace period ended otherwise (paid) or began again
	}
	if c.CustomerID != "" && c.CustomerID != a.CustomerID {
		return "", agentscope.Errorf(agentscope.ECONFLICT, "organisation %s is bound to Stripe customer %s, not %s", c.OrgID, a.CustomerID, c.CustomerID)
	}
	if c.SubscriptionID != "" && c.SubscriptionID != a.SubscriptionID {
		if _, err := t.exec(ctx, `UPDATE stripe_accounts SET subscription_id = ?, updated_at = ? WHERE org_id = ?`, c.SubscriptionID, micros(now), c.OrgID); err != nil {
			return "", err
		}
		if err := audit(agentscope.AuditStripeSubscription, c.SubscriptionID, map[string]any{"subscription": c.SubscriptionID}); err != nil {
			return "", err
		}
	}
	if sub := c.Subscription; sub != nil {
		at := sub.At.UTC().Truncate(time.Microsecond)
		if !a.StateAt.IsZero() && !at.After(a.StateAt) {
			return agentscope.StripeStale, nil
		}
		if _, err := t.exec(ctx, `UPDATE stripe_accounts SET subscription_id = ?, price_id = ?, status = ?, state_at = ?, updated_at = ? WHERE org_id = ?`,
			sub.ID, sub.PriceID, sub.Status, micros(at), micros(now), c.OrgID); err != nil {
			return "", err
		}
		if err := audit(agentscope.AuditStripeSubscription, sub.ID, map[string]any{"subscription": sub.ID, "price": sub.PriceID, "status": sub.Status,
			"from_price": a.PriceID, "from_status": a.Status}); err != nil {
			return "", err
		}
	}
	if inv := c.Invoice; inv != nil {
		at := micros(inv.At)
		res, err := t.exec(ctx, `UPDATE stripe_invoices SET status = ?, amount_due = ?, currency = ?, at = ? WHERE org_id = ? AND invoice_id = ? AND at <= ?`,
			inv.Status, inv.AmountDue, inv.Currency, at, c.OrgID, inv.ID, at)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			res, err := t.exec(ctx, `INSERT INTO stripe_invoices (org_id, invoice_id, status, amount_due, currency, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, invoice_id) DO NOTHING`,
				c.OrgID, inv.ID, inv.Status, inv.AmountDue, inv.Currency, at)
			if err != nil {
				return "", err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				// The invoice has a newer status: this older event
				// neither starts nor ends a grace period.
				return agentscope.StripeStale, nil
			}
		}
	}
	switch {
	case c.PaymentFailedAt != nil && a.PaymentFailedAt == nil:
		if _, err := t.exec(ctx, `UPDATE stripe_accounts SET payment_failed_at = ?, updated_at = ? WHERE org_id = ?`, micros(*c.PaymentFailedAt), micros(now), c.OrgID); err != nil {
			return "", err
		}
		if err := audit(agentscope.AuditStripeInvoice, invoiceTarget(c), map[string]any{"grace_period": "started"}); err != nil {
			return "", err
		}
	case c.PaymentSettled && a.PaymentFailedAt != nil:
		if _, err := t.exec(ctx, `UPDATE stripe_accounts SET payment_failed_at = NULL, updated_at = ? WHERE org_id = ?`, micros(now), c.OrgID); err != nil {
			return "", err
		}
		if err := audit(agentscope.AuditStripeInvoice, invoiceTarget(c), map[string]any{"grace_period": "ended: paid"}); err != nil {
			return "", err
		}
	case c.Invoice != nil:
		if err := audit(agentscope.AuditStripeInvoice, invoiceTarget(c), map[string]any{"status": c.Invoice.Status}); err != nil {
			return "", err
		}
	}
	if c.GraceStartedAt != nil {
		if _, err := t.exec(ctx, `UPDATE stripe_accounts SET payment_failed_at = NULL, updated_at = ? WHERE org_id = ?`, micros(now), c.OrgID); err != nil {
			return "", err
		}
	}
	if c.Plan != "" {
		if _, err := s.setOrgPlanTx(ctx, t, c.OrgID, c.Plan, agentscope.ActorStripe, c.Reason); err != nil {
			return "", err
		}
	}
	return agentscope.StripeApplied, nil
}

func invoiceTarget(c agentscope.StripeChange) string {
	if c.Invoice != nil {
		return c.Invoice.ID
	}
	return c.OrgID
}

// ListStripeInvoices returns the organisation's invoices' last statuses,
// newest first, at most limit.
func (s *Store) ListStripeInvoices(ctx context.Context, orgID string, limit int) ([]agentscope.StripeInvoice, error) {
	return queryAll(ctx, s, "list Stripe invoices", func(sc scanner) (agentscope.StripeInvoice, error) {
		var (
			inv agentscope.StripeInvoice
			at  int64
		)
		err := sc.Scan(&inv.OrgID, &inv.ID, &inv.Status, &inv.AmountDue, &inv.Currency, &at)
		inv.At = fromMicros(at)
		return inv, err
	}, `SELECT org_id, invoice_id, status, amount_due, currency, at FROM stripe_invoices WHERE org_id = ? ORDER BY at DESC, invoice_id DESC LIMIT ?`, orgID, limit)
}

// BeginUsageReport notes that quantity events of period are being
// reported for the organisation (UsagePending), moving its usage to
// period (UsageReported 0) when the period is new.
func (s *Store) BeginUsageReport(ctx context.Context, orgID, period string, quantity int64) error {
	err := s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, `UPDATE stripe_accounts SET usage_reported = CASE WHEN usage_period = ? THEN usage_reported ELSE 0 END,
			usage_period = ?, usage_pending = ?, updated_at = ? WHERE org_id = ?`, period, period, quantity, micros(s.now()), orgID)
		return err
	})
	if err != nil {
		return fmt.Errorf("begin usage report of %s: %w", orgID, err)
	}
	return nil
}

// FinishUsageReport confirms the pending report: quantity events of
// period are reported.
func (s *Store) FinishUsageReport(ctx context.Context, orgID, period string, quantity int64) error {
	err := s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, `UPDATE stripe_accounts SET usage_reported = ?, usage_pending = NULL, updated_at = ? WHERE org_id = ? AND usage_period = ?`,
			quantity, micros(s.now()), orgID, period)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish usage report of %s: %w", orgID, err)
	}
	return nil
}
