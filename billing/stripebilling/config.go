package stripebilling

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The environment variables that configure Stripe.
const (
	EnvSecretKey     = "AGENTSCOPE_STRIPE_SECRET_KEY"
	EnvWebhookSecret = "AGENTSCOPE_STRIPE_WEBHOOK_SECRET"
	EnvAPIBase       = "AGENTSCOPE_STRIPE_API_BASE"
	EnvMeterEvent    = "AGENTSCOPE_STRIPE_METER_EVENT"
	EnvGracePeriod   = "AGENTSCOPE_STRIPE_GRACE_PERIOD"
)

// Defaults.
const (
	// DefaultMeterEvent is the event name of the Stripe meter AgentScope
	// reports stored events to.
	DefaultMeterEvent = "agentscope_events"
	// DefaultGracePeriod is how long an organisation keeps its plan after
	// an invoice's payment failed.
	DefaultGracePeriod = 7 * 24 * time.Hour
	// DefaultTolerance is how old a webhook's signed timestamp may be.
	DefaultTolerance = 5 * time.Minute
)

// Config is Stripe's configuration. The zero Config is billing without
// Stripe: every Stripe endpoint answers that it is not configured.
type Config struct {
	// SecretKey is the Stripe API key (sk_…); empty turns Stripe off.
	SecretKey string
	// WebhookSecret verifies the webhook's Stripe-Signature (whsec_…).
	WebhookSecret string
	// APIBase replaces https://api.stripe.com (tests: stripe-mock).
	APIBase string
	// MeterEvent is the event name of the meter usage is reported to.
	MeterEvent string
	// GracePeriod is how long after a failed payment the plan is kept.
	GracePeriod time.Duration
	// Tolerance bounds the age of a webhook's signature timestamp.
	Tolerance time.Duration
	// PublicURL is where people reach this AgentScope
	// (AGENTSCOPE_PUBLIC_URL): Checkout and the Portal send them back to
	// its /billing page.
	PublicURL string
}

// Configured reports whether Stripe is on.
func (c Config) Configured() bool { return c.SecretKey != "" }

// ConfigFromEnv reads the AGENTSCOPE_STRIPE_* variables and
// AGENTSCOPE_PUBLIC_URL through getenv. A bad value is an error naming its
// variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		SecretKey:     strings.TrimSpace(getenv(EnvSecretKey)),
		WebhookSecret: strings.TrimSpace(getenv(EnvWebhookSecret)),
		APIBase:       strings.TrimSpace(getenv(EnvAPIBase)),
		MeterEvent:    strings.TrimSpace(getenv(EnvMeterEvent)),
		PublicURL:     strings.TrimSuffix(strings.TrimSpace(getenv("AGENTSCOPE_PUBLIC_URL")), "/"),
	}
	if v := strings.TrimSpace(getenv(EnvGracePeriod)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return c, fmt.Errorf("%s: %q is not a duration such as 168h", EnvGracePeriod, v)
		}
		c.GracePeriod = d
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if c.MeterEvent == "" {
		c.MeterEvent = DefaultMeterEvent
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	if !c.Configured() {
		if c.WebhookSecret != "" || c.APIBase != "" {
			return fmt.Errorf("%s or %s is set without %s: set the secret key too, or neither", EnvWebhookSecret, EnvAPIBase, EnvSecretKey)
		}
		return nil
	}
	if c.APIBase != "" {
		if u, err := url.Parse(c.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s: %q is not an http(s) URL", EnvAPIBase, c.APIBase)
		}
	}
	if c.PublicURL == "" {
		return fmt.Errorf("%s needs AGENTSCOPE_PUBLIC_URL: Stripe Checkout and the Customer Portal send people back to its /billing page", EnvSecretKey)
	}
	return nil
}
