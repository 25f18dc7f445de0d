package agentscope

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Signal kinds an alert rule lists besides the detectors'.
const (
	// AlertKindRisk is an investigation report's risk level.
	AlertKindRisk = "risk"
	// AlertKindBudget is an agent's spend reaching a percentage of its budget.
	AlertKindBudget = "budget"
	// AlertKindPlanLimit is an organisation's usage reaching 80 % (severity
	// medium) or 100 % (severity high) of one of its plan's limits
	// (events_per_month, seats, api_keys, managed_run_usd_per_month), once
	// per limit, threshold and billing period.
	AlertKindPlanLimit = "plan_limit"
	// AlertKindAny in a rule's kinds matches every kind.
	AlertKindAny = "*"
)

// AlertDetectorKinds are the kinds of the investigator's deterministic
// detectors. A rule's kinds must be among these, AlertKindRisk,
// AlertKindBudget, AlertKindPlanLimit or AlertKindAny, so a misspelt kind is
// refused rather than never matching.
var AlertDetectorKinds = []string{
	"loop", "retry_storm", "provider_switch", "cost_spike", "latency_slo",
	"tool_error_rate", "stall", "budget_proximity", "schema_drift",
}

// AlertFormat is the body a rule's webhook receives.
type AlertFormat string

// Webhook formats.
const (
	// AlertFormatJSON is AgentScope's own JSON document (alerts.Payload).
	AlertFormatJSON AlertFormat = "json"
	// AlertFormatSlack is a Slack incoming-webhook message ({"text", "blocks"}).
	AlertFormatSlack AlertFormat = "slack"
)

// Limits of an alert rule's fields.
const (
	maxAlertRuleNameLen = 100
	maxWebhookURLLen    = 2048
	minAlertSecretLen   = 16
	maxAlertSecretLen   = 256
	maxAlertBudgetPct   = 1000
	maxAlertAgents      = 100
)

// AlertRule is one organisation's alert rule: which signals it matches and
// the webhook it notifies. The store keeps rules; package alerts matches
// signals against them and delivers the webhooks.
//
// A signal matches when the rule is enabled, belongs to the signal's
// organisation, lists the signal's kind (or AlertKindAny), and the signal's
// agent is in Agents (when Agents is not empty). Besides:
//   - an AlertKindBudget signal matches only a rule with a BudgetPercent
//     threshold the signal's percentage has reached; severity plays no part;
//   - any other signal must reach MinSeverity (when set): its RiskLevel for
//     AlertKindRisk, else its Severity; a signal without one does not reach
//     any minimum;
//   - a signal that carries a budget percentage (budget_proximity) must also
//     reach BudgetPercent, when the rule sets one.
//
// Secret signs deliveries. The store hands it out once, when the rule is
// created; reads leave it empty. AlertRule's String and LogValue never show
// it, nor the path of URL, which for Slack holds a token.
type AlertRule struct {
	ID      string `json:"id"`
	OrgID   string `json:"org_id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`

	Kinds         []string  `json:"kinds"`
	MinSeverity   RiskLevel `json:"min_severity,omitempty"`
	BudgetPercent int       `json:"budget_percent,omitempty"`
	Agents        []string  `json:"agents,omitempty"`

	URL    string      `json:"url"`
	Format AlertFormat `json:"format"`
	Secret string      `json:"secret,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// String names the rule without its secret or URL.
func (r AlertRule) String() string { return fmt.Sprintf("alert rule %s (%q)", r.ID, r.Name) }

// LogValue implements slog.LogValuer: the rule without its secret, and its
// URL as scheme and host only.
func (r AlertRule) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", r.ID), slog.String("name", r.Name),
		slog.String("destination", RedactURL(r.URL)), slog.String("format", string(r.Format)))
}

// Validate fills the defaults (format json) and reports the first field
// that is not valid as an EINVALID *Error naming it. An empty Secret is
// valid: the store generates one.
func (r *AlertRule) Validate() error {
	if r.OrgID == "" {
		return FieldErrorf("org_id", "is required")
	}
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return FieldErrorf("name", "is required")
	} else if len(r.Name) > maxAlertRuleNameLen {
		return FieldErrorf("name", "must be at most %d characters", maxAlertRuleNameLen)
	} else if !utf8.ValidString(r.Name) || strings.ContainsFunc(r.Name, unicode.IsControl) {
		return FieldErrorf("name", "must be UTF-8 text without control characters")
	}
	if err := validateAlertKinds(r.Kinds); err != nil {
		return err
	}
	if r.MinSeverity != "" && !r.MinSeverity.Valid() {
		return FieldErrorf("min_severity", "must be low, medium, high or critical, got %q", r.MinSeverity)
	}
	if r.BudgetPercent < 0 || r.BudgetPercent > maxAlertBudgetPct {
		return FieldErrorf("budget_percent", "must be between 1 and %d (or 0 for none), got %d", maxAlertBudgetPct, r.BudgetPercent)
	}
	if slices.Contains(r.Kinds, AlertKindBudget) && r.BudgetPercent == 0 {
		return FieldErrorf("budget_percent", "is required when kinds include %q", AlertKindBudget)
	}
	if len(r.Agents) > maxAlertAgents {
		return FieldErrorf("agents", "must list at most %d agents", maxAlertAgents)
	}
	for _, a := range r.Agents {
		if err := ValidateAgentName(a); err != nil {
			return FieldErrorf("agents", "%q: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", a)
		}
	}
	if err := ValidateWebhookURL(r.URL); err != nil {
		return err
	}
	if r.Format == "" {
		r.Format = AlertFormatJSON
	}
	if r.Format != AlertFormatJSON && r.Format != AlertFormatSlack {
		return FieldErrorf("format", "must be json or slack, got %q", r.Format)
	}
	if r.Secret != "" && (len(r.Secret) < minAlertSecretLen || len(r.Secret) > maxAlertSecretLen) {
		// The message must not echo the secret.
		return FieldErrorf("secret", "must be %d to %d characters (or empty to generate one)", minAlertSecretLen, maxAlertSecretLen)
	}
	return nil
}

// knownAlertKinds lists the kinds a rule may name, for error messages.
func knownAlertKinds() string {
	return fmt.Sprintf("%s, %s, %s, %s or %q for any", strings.Join(AlertDetectorKinds, ", "), AlertKindRisk, AlertKindBudget, AlertKindPlanLimit, AlertKindAny)
}

func validateAlertKinds(kinds []string) error {
	if len(kinds) == 0 {
		return FieldErrorf("kinds", "must list at least one kind (%s)", knownAlertKinds())
	}
	for i, k := range kinds {
		if k != AlertKindAny && k != AlertKindRisk && k != AlertKindBudget && k != AlertKindPlanLimit && !slices.Contains(AlertDetectorKinds, k) {
			return FieldErrorf("kinds", "unknown kind %q (known: %s)", k, knownAlertKinds())
		}
		if slices.Contains(kinds[:i], k) {
			return FieldErrorf("kinds", "lists %q twice", k)
		}
	}
	return nil
}

// ValidateWebhookURL checks a webhook URL's form: absolute http or https
// with a host, no fragment. Where it may lead is alerts.CheckDestination's
// question. Errors never repeat the URL, which may hold a token.
func ValidateWebhookURL(raw string) error {
	if raw == "" {
		return FieldErrorf("url", "is required")
	}
	if len(raw) > maxWebhookURLLen {
		return FieldErrorf("url", "must be at most %d characters", maxWebhookURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return FieldErrorf("url", "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return FieldErrorf("url", "must use http or https")
	}
	if u.Hostname() == "" {
		return FieldErrorf("url", "must have a host")
	}
	if u.Fragment != "" {
		return FieldErrorf("url", "must not have a fragment")
	}
	return nil
}

// RedactURL returns scheme://host of raw, hiding the path, query and user
// information (a Slack webhook's path is its token), or "[invalid url]".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[invalid url]"
	}
	return u.Scheme + "://" + u.Host
}

// NewAlertRuleID returns a fresh, time-ordered alert rule id.
func NewAlertRuleID() string { return "ar-" + uuid.Must(uuid.NewV7()).String() }

// NewAlertRuleSecret returns a fresh signing secret for an alert rule's
// webhook: 32 random bytes, hex-encoded.
func NewAlertRuleSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "whsec_" + hex.EncodeToString(b)
}
