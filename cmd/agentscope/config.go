package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/billing/stripebilling"
	"github.com/agentscope/agentscope/internal/netguard"
	"github.com/agentscope/agentscope/pricing"
	"github.com/agentscope/agentscope/redact"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/splunkbridge"
)

// Config is every setting of the binary, typed: what a command's flags, the
// AGENTSCOPE_* environment variables and the data dir's files (token,
// secret.key) say. Env.parseFlags, the one loader, reads it once, before anything starts,
// and refuses a bad value naming its variable or flag; nothing else in the
// binary reads the environment. README's settings table lists the same
// variables (TestReadmeListsEverySetting).
type Config struct {
	// Where the store is (dataFlags).
	DataDir     string
	DatabaseURL string
	// The process log (logFlags).
	LogLevel  string
	LogFormat string

	// serve's listen address and bearer token as configured (httpFlags);
	// Token is empty when the token is kept in the data dir.
	Addr  string
	Token string
	// serve's settings without flags (serveSettings).
	// HTTP bounds the work one request can make serve do
	// (AGENTSCOPE_HTTP_*).
	HTTP httpLimits
	// CookieSecure marks the web UI's cookies Secure on plain HTTP too, for
	// serve behind a proxy that terminates TLS (AGENTSCOPE_COOKIE_SECURE);
	// over HTTPS they always are.
	CookieSecure bool
	// PublicURL is serve's public base URL (AGENTSCOPE_PUBLIC_URL, e.g.
	// https://agentscope.example): the OAuth issuer of /mcp and, with
	// "/mcp", its resource. Empty derives it from each request, which
	// suits a server reached directly.
	PublicURL string
	// LivePoll is how often live views re-read the store when no wake-up
	// came (AGENTSCOPE_LIVE_POLL, default 1s).
	LivePoll time.Duration
	// CaptureIdle ends a session recorded from OTLP traces once no event
	// newer than this has arrived (default 30m; 0: never); serve sweeps
	// for them.
	CaptureIdle time.Duration
	// Gateway configures serve's LLM gateway (AGENTSCOPE_GATEWAY_*,
	// AGENTSCOPE_ANTHROPIC_*).
	Gateway gatewaySettings
	// SignIn is how people sign in to the web UI (AGENTSCOPE_OIDC_*,
	// AGENTSCOPE_OAUTH_*, AGENTSCOPE_SMTP_URL, AGENTSCOPE_EMAIL_FROM,
	// AGENTSCOPE_PUBLIC_URL); the zero value keeps the instance token alone.
	SignIn signin.Config
	// ServeToken is the bearer token serve accepts: Token, or the one kept
	// in the data dir, generated on first start (TokenGenerated, shown once).
	ServeToken     string
	TokenGenerated bool

	NoWorker bool
	// NoForward keeps this process from forwarding to Splunk (one-shot
	// CLI commands); events it records still wait in the outbox for a
	// process that forwards.
	NoForward bool
	// LocalOrg is the organisation of the stdio MCP server (default
	// "default"); set by mcp's --org.
	LocalOrg string

	// What a command that opens the store needs beyond its place
	// (appSettings).
	// SecretKey seals secrets at rest: AGENTSCOPE_SECRET_KEY, or the data
	// dir's secret.key (generated on first start).
	SecretKey []byte
	// PreviousSecretKeys open secrets sealed under them, which start
	// re-seals under SecretKey: AGENTSCOPE_SECRET_KEY_PREVIOUS, for
	// rotating the key.
	PreviousSecretKeys [][]byte
	// Splunk is the Splunk integration (AGENTSCOPE_SPLUNK_*), validated.
	Splunk splunkbridge.Config
	// SPL bounds SPL queries (AGENTSCOPE_SPL_*).
	SPL search.Limits
	// Redactor removes secrets from every event before it is stored: the
	// default rules unless AGENTSCOPE_REDACT_DEFAULTS=off, and
	// AGENTSCOPE_REDACT_RULES_FILE's.
	Redactor *redact.Redactor
	// Plans are the billing plans: AGENTSCOPE_PLANS_FILE's, or the
	// built-in ones when only Stripe is configured
	// (AGENTSCOPE_STRIPE_SECRET_KEY); nil is billing off, every
	// organisation unlimited. plansRead: the loader read them.
	Plans     *billing.Plans
	plansRead bool
	// Stripe is billing through Stripe (AGENTSCOPE_STRIPE_*); the zero
	// value is off.
	Stripe stripebilling.Config
	// Runtime configures managed runs, the investigator and alerts.
	Runtime runtimeSettings
	// InstanceDir holds the notes running serve processes leave for the
	// others to compare stores with (XDG_RUNTIME_DIR/agentscope, or one in
	// the temporary directory).
	InstanceDir string
	// homeDataDir is the per-user data dir, which DataDir overrides.
	homeDataDir string
	// PprofAddr serves net/http/pprof in a build with the pprof tag
	// (AGENTSCOPE_PPROF_ADDR).
	PprofAddr string
	// ShutdownTimeout bounds a stop, from the signal to the exit
	// (AGENTSCOPE_SHUTDOWN_TIMEOUT, default 30s): requests in flight,
	// websockets, forwarding batches and running runs drain within it.
	ShutdownTimeout time.Duration
	// MetricsAddr, when set, serves /metrics there without authentication,
	// for a private network (AGENTSCOPE_METRICS_ADDR); serve's own
	// listener serves it to the instance token either way.
	MetricsAddr string

	// publishPlans is set by serve and worker, the processes an operator
	// deploys with AGENTSCOPE_PLANS_FILE: they publish the file's plans to
	// the database (billing.SharedOptions.Publish); any other command
	// runs with the database's plans and never changes them.
	publishPlans bool
	// liveViews is set by serve, whose websockets and pages follow live
	// sessions: only then does the process listen for other processes'
	// commits (every process announces its own).
	liveViews bool
	// getenv reads the environment (nil: os.Getenv).
	getenv func(string) string
	// secretDefaults are flags whose environment default is applied after
	// parsing (applySecretDefaults), so that help never prints a secret.
	secretDefaults []secretDefault
}

// runtimeSettings configure the runtime.
type runtimeSettings struct {
	// LLM is the default model provider (AGENTSCOPE_LLM_*, OPENAI_*), read
	// from ProviderEnv.
	LLM runtime.LLMConfig
	// Providers is the failover list of agents that name none and of the
	// LLM gateway's OpenAI-compatible upstreams (AGENTSCOPE_LLM_PROVIDERS,
	// a JSON array of providers as agent definitions write them; empty:
	// LLM alone).
	Providers []runtime.ProviderSpec
	// ProviderEnv is where provider credentials are read: the default
	// provider's and those agent definitions name (api_key_env).
	ProviderEnv func(string) string
	// Workers is how many runs this process executes at once
	// (AGENTSCOPE_WORKERS, default 4; none with --no-worker).
	Workers int
	// RunLease is how long a run stays with a worker that gives no news
	// before another takes it over (AGENTSCOPE_RUN_LEASE, default 30s).
	RunLease time.Duration
	// Pricing is AGENTSCOPE_PRICING_FILE's table; nil for the embedded one.
	Pricing *pricing.Table
	// LiveDetect runs the detectors on running sessions
	// (AGENTSCOPE_LIVE_DETECT, default true); AutoInvestigate investigates
	// runs that end badly (AGENTSCOPE_AUTO_INVESTIGATE).
	LiveDetect      bool
	AutoInvestigate bool
	// Webhooks says where alert webhooks may be delivered
	// (AGENTSCOPE_WEBHOOK_ALLOW_*).
	Webhooks netguard.Policy
	// SelfExecutable is the program spawned as the investigator's evidence
	// MCP server (AGENTSCOPE_SELF_EXECUTABLE; empty: this executable).
	SelfExecutable string
	// PlanAlertInterval is how often, with billing on, organisations with
	// plan_limit alert rules have their usage checked
	// (AGENTSCOPE_PLAN_ALERT_INTERVAL; zero: billing.DefaultLimitAlertInterval).
	PlanAlertInterval time.Duration
}

type secretDefault struct {
	flag *string
	env  string
}

// applySecretDefaults gives each secret flag left empty its environment
// value.
func (c *Config) applySecretDefaults() {
	for _, d := range c.secretDefaults {
		if *d.flag == "" {
			*d.flag = d.env
		}
	}
	c.secretDefaults = nil
}

// env returns the environment reader.
func (c *Config) env() func(string) string {
	if c.getenv == nil {
		return os.Getenv
	}
	return c.getenv
}

// flagGroup names a set of settings; each command takes the groups it
// reads, so its help lists only flags that do something for it and it is
// refused only for settings it uses.
type flagGroup uint16

const (
	// dataFlags: --data-dir, --database-url (connect, and every command
	// that opens the store).
	dataFlags flagGroup = 1 << iota
	// logFlags: --log-level, --log-format.
	logFlags
	// appSettings: the settings an opened app reads from the environment
	// (secret key, Splunk, SPL limits, runtime) and the secret key file.
	appSettings
	// httpFlags: --addr, --token (serve, connect).
	httpFlags
	// serveSettings: serve's HTTP limits, cookie and live poll from the
	// environment, and the token file.
	serveSettings
	// workerFlags: --no-worker (serve, mcp).
	workerFlags
	// forwardFlags: --no-forward (serve, mcp, worker).
	forwardFlags

	// storeFlags are the groups of every command that opens the store.
	storeFlags = dataFlags | logFlags | appSettings
)

// defaultShutdownTimeout is how long a stop may take unless
// AGENTSCOPE_SHUTDOWN_TIMEOUT says otherwise.
const defaultShutdownTimeout = 30 * time.Second

// shutdownTimeout is ShutdownTimeout, or its default for a Config not
// from parseFlags (tests).
func (c *Config) shutdownTimeout() time.Duration {
	if c.ShutdownTimeout <= 0 {
		return defaultShutdownTimeout
	}
	return c.ShutdownTimeout
}

// defaultWorkers is how many runs one process executes at once unless
// AGENTSCOPE_WORKERS says otherwise.
const defaultWorkers = 4

// parseFlags is the configuration loader. It reads a command's
// configuration into cfg: the shared groups' flags (defaults from their
// AGENTSCOPE_* variables) and the command's own (more), the groups'
// settings without flags, and the data dir's files.
// Flags may come before or after positional arguments (Go's flag package
// alone stops at the first positional); "--" ends them. It returns the
// positional arguments. A bad flag or value is a usageError naming it.
func (env *Env) parseFlags(name string, args []string, cfg *Config, groups flagGroup, more func(*flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet("agentscope "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: agentscope %s [flags]\n", name)
		for _, c := range commands {
			if c.name == strings.Fields(name)[0] {
				fmt.Fprintf(env.Stderr, "\n%s\n", c.summary)
			}
		}
		fmt.Fprintln(env.Stderr, "\nFlags (a flag's environment variable, where it has one, is named in parentheses):")
		fs.PrintDefaults()
	}
	cfg.bind(fs, env.Getenv, groups, !longRunning[strings.Fields(name)[0]])
	if more != nil {
		more(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErrorOf(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	cfg.applySecretDefaults()
	if err := cfg.validate(groups); err != nil {
		return nil, usageError{err.Error()}
	}
	if err := cfg.readEnv(groups, env.providerEnv()); err != nil {
		return nil, usageError{err.Error()}
	}
	if err := cfg.readFiles(groups); err != nil {
		return nil, err
	}
	return pos, nil
}

// bind registers the groups' flags on fs with defaults from the
// environment. A oneShot command (not longRunning) logs at warn by default.
func (c *Config) bind(fs *flag.FlagSet, getenv func(string) string, groups flagGroup, oneShot bool) {
	c.getenv = getenv
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	// Settings whose flag a command does not take keep their defaults.
	c.homeDataDir, c.InstanceDir = defaultDataDir(getenv), instanceDir(getenv)
	c.Addr, c.DataDir, c.LogLevel, c.LogFormat = "127.0.0.1:8080", c.homeDataDir, "info", "text"
	if oneShot {
		c.LogLevel = "warn"
	}
	if groups&dataFlags != 0 {
		fs.StringVar(&c.DataDir, "data-dir", env("AGENTSCOPE_DATA_DIR", c.DataDir), "directory for the SQLite database and the generated token (AGENTSCOPE_DATA_DIR)")
		// Defaults that may hold a secret are taken from the environment
		// after parsing, so -h never prints them.
		fs.StringVar(&c.DatabaseURL, "database-url", "", "postgres://… to use PostgreSQL; empty for SQLite in the data dir (AGENTSCOPE_DATABASE_URL)")
		c.secretDefaults = append(c.secretDefaults, secretDefault{&c.DatabaseURL, getenv("AGENTSCOPE_DATABASE_URL")})
	}
	if groups&logFlags != 0 {
		fs.StringVar(&c.LogLevel, "log-level", env("AGENTSCOPE_LOG_LEVEL", c.LogLevel), "debug, info, warn or error (AGENTSCOPE_LOG_LEVEL)")
		fs.StringVar(&c.LogFormat, "log-format", env("AGENTSCOPE_LOG_FORMAT", c.LogFormat), "text or json (AGENTSCOPE_LOG_FORMAT)")
	}
	if groups&httpFlags != 0 {
		fs.StringVar(&c.Addr, "addr", env("AGENTSCOPE_ADDR", c.Addr), "HTTP listen address (AGENTSCOPE_ADDR)")
		fs.StringVar(&c.Token, "token", "", "API and MCP bearer token; generated and kept in the data dir when empty (AGENTSCOPE_TOKEN)")
		c.secretDefaults = append(c.secretDefaults, secretDefault{&c.Token, getenv("AGENTSCOPE_TOKEN")})
	}
	if groups&workerFlags != 0 {
		noWorker := env("AGENTSCOPE_NO_WORKER", "") == "true" || env("AGENTSCOPE_NO_WORKER", "") == "1"
		fs.BoolVar(&c.NoWorker, "no-worker", noWorker, "do not run managed-agent workers in this process (AGENTSCOPE_NO_WORKER)")
	}
	if groups&forwardFlags != 0 {
		noForward := env("AGENTSCOPE_NO_FORWARD", "") == "true" || env("AGENTSCOPE_NO_FORWARD", "") == "1"
		fs.BoolVar(&c.NoForward, "no-forward", noForward, "do not forward events to Splunk from this process; they wait in the outbox for one that does (AGENTSCOPE_NO_FORWARD)")
	}
}

// defaultDataDir is the per-user data directory, the same whatever the
// working directory: MCP hosts start `agentscope mcp` from directories of
// their own, and it must find the store `agentscope serve` uses.
// Empty when the platform gives no home directory.
func defaultDataDir(getenv func(string) string) string {
	home := getenv("HOME")
	switch goruntime.GOOS {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "agentscope")
		}
		return ""
	case "darwin", "ios":
		if home == "" {
			return ""
		}
		return filepath.Join(home, "Library", "Application Support", "agentscope")
	}
	// XDG base directories: an XDG_DATA_HOME that is not absolute is
	// ignored, as the specification says.
	if d := getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "agentscope")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".local", "share", "agentscope")
}

// validate checks the flags of the groups a command took before anything
// starts.
func (c *Config) validate(groups flagGroup) error {
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("AGENTSCOPE_DATABASE_URL / --database-url must start with postgres:// (or be empty for SQLite)")
	}
	if _, _, err := net.SplitHostPort(c.Addr); groups&httpFlags != 0 && err != nil {
		return fmt.Errorf("AGENTSCOPE_ADDR / --addr %q is not host:port: %v", c.Addr, err)
	}
	if c.DataDir == "" {
		return errors.New("AGENTSCOPE_DATA_DIR / --data-dir must be set: this system gives no home directory for the default")
	}
	if c.Token != "" && len(c.Token) < 16 {
		return errors.New("AGENTSCOPE_TOKEN / --token must be at least 16 characters")
	}
	if _, err := c.level(); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("AGENTSCOPE_LOG_FORMAT / --log-format must be text or json, got %q", c.LogFormat)
	}
	return nil
}

// readEnv reads the groups' settings that have no flag; providerEnv is
// where model provider credentials are read.
func (c *Config) readEnv(groups flagGroup, providerEnv func(string) string) error {
	getenv := c.env()
	if groups&serveSettings != 0 {
		c.HTTP = defaultHTTPLimits
		if err := c.HTTP.fromEnv(getenv); err != nil {
			return err
		}
		var err error
		if c.CookieSecure, err = boolSetting(getenv, "AGENTSCOPE_COOKIE_SECURE", false, "true behind a proxy that terminates TLS"); err != nil {
			return err
		}
		c.PublicURL = strings.TrimSuffix(getenv("AGENTSCOPE_PUBLIC_URL"), "/")
		c.LivePoll = time.Second
		if v := getenv("AGENTSCOPE_LIVE_POLL"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 10*time.Millisecond {
				return fmt.Errorf("AGENTSCOPE_LIVE_POLL must be a duration of at least 10ms (how often live views re-read the store when no wake-up came), got %q", v)
			}
			c.LivePoll = d
		}
		// A span that arrives after the end resumes the session, and an
		// exporter's retry is a duplicate, so ending idle sessions loses
		// nothing.
		c.CaptureIdle = 30 * time.Minute
		if v := getenv("AGENTSCOPE_OTLP_IDLE_TIMEOUT"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d != 0 && d < time.Second {
				return fmt.Errorf("AGENTSCOPE_OTLP_IDLE_TIMEOUT must be 0 (never) or a duration of at least 1s (how long a session recorded from OTLP traces waits for another event before it is ended), got %q", v)
			}
			c.CaptureIdle = d
		}
		if c.Gateway, err = readGatewaySettings(getenv, providerEnv); err != nil {
			return err
		}
		if c.SignIn, err = signin.ConfigFromEnv(getenv, defaultPublicURL(c.Addr)); err != nil {
			return err
		}
	}
	if groups&appSettings == 0 {
		return nil
	}
	c.PprofAddr = getenv("AGENTSCOPE_PPROF_ADDR")
	c.ShutdownTimeout = defaultShutdownTimeout
	if v := getenv("AGENTSCOPE_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			return fmt.Errorf("AGENTSCOPE_SHUTDOWN_TIMEOUT must be a duration from 1s to 1h (how long a stop may take to drain), got %q", v)
		}
		c.ShutdownTimeout = d
	}
	if c.MetricsAddr = getenv("AGENTSCOPE_METRICS_ADDR"); c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("AGENTSCOPE_METRICS_ADDR %q is not host:port (where /metrics is served without authentication): %v", c.MetricsAddr, err)
		}
	}
	splunk, err := splunkbridge.ConfigFromEnv(getenv)
	if err == nil {
		err = splunk.Validate()
	}
	if err != nil {
		return err
	}
	c.Splunk = splunk
	if c.SPL, err = splLimits(getenv); err != nil {
		return err
	}
	if c.Redactor, err = redactor(getenv); err != nil {
		return err
	}
	if c.Plans, err = billingPlans(getenv); err != nil {
		return err
	}
	c.plansRead = true
	if c.Stripe, err = stripebilling.ConfigFromEnv(getenv); err != nil {
		return err
	}
	return c.Runtime.read(getenv, providerEnv)
}

// redactor builds the redaction rules: the defaults unless
// AGENTSCOPE_REDACT_DEFAULTS is off, then AGENTSCOPE_REDACT_RULES_FILE's.
func redactor(getenv func(string) string) (*redact.Redactor, error) {
	defaults := true
	switch v := getenv("AGENTSCOPE_REDACT_DEFAULTS"); v {
	case "", "on", "true", "1":
	case "off", "false", "0":
		defaults = false
	default:
		return nil, fmt.Errorf("AGENTSCOPE_REDACT_DEFAULTS must be on or off (the default rules for API keys, bearer tokens and card numbers), got %q", v)
	}
	var rules []redact.Rule
	if path := getenv("AGENTSCOPE_REDACT_RULES_FILE"); path != "" {
		data, err := os.ReadFile(path)
		if err == nil {
			rules, err = redact.ParseRules(data)
		}
		if err != nil {
			return nil, fmt.Errorf("AGENTSCOPE_REDACT_RULES_FILE %s: %w", path, err)
		}
	}
	r, err := redact.New(rules, defaults)
	if err != nil {
		return nil, fmt.Errorf("AGENTSCOPE_REDACT_RULES_FILE: %w", err)
	}
	return r, nil
}

// billingPlans reads the billing plans: nil (billing off) without a
// plans file and without Stripe.
func billingPlans(getenv func(string) string) (*billing.Plans, error) {
	return billing.Configure(getenv("AGENTSCOPE_PLANS_FILE"), getenv("AGENTSCOPE_STRIPE_SECRET_KEY") != "")
}

// plans returns the billing plans the loader read, or, for a Config not
// from parseFlags (tests), those its environment gives.
func (c *Config) plans() (*billing.Plans, error) {
	if c.plansRead {
		return c.Plans, nil
	}
	return billingPlans(c.env())
}

// redactor returns the redaction rules the loader read, or, for a Config
// not from parseFlags (tests), those its environment gives.
func (c *Config) redactor() (*redact.Redactor, error) {
	if c.Redactor != nil {
		return c.Redactor, nil
	}
	return redactor(c.env())
}

// read reads the runtime's settings.
func (r *runtimeSettings) read(getenv, providerEnv func(string) string) error {
	r.ProviderEnv = providerEnv
	r.LLM = runtime.LLMConfigFromEnv(providerEnv)
	if v := strings.TrimSpace(getenv("AGENTSCOPE_LLM_PROVIDERS")); v != "" {
		ps, err := parseProviders(v)
		if err != nil {
			return err
		}
		r.Providers = ps
	}
	r.Workers = defaultWorkers
	if v := getenv("AGENTSCOPE_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return fmt.Errorf("AGENTSCOPE_WORKERS must be a number of concurrent runs from 0 to 1000, got %q", v)
		}
		r.Workers = n
	}
	if v := getenv("AGENTSCOPE_RUN_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			return fmt.Errorf("AGENTSCOPE_RUN_LEASE must be a duration from 1s to 1h (how long a run stays with a worker that gives no news before another takes it over), got %q", v)
		}
		r.RunLease = d
	}
	if path := getenv("AGENTSCOPE_PRICING_FILE"); path != "" {
		t, err := pricing.LoadFile(path)
		if err != nil {
			return fmt.Errorf("AGENTSCOPE_PRICING_FILE: %w", err)
		}
		r.Pricing = t
	}
	var err error
	if r.LiveDetect, err = boolSetting(getenv, "AGENTSCOPE_LIVE_DETECT", true, ""); err != nil {
		return err
	}
	if r.AutoInvestigate, err = boolSetting(getenv, "AGENTSCOPE_AUTO_INVESTIGATE", false, ""); err != nil {
		return err
	}
	if r.Webhooks, err = webhookNetwork(getenv); err != nil {
		return err
	}
	r.SelfExecutable = getenv("AGENTSCOPE_SELF_EXECUTABLE")
	r.PlanAlertInterval = billing.DefaultLimitAlertInterval
	if v := getenv("AGENTSCOPE_PLAN_ALERT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return fmt.Errorf("AGENTSCOPE_PLAN_ALERT_INTERVAL must be a duration from 1s to 24h (how often usage is checked against plan limits for plan_limit alert rules), got %q", v)
		}
		r.PlanAlertInterval = d
	}
	return nil
}

// boolSetting reads a true/false variable (1 and 0 too); unset is def.
func boolSetting(getenv func(string) string, name string, def bool, hint string) (bool, error) {
	switch v := getenv(name); v {
	case "":
		return def, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	default:
		if hint != "" {
			hint = " (" + hint + ")"
		}
		return false, fmt.Errorf("%s must be true or false%s, got %q", name, hint, v)
	}
}

// webhookNetwork reads where alert webhooks may be delivered:
// AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE=true allows every address, and
// AGENTSCOPE_WEBHOOK_ALLOW_CIDRS lists networks allowed although private
// (an internal receiver); by default only public addresses.
func webhookNetwork(getenv func(string) string) (netguard.Policy, error) {
	var p netguard.Policy
	var err error
	if p.AllowPrivate, err = boolSetting(getenv, "AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE", false, ""); err != nil {
		return p, err
	}
	cidrs, err := netguard.ParseCIDRs(getenv("AGENTSCOPE_WEBHOOK_ALLOW_CIDRS"))
	if err != nil {
		return p, fmt.Errorf("AGENTSCOPE_WEBHOOK_ALLOW_CIDRS: %w", err)
	}
	p.Allow = cidrs
	return p, nil
}

// readFiles reads the data dir's files the groups need: the secret key of
// a command that opens the store (the data dir made private first, as it
// holds the key), serve's token. Either is generated on first start.
func (c *Config) readFiles(groups flagGroup) error {
	if groups&appSettings != 0 {
		if err := privateDir(c.DataDir); err != nil {
			return err
		}
		key, err := c.loadSecretKey()
		if err != nil {
			return err
		}
		c.SecretKey = key
		if c.PreviousSecretKeys, err = c.loadPreviousSecretKeys(); err != nil {
			return err
		}
	}
	if groups&serveSettings != 0 {
		token, generated, err := c.loadToken()
		if err != nil {
			return err
		}
		c.ServeToken, c.TokenGenerated = token, generated
	}
	return nil
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("AGENTSCOPE_LOG_LEVEL / --log-level must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return l, nil
}

// logger returns the process logger, writing to w (stderr: in mcp mode
// stdout carries only the protocol).
func (c *Config) logger(w io.Writer) *slog.Logger {
	l, _ := c.level()
	opts := &slog.HandlerOptions{Level: l}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// longRunning are the commands that run until stopped and log at info by
// default; the others log at warn unless asked (oneShotLogger).
var longRunning = map[string]bool{"serve": true, "mcp": true, "worker": true}

// oneShotLogger is the logger of a command that does one thing and exits
// (spl, agents, investigate, …), on stderr: its level defaults to warn
// (bind, for a command not in longRunning), so its output is not buried
// under start-up lines.
func (c *Config) oneShotLogger(env *Env) *slog.Logger {
	return c.logger(env.Stderr)
}

// tokenFile is where a generated token is kept.
func (c *Config) tokenFile() string { return filepath.Join(c.DataDir, "token") }

// loadToken returns the configured token, or the one kept in the data dir,
// generating and saving it (mode 0600) on first start. generated reports a
// token made now, which the caller shows once.
func (c *Config) loadToken() (token string, generated bool, err error) {
	if c.Token != "" {
		return c.Token, false, nil
	}
	b, err := os.ReadFile(c.tokenFile())
	if err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, false, nil
		}
		return "", false, fmt.Errorf("token file %s is empty: delete it to generate a new token, or set AGENTSCOPE_TOKEN", c.tokenFile())
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read token file: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", false, err
	}
	token = "as_" + base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data dir: %w", err)
	}
	if err := createOnce(c.tokenFile(), token+"\n"); errors.Is(err, fs.ErrExist) {
		return c.loadToken() // another process made it first
	} else if err != nil {
		return "", false, fmt.Errorf("save token: %w", err)
	}
	return token, true, nil
}

// defaultPublicURL is where browsers reach serve when AGENTSCOPE_PUBLIC_URL
// is unset: its listen address, with localhost for an unspecified host.
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// parseProviders decodes AGENTSCOPE_LLM_PROVIDERS strictly: a JSON array
// of providers ({"name", "base_url", "model", "api_key_env", "api_type",
// "api_version"}), in failover order.
func parseProviders(v string) ([]runtime.ProviderSpec, error) {
	const example = `[{"name":"openai","api_key_env":"OPENAI_API_KEY"},{"name":"openrouter","base_url":"https://openrouter.ai/api/v1","api_key_env":"OPENROUTER_API_KEY"}]`
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var ps []runtime.ProviderSpec
	if err := dec.Decode(&ps); err != nil || dec.More() {
		if err == nil {
			err = errors.New("more than one JSON value")
		}
		return nil, fmt.Errorf("AGENTSCOPE_LLM_PROVIDERS must be a JSON array of providers such as %s: %v", example, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("AGENTSCOPE_LLM_PROVIDERS lists no provider: unset it to use AGENTSCOPE_LLM_BASE_URL alone, or list them such as %s", example)
	}
	if err := runtime.ValidateProviders("AGENTSCOPE_LLM_PROVIDERS", ps); err != nil {
		return nil, err
	}
	return ps, nil
}
