package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/agentscope/agentscope"
)

// Billing is the Billing page's content.
type Billing struct {
	Usage  agentscope.BillingUsage
	Stripe agentscope.StripeStatus
	// Notices say what a Checkout or Portal request came to.
	Notices []Notice
}

// LimitLabel names a limit for people.
func LimitLabel(name string) string {
	switch name {
	case "events_per_month":
		return "Events this period"
	case "seats":
		return "Seats (members and pending invitations)"
	case "api_keys":
		return "API keys"
	case "managed_run_usd_per_month":
		return "Managed-run spend this period (USD)"
	}
	return strings.ReplaceAll(name, "_", " ")
}

// LimitOf says a limit's usage, "12 of 100" or "12 (unlimited)".
func LimitOf(l agentscope.LimitUsage) string {
	if l.Limit == nil {
		return l.Used.String() + " (unlimited)"
	}
	return l.Used.String() + " of " + l.Limit.String()
}

// LimitRatio is a limit's usage as a fraction for a meter (0 when
// unlimited).
func LimitRatio(l agentscope.LimitUsage) string {
	if l.Percent == nil {
		return "0"
	}
	return fmt.Sprintf("%.4f", min(*l.Percent/100, 1))
}

// LimitLevel is the meter's class: over, warn (80 % and more) or "".
func LimitLevel(l agentscope.LimitUsage) string {
	switch {
	case l.Percent == nil:
		return ""
	case *l.Percent >= 100:
		return "over"
	case *l.Percent >= 80:
		return "warn"
	}
	return ""
}

// InvoiceAmount is an invoice's amount in its currency's major unit.
func InvoiceAmount(inv agentscope.StripeInvoice) string {
	return fmt.Sprintf("%d.%02d %s", inv.AmountDue/100, inv.AmountDue%100, strings.ToUpper(inv.Currency))
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
