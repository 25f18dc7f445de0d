package main

import (
	"crypto/rand"
	"encoding/base64"
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
	"strings"
)

// Config is the configuration every subcommand shares: flags, each with a
// matching AGENTSCOPE_* environment variable that sets its default.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	Token       string
	LogLevel    string
	LogFormat   string
	NoWorker    bool
	// NoForward keeps this process from forwarding to Splunk (one-shot
	// CLI commands); events it records still wait in the outbox for a
	// process that forwards.
	NoForward bool
	// LocalOrg is the organisation of the stdio MCP server (default
	// "default").
	LocalOrg string
	// HTTP bounds the work one request can make serve do
	// (AGENTSCOPE_HTTP_*).
	HTTP    httpLimits
	httpErr error
	// CookieSecure marks the web UI's cookies Secure on plain HTTP too, for
	// serve behind a proxy that terminates TLS (AGENTSCOPE_COOKIE_SECURE);
	// over HTTPS they always are.
	CookieSecure bool
	// liveViews is set by serve, whose websockets and pages follow live
	// sessions: only then does the process listen for other processes'
	// commits (every process announces its own).
	liveViews bool
	// getenv reads the environment for settings without flags (Splunk);
	// nil means os.Getenv.
	getenv func(string) string
	// secretDefaults are flags whose environment default is applied after
	// parsing (applySecretDefaults), so that help never prints a secret.
	secretDefaults []secretDefault
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

// flagGroup names a set of shared flags; each command binds the groups it
// reads, so its help lists only flags that do something for it.
type flagGroup uint8

const (
	// storeFlags: --data-dir, --database-url, --log-level, --log-format.
	// Every command that opens the store takes them.
	storeFlags flagGroup = 1 << iota
	// httpFlags: --addr, --token (serve).
	httpFlags
	// workerFlags: --no-worker (serve, mcp).
	workerFlags
	// forwardFlags: --no-forward (serve, mcp, worker).
	forwardFlags
)

// bind registers the groups' flags on fs with defaults from the
// environment.
func (c *Config) bind(fs *flag.FlagSet, getenv func(string) string, groups flagGroup) {
	c.getenv = getenv
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	// Settings whose flag a command does not take keep their defaults.
	c.Addr, c.DataDir, c.LogLevel, c.LogFormat = "127.0.0.1:8080", defaultDataDir(getenv), "info", "text"
	if groups&storeFlags != 0 {
		fs.StringVar(&c.DataDir, "data-dir", env("AGENTSCOPE_DATA_DIR", c.DataDir), "directory for the SQLite database and the generated token (AGENTSCOPE_DATA_DIR)")
		// Defaults that may hold a secret are taken from the environment
		// after parsing, so -h never prints them.
		fs.StringVar(&c.DatabaseURL, "database-url", "", "postgres://… to use PostgreSQL; empty for SQLite in the data dir (AGENTSCOPE_DATABASE_URL)")
		c.secretDefaults = append(c.secretDefaults, secretDefault{&c.DatabaseURL, getenv("AGENTSCOPE_DATABASE_URL")})
		fs.StringVar(&c.LogLevel, "log-level", env("AGENTSCOPE_LOG_LEVEL", c.LogLevel), "debug, info, warn or error (AGENTSCOPE_LOG_LEVEL)")
		fs.StringVar(&c.LogFormat, "log-format", env("AGENTSCOPE_LOG_FORMAT", c.LogFormat), "text or json (AGENTSCOPE_LOG_FORMAT)")
	}
	if groups&httpFlags != 0 {
		c.HTTP = defaultHTTPLimits
		c.httpErr = c.HTTP.fromEnv(getenv)
		switch v := getenv("AGENTSCOPE_COOKIE_SECURE"); v {
		case "", "false", "0":
		case "true", "1":
			c.CookieSecure = true
		default:
			if c.httpErr == nil {
				c.httpErr = fmt.Errorf("AGENTSCOPE_COOKIE_SECURE must be true or false (true behind a proxy that terminates TLS), got %q", v)
			}
		}
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

// validate checks the configuration of the groups a command took before
// anything starts.
func (c *Config) validate(groups flagGroup) error {
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("AGENTSCOPE_DATABASE_URL / --database-url must start with postgres:// (or be empty for SQLite)")
	}
	if _, _, err := net.SplitHostPort(c.Addr); groups&httpFlags != 0 && err != nil {
		return fmt.Errorf("AGENTSCOPE_ADDR / --addr %q is not host:port: %v", c.Addr, err)
	}
	if groups&httpFlags != 0 && c.httpErr != nil {
		return c.httpErr
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

// oneShotLogger is the logger of a command that does one thing and exits
// (spl, agents, investigate, …): warnings and errors only, unless a level
// was asked for, so its output is not buried under start-up lines.
func (c *Config) oneShotLogger(env *Env) *slog.Logger {
	if c.LogLevel == "info" && env.Getenv("AGENTSCOPE_LOG_LEVEL") == "" {
		cc := *c
		cc.LogLevel = "warn"
		return cc.logger(env.Stderr)
	}
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
