package alerts

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

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/netguard"
)

// Severity grades a signal: a detector finding's severity or an
// investigation's risk level, the same four words (agentscope.RiskLevel).
type Severity = agentscope.RiskLevel

// Severities, lowest first.
const (
	SeverityLow      = agentscope.RiskLow
	SeverityMedium   = agentscope.RiskMedium
	SeverityHigh     = agentscope.RiskHigh
	SeverityCritical = agentscope.RiskCritical
)

// Signal kinds besides the detectors'.
const (
	// KindRisk is an investigation report's risk level.
	KindRisk = "risk"
	// KindBudget is an agent's spend reaching a percentage of its budget.
	KindBudget = "budget"
	// KindAny in a rule's kinds matches every kind.
	KindAny = "*"
)

// DetectorKinds are the kinds of the investigator's deterministic
// detectors. A rule's kinds must be among these, KindRisk, KindBudget or
// KindAny, so a misspelt kind is refused rather than never matching.
var DetectorKinds = []string{
	"loop", "retry_storm", "provider_switch", "cost_spike", "latency_slo",
	"tool_error_rate", "stall", "budget_proximity", "schema_drift",
}

// Format is the body a webhook receives.
type Format string

// Webhook formats.
const (
	// FormatJSON is AgentScope's own JSON document (Payload).
	FormatJSON Format = "json"
	// FormatSlack is a Slack incoming-webhook message ({"text", "blocks"}).
	FormatSlack Format = "slack"
)

// Limits of a rule's fields.
const (
	maxNameLen      = 100
	maxURLLen       = 2048
	minSecretLen    = 16
	maxSecretLen    = 256
	maxBudgetPct    = 1000
	maxAgentFilters = 100
)

// Rule is one organisation's alert rule: which signals it matches and the
// webhook it notifies.
//
// A signal matches when the rule is enabled, belongs to the signal's
// organisation, lists the signal's kind (or KindAny), and the signal's agent
// is in Agents (when Agents is not empty). Besides:
//   - a KindBudget signal matches only a rule with a BudgetPercent threshold
//     the signal's percentage has reached; severity plays no part;
//   - any other signal must reach MinSeverity (when set): its RiskLevel for
//     KindRisk, else its Severity; a signal without one does not reach any
//     minimum;
//   - a signal that carries a budget percentage (budget_proximity) must also
//     reach BudgetPercent, when the rule sets one.
//
// Secret signs deliveries. The store hands it out once, when the rule is
// created; reads leave it empty. Rule's String and LogValue never show it,
// nor the path of URL, which for Slack holds a token.
type Rule struct {
	ID      string `json:"id"`
	OrgID   string `json:"org_id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`

	Kinds         []string `json:"kinds"`
	MinSeverity   Severity `json:"min_severity,omitempty"`
	BudgetPercent int      `json:"budget_percent,omitempty"`
	Agents        []string `json:"agents,omitempty"`

	URL    string `json:"url"`
	Format Format `json:"format"`
	Secret string `json:"secret,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// String names the rule without its secret or URL.
func (r Rule) String() string { return fmt.Sprintf("alert rule %s (%q)", r.ID, r.Name) }

// LogValue implements slog.LogValuer: the rule without its secret, and its
// URL as scheme and host only.
func (r Rule) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", r.ID), slog.String("name", r.Name),
		slog.String("destination", RedactURL(r.URL)), slog.String("format", string(r.Format)))
}

// Validate fills the defaults (format json) and reports the first field
// that is not valid as an EINVALID *agentscope.Error naming it. An empty
// Secret is valid: the store generates one.
func (r *Rule) Validate() error {
	if r.OrgID == "" {
		return agentscope.FieldErrorf("org_id", "is required")
	}
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return agentscope.FieldErrorf("name", "is required")
	} else if len(r.Name) > maxNameLen {
		return agentscope.FieldErrorf("name", "must be at most %d characters", maxNameLen)
	} else if !utf8.ValidString(r.Name) || strings.ContainsFunc(r.Name, unicode.IsControl) {
		return agentscope.FieldErrorf("name", "must be UTF-8 text without control characters")
	}
	if err := validateKinds(r.Kinds); err != nil {
		return err
	}
	if r.MinSeverity != "" && !r.MinSeverity.Valid() {
		return agentscope.FieldErrorf("min_severity", "must be low, medium, high or critical, got %q", r.MinSeverity)
	}
	if r.BudgetPercent < 0 || r.BudgetPercent > maxBudgetPct {
		return agentscope.FieldErrorf("budget_percent", "must be between 1 and %d (or 0 for none), got %d", maxBudgetPct, r.BudgetPercent)
	}
	if slices.Contains(r.Kinds, KindBudget) && r.BudgetPercent == 0 {
		return agentscope.FieldErrorf("budget_percent", "is required when kinds include %q", KindBudget)
	}
	if len(r.Agents) > maxAgentFilters {
		return agentscope.FieldErrorf("agents", "must list at most %d agents", maxAgentFilters)
	}
	for _, a := range r.Agents {
		if err := agentscope.ValidateAgentName(a); err != nil {
			return agentscope.FieldErrorf("agents", "%q: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", a)
		}
	}
	if err := ValidateURL(r.URL); err != nil {
		return err
	}
	if r.Format == "" {
		r.Format = FormatJSON
	}
	if r.Format != FormatJSON && r.Format != FormatSlack {
		return agentscope.FieldErrorf("format", "must be json or slack, got %q", r.Format)
	}
	if r.Secret != "" && (len(r.Secret) < minSecretLen || len(r.Secret) > maxSecretLen) {
		// The message must not echo the secret.
		return agentscope.FieldErrorf("secret", "must be %d to %d characters (or empty to generate one)", minSecretLen, maxSecretLen)
	}
	return nil
}

func validateKinds(kinds []string) error {
	if len(kinds) == 0 {
		return agentscope.FieldErrorf("kinds", "must list at least one kind (%s, %s, %s or %q for any)", strings.Join(DetectorKinds, ", "), KindRisk, KindBudget, KindAny)
	}
	for i, k := range kinds {
		if k != KindAny && k != KindRisk && k != KindBudget && !slices.Contains(DetectorKinds, k) {
			return agentscope.FieldErrorf("kinds", "unknown kind %q (known: %s, %s, %s or %q for any)", k, strings.Join(DetectorKinds, ", "), KindRisk, KindBudget, KindAny)
		}
		if slices.Contains(kinds[:i], k) {
			return agentscope.FieldErrorf("kinds", "lists %q twice", k)
		}
	}
	return nil
}

// ValidateURL checks a webhook URL's form: absolute http or https with a
// host, no fragment. Where it may lead is CheckDestination's question.
// Errors never repeat the URL, which may hold a token.
func ValidateURL(raw string) error {
	if raw == "" {
		return agentscope.FieldErrorf("url", "is required")
	}
	if len(raw) > maxURLLen {
		return agentscope.FieldErrorf("url", "must be at most %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return agentscope.FieldErrorf("url", "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return agentscope.FieldErrorf("url", "must use http or https")
	}
	if u.Hostname() == "" {
		return agentscope.FieldErrorf("url", "must have a host")
	}
	if u.Fragment != "" {
		return agentscope.FieldErrorf("url", "must not have a fragment")
	}
	return nil
}

// CheckDestination refuses a webhook URL whose host is a literal address
// (or localhost) that p does not allow, naming the host and the setting
// that would allow it; names are checked again on every connection. The
// error never repeats the URL's path or query, which may hold a token.
func CheckDestination(raw string, p netguard.Policy) error {
	if err := ValidateURL(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if err := p.CheckHost(u.Hostname()); err != nil {
		return agentscope.FieldErrorf("url", "%s; webhooks reach only public addresses unless the operator sets AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE=true or lists the network in AGENTSCOPE_WEBHOOK_ALLOW_CIDRS",
			strings.TrimPrefix(err.Error(), netguard.ErrBlocked.Error()+": "))
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

// NewRuleID returns a fresh, time-ordered rule id.
func NewRuleID() string { return "ar-" + uuid.Must(uuid.NewV7()).String() }

// NewSecret returns a fresh signing secret: 32 random bytes, hex-encoded.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "whsec_" + hex.EncodeToString(b)
}
