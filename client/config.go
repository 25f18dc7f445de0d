package client

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultInitTimeout    = 15 * time.Second
	DefaultCallTimeout    = 60 * time.Second
	DefaultMaxAttempts    = 5
	DefaultBackoffInitial = 200 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	DefaultStopTimeout    = 2 * time.Second
)

// Config says which MCP server a [Client] reaches and how patiently.
//
// Exactly one transport must be chosen: a stdio server (Command, with
// optional Args and Env) or a Streamable HTTP endpoint (URL, with optional
// Headers and HTTPClient). Zero durations and counts take the defaults
// above. Header and environment values are treated as secrets: they are
// never logged nor put in errors, and neither are Args, which often carry
// tokens (mcp-remote's --header).
type Config struct {
	// Command is the program to spawn for a stdio server, looked up in PATH.
	Command string
	// Args are the program's arguments, without the program itself.
	Args []string
	// Env holds extra KEY=VALUE entries appended to os.Environ for the program.
	Env []string

	// URL is the Streamable HTTP endpoint, e.g. https://splunk:8089/services/mcp.
	URL string
	// Headers are set on every HTTP request, e.g. Authorization.
	Headers map[string]string
	// HTTPClient carries TLS and proxy settings; it is not modified. Its
	// Timeout should be zero, since a session holds a long-lived stream.
	HTTPClient *http.Client

	// InitTimeout bounds starting the server and the initialize handshake.
	// A stdio server that has not answered by then is killed.
	InitTimeout time.Duration
	// CallTimeout bounds one attempt of one request (tools/list or tools/call).
	CallTimeout time.Duration
	// MaxAttempts bounds how often one call tries to reach the server,
	// counting the first try.
	MaxAttempts int
	// BackoffInitial is the wait before the second attempt; each later wait
	// doubles, up to BackoffMax, and is jittered.
	BackoffInitial time.Duration
	// BackoffMax caps the wait between attempts.
	BackoffMax time.Duration
	// StopTimeout is how long closing waits for a stdio server to exit after
	// its stdin is closed, before it is signalled (SIGTERM, then SIGKILL).
	StopTimeout time.Duration

	// Logger receives the client's logs and the stdio server's stderr, with
	// component=mcp-client. Nil discards them.
	Logger *slog.Logger
}

// isStdio reports whether c selects the stdio transport.
func (c Config) isStdio() bool { return c.Command != "" }

// withDefaults returns c with zero fields replaced by defaults, and its
// slices and map copied so that the caller may reuse them.
func (c Config) withDefaults() Config {
	c.Args = slices.Clone(c.Args)
	c.Env = slices.Clone(c.Env)
	c.Headers = maps.Clone(c.Headers)
	setDefault(&c.InitTimeout, DefaultInitTimeout)
	setDefault(&c.CallTimeout, DefaultCallTimeout)
	setDefault(&c.BackoffInitial, DefaultBackoffInitial)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.StopTimeout, DefaultStopTimeout)
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// validate reports every problem with c, each as an EINVALID
// *agentscope.Error naming the field. Secret values are never quoted.
func (c Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, agentscope.FieldErrorf(field, format, args...))
	}

	switch {
	case c.Command == "" && c.URL == "":
		bad("Command", "set either Command (a stdio MCP server to spawn) or URL (a Streamable HTTP endpoint)")
	case c.Command != "" && c.URL != "":
		bad("URL", "Command and URL are both set; an MCP server is reached by exactly one of them")
	case c.isStdio():
		if len(c.Headers) > 0 {
			bad("Headers", "only apply to URL; for a stdio server pass them as arguments")
		}
		if c.HTTPClient != nil {
			bad("HTTPClient", "only applies to URL, not to a stdio server")
		}
	default:
		if len(c.Args) > 0 {
			bad("Args", "only apply to Command, not to URL")
		}
		if len(c.Env) > 0 {
			bad("Env", "only applies to Command, not to URL")
		}
	}
	if c.Command != "" && strings.TrimSpace(c.Command) != c.Command {
		bad("Command", "has leading or trailing spaces; split a command line with ParseCommandLine")
	}
	for i, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			bad("Env", "entry %d is not KEY=VALUE", i)
		}
	}
	if c.URL != "" {
		if err := validateURL(c.URL); err != nil {
			bad("URL", "%v", err)
		}
	}
	for name, value := range c.Headers {
		if !validHeaderName(name) {
			bad("Headers", "%q is not a valid header name", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			bad("Headers", "value of %q contains a line break or NUL", name)
		}
	}
	for field, d := range map[string]time.Duration{
		"InitTimeout": c.InitTimeout, "CallTimeout": c.CallTimeout,
		"BackoffInitial": c.BackoffInitial, "BackoffMax": c.BackoffMax,
		"StopTimeout": c.StopTimeout,
	} {
		if d < 0 {
			bad(field, "must not be negative (got %s)", d)
		}
	}
	if c.MaxAttempts < 0 {
		bad("MaxAttempts", "must not be negative (got %d)", c.MaxAttempts)
	}
	if c.BackoffMax > 0 && c.BackoffInitial > c.BackoffMax {
		bad("BackoffInitial", "%s exceeds BackoffMax %s", c.BackoffInitial, c.BackoffMax)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid MCP client config: %w", err)
	}
	return nil
}

// validateURL checks that raw is an absolute http or https URL. The error
// does not repeat raw, which may carry credentials.
func validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https (got %q)", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("has no host")
	}
	return nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// target describes the server for logs and errors without secrets: the
// command name only (arguments may hold tokens), or the URL without
// user info and query.
func (c Config) target() string {
	if c.isStdio() {
		return fmt.Sprintf("command %q", c.Command)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "URL"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
