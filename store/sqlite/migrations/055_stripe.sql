-- Stripe (issue 19): each organisation's binding to Stripe, the Stripe
-- events already applied, and its invoices' last statuses. Times are Unix
-- microseconds.

-- stripe_accounts: an organisation's Stripe customer (made on its first
-- Checkout or Portal visit) and its subscription's newest known state.
-- state_at is the creation time of the Stripe event that told it: an
-- older event never overwrites a newer state. payment_failed_at starts a
-- grace period, cleared when an invoice is paid. usage_* is the metered
-- usage reported for usage_period; usage_pending a report not yet
-- confirmed, resent with the same idempotency key.
CREATE TABLE stripe_accounts (
	org_id TEXT PRIMARY KEY REFERENCES orgs (id),
	customer_id TEXT NOT NULL UNIQUE,
	subscription_id TEXT NOT NULL DEFAULT '',
	price_id TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL DEFAULT '',
	state_at INTEGER NOT NULL DEFAULT 0,
	payment_failed_at INTEGER,
	usage_period TEXT NOT NULL DEFAULT '',
	usage_reported INTEGER NOT NULL DEFAULT 0,
	usage_pending INTEGER,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- stripe_events: the id of every Stripe event applied, written in the
-- transaction of its effect, so a redelivered event changes nothing.
-- org_id is '' for an event that named no organisation of ours.
CREATE TABLE stripe_events (
	event_id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL,
	type TEXT NOT NULL,
	processed_at INTEGER NOT NULL
);
CREATE INDEX stripe_events_by_org ON stripe_events (org_id);

-- stripe_invoices: each invoice's last status as Stripe reported it.
CREATE TABLE stripe_invoices (
	org_id TEXT NOT NULL,
	invoice_id TEXT NOT NULL,
	status TEXT NOT NULL,
	amount_due INTEGER NOT NULL,
	currency TEXT NOT NULL,
	at INTEGER NOT NULL,
	PRIMARY KEY (org_id, invoice_id)
);
