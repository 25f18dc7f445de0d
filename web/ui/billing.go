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

// LimitReached says what a limit at or past its bound refuses, and the way
// past it ("" below the bound, or for a limit it does not know): the
// page's Upgrade form when it shows one, Manage billing for a subscribed
// organisation, else the operator. The meter alone showed red and left the
// owner to guess what had stopped.
func LimitReached(l agentscope.LimitUsage, st agentscope.StripeStatus) string {
	if l.Percent == nil || *l.Percent < 100 {
		return ""
	}
	var what string
	switch l.Name {
	case "events_per_month":
		what = "New events are refused (plan_limit) until the period ends, and so are LLM gateway calls, before they reach the provider. Nothing already stored is lost."
	case "seats":
		what = "Invitations are refused until a member leaves or an invitation is withdrawn."
	case "api_keys":
		what = "New API keys are refused until one is revoked or expires."
	case "managed_run_usd_per_month":
		what = "New managed runs are refused until the period ends."
	default:
		return ""
	}
	switch {
	case CanUpgrade(st):
		return "At the limit. " + what + " Upgrade the plan below to raise it."
	case st.Configured:
		return "At the limit. " + what + " Change the plan in Manage billing below to raise it."
	}
	return "At the limit. " + what + " The operator of this AgentScope can move the organisation to a larger plan (agentscope billing set-plan)."
}

// CanUpgrade reports whether the page offers Upgrade (Stripe Checkout):
// Stripe is configured, publishes plans, and the organisation has no
// subscription yet (a subscribed one changes plan in the Customer Portal).
func CanUpgrade(st agentscope.StripeStatus) bool {
	return st.Configured && len(st.Plans) > 0 && (st.Account == nil || !st.Account.Subscribed())
}

// InvoiceAmount is an invoice's amount in its currency's major unit.
func InvoiceAmount(inv agentscope.StripeInvoice) string {
	return fmt.Sprintf("%d.%02d %s", inv.AmountDue/100, inv.AmountDue%100, strings.ToUpper(inv.Currency))
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
