package splunkbridge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// Environment variables that configure the Splunk integration. Each has a
// matching Config field.
const (
	EnvHECURL             = "AGENTSCOPE_SPLUNK_HEC_URL"
	EnvHECToken           = "AGENTSCOPE_SPLUNK_HEC_TOKEN"
	EnvIndex              = "AGENTSCOPE_SPLUNK_INDEX"
	EnvHECHost            = "AGENTSCOPE_SPLUNK_HEC_HOST"
	EnvHECAck             = "AGENTSCOPE_SPLUNK_HEC_ACK"
	EnvHECLease           = "AGENTSCOPE_SPLUNK_HEC_LEASE"
	EnvURL                = "AGENTSCOPE_SPLUNK_URL"
	EnvToken              = "AGENTSCOPE_SPLUNK_TOKEN"
	EnvMCPCommand         = "AGENTSCOPE_SPLUNK_MCP_COMMAND"
	EnvMCPURL             = "AGENTSCOPE_SPLUNK_MCP_URL"
	EnvMCPToken           = "AGENTSCOPE_SPLUNK_MCP_TOKEN"
	EnvMCPSearchTool      = "AGENTSCOPE_SPLUNK_MCP_SEARCH_TOOL"
	EnvMCPSearchArgs      = "AGENTSCOPE_SPLUNK_MCP_SEARCH_ARGS"
	EnvCAFile             = "AGENTSCOPE_SPLUNK_CA_FILE"
	EnvInsecureSkipVerify = "AGENTSCOPE_SPLUNK_INSECURE_SKIP_VERIFY"
)

// Config is the whole Splunk integration as an operator configures it. The
// command reads it from flags and the environment; every part is optional:
// without a HEC URL nothing is forwarded (and the store keeps no outbox),
// without a REST or MCP endpoint searches use the embedded engine.
type Config struct {
	// HECURL is the HTTP Event Collector's base URL, e.g.
	// https://splunk:8088; a URL ending in /services/collector[/event] is
	// accepted too.
	HECURL string
	// HECToken is the HEC token, sent as "Authorization: Splunk <token>".
	HECToken string
	// Index is the index events go to and searches read; empty means the
	// token's default index for forwarding and "main" for queries.
	Index string
	// HECHost is the host field of forwarded events; empty means the
	// machine's host name.
	HECHost string
	// HECAck turns on indexer acknowledgement: entries are deleted from
	// the outbox only once Splunk acknowledges their batch. The HEC token
	// must have acknowledgement enabled.
	HECAck bool
	// HECLease is how long a batch a forwarder claimed stays reserved to
	// it (0: the forwarder's default, 3 minutes plus the ack timeout).
	// After a process dies holding batches, others send them once it
	// lapses: a shorter lease delivers sooner after a crash, one shorter
	// than a request can take sends batches twice.
	HECLease time.Duration

	// URL is the management (REST) endpoint, e.g. https://splunk:8089.
	URL string
	// Token is a Splunk authentication token for the REST API (Bearer).
	Token string

	// MCPCommand runs a Splunk MCP server over stdio, e.g.
	// `npx -y @splunk/mcp-server`; MCPURL reaches one over Streamable HTTP
	// instead, with MCPToken as its bearer token. At most one of the two.
	MCPCommand string
	MCPURL     string
	MCPToken   string
	// MCPSearchTool and MCPSearchArgs override the discovery of the Splunk
	// MCP server's search tool: its name, and its argument names as
	// "query=…,earliest=…,latest=…,limit=…" ("-" drops an argument).
	MCPSearchTool string
	MCPSearchArgs string

	// CAFile is a PEM bundle trusted, besides the system roots, for every
	// Splunk endpoint: Splunk ships a self-signed certificate by default.
	CAFile string
	// InsecureSkipVerify turns certificate verification off for every
	// Splunk endpoint. Only for a lab; prefer CAFile.
	InsecureSkipVerify bool
}

// ConfigFromEnv reads a Config from environment variables through getenv
// (os.Getenv in production). It fails only on a value it cannot parse;
// call Validate for the rest.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		HECURL:        strings.TrimSpace(getenv(EnvHECURL)),
		HECToken:      strings.TrimSpace(getenv(EnvHECToken)),
		Index:         strings.TrimSpace(getenv(EnvIndex)),
		HECHost:       strings.TrimSpace(getenv(EnvHECHost)),
		URL:           strings.TrimSpace(getenv(EnvURL)),
		Token:         strings.TrimSpace(getenv(EnvToken)),
		MCPCommand:    strings.TrimSpace(getenv(EnvMCPCommand)),
		MCPURL:        strings.TrimSpace(getenv(EnvMCPURL)),
		MCPToken:      strings.TrimSpace(getenv(EnvMCPToken)),
		MCPSearchTool: strings.TrimSpace(getenv(EnvMCPSearchTool)),
		MCPSearchArgs: strings.TrimSpace(getenv(EnvMCPSearchArgs)),
		CAFile:        strings.TrimSpace(getenv(EnvCAFile)),
	}
	var errs []error
	for name, dst := range map[string]*bool{EnvHECAck: &c.HECAck, EnvInsecureSkipVerify: &c.InsecureSkipVerify} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s must be true or false, got %q", name, v))
		}
		*dst = b
	}
	if v := strings.TrimSpace(getenv(EnvHECLease)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			errs = append(errs, fmt.Errorf("%s must be a duration from 1s to 1h (how long a claimed batch stays reserved to one forwarder), got %q", EnvHECLease, v))
		}
		c.HECLease = d
	}
	return c, errors.Join(errs...)
}

// HECEnabled reports whether events are forwarded to Splunk.
func (c Config) HECEnabled() bool { return c.HECURL != "" }

// RESTEnabled reports whether searches can use Splunk's REST API.
func (c Config) RESTEnabled() bool { return c.URL != "" }

// MCPEnabled reports whether a Splunk MCP server is configured.
func (c Config) MCPEnabled() bool { return c.MCPCommand != "" || c.MCPURL != "" }

// Validate reports every problem with c at once, each naming the
// environment variable to fix.
func (c Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if c.HECURL != "" {
		if _, err := hecBaseURL(c.HECURL); err != nil {
			bad(EnvHECURL, "%v", err)
		}
		if c.HECToken == "" {
			bad(EnvHECToken, "is required when %s is set", EnvHECURL)
		}
	} else if c.HECToken != "" || c.HECAck {
		bad(EnvHECURL, "is required when %s or %s is set", EnvHECToken, EnvHECAck)
	}
	if c.Index != "" {
		if err := agentscope.ValidateIndexName(c.Index); err != nil {
			bad(EnvIndex, "%v", err)
		}
	}
	if c.URL != "" {
		if err := checkHTTPURL(c.URL); err != nil {
			bad(EnvURL, "%v", err)
		}
		if c.Token == "" {
			bad(EnvToken, "is required when %s is set", EnvURL)
		}
	} else if c.Token != "" {
		bad(EnvURL, "is required when %s is set", EnvToken)
	}
	if c.MCPCommand != "" && c.MCPURL != "" {
		bad(EnvMCPURL, "set either %s or %s, not both", EnvMCPCommand, EnvMCPURL)
	}
	if c.MCPURL != "" {
		if err := checkHTTPURL(c.MCPURL); err != nil {
			bad(EnvMCPURL, "%v", err)
		}
	} else if c.MCPToken != "" {
		bad(EnvMCPURL, "is required when %s is set (a stdio server takes its credentials on its command line)", EnvMCPToken)
	}
	if c.CAFile != "" {
		if c.InsecureSkipVerify {
			bad(EnvInsecureSkipVerify, "contradicts %s: verify against the CA file, or skip verification, not both", EnvCAFile)
		}
		if _, err := loadCAFile(c.CAFile); err != nil {
			bad(EnvCAFile, "%v", err)
		}
	}
	return errors.Join(errs...)
}

// HEC returns the forwarder's configuration.
func (c Config) HEC() HECConfig {
	return HECConfig{
		URL: c.HECURL, Token: c.HECToken, Index: c.Index, Host: c.HECHost, Ack: c.HECAck,
		CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify,
	}
}

// REST returns the REST search client's configuration.
func (c Config) REST() RESTConfig {
	return RESTConfig{URL: c.URL, Token: c.Token, CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify}
}

// String describes c with every token redacted, for logs and diagnostics.
func (c Config) String() string {
	return fmt.Sprintf("hec_url=%q hec_token=%s index=%q hec_host=%q hec_ack=%t url=%q token=%s mcp_command=%q mcp_url=%q mcp_token=%s ca_file=%q insecure_skip_verify=%t",
		c.HECURL, redact(c.HECToken), c.Index, c.HECHost, c.HECAck, c.URL, redact(c.Token),
		redactCommand(c.MCPCommand), c.MCPURL, redact(c.MCPToken), c.CAFile, c.InsecureSkipVerify)
}

// LogValue implements slog.LogValuer with every token redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("hec_url", c.HECURL),
		slog.String("hec_token", redact(c.HECToken)),
		slog.String("index", c.Index),
		slog.String("hec_host", c.HECHost),
		slog.Bool("hec_ack", c.HECAck),
		slog.String("url", c.URL),
		slog.String("token", redact(c.Token)),
		slog.String("mcp_command", redactCommand(c.MCPCommand)),
		slog.String("mcp_url", c.MCPURL),
		slog.String("mcp_token", redact(c.MCPToken)),
		slog.String("ca_file", c.CAFile),
		slog.Bool("insecure_skip_verify", c.InsecureSkipVerify),
	)
}

// redact says whether a secret is set without showing any of it.
func redact(secret string) string {
	if secret == "" {
		return "unset"
	}
	return "[redacted]"
}

// redactCommand shows only the program of an MCP command line: its
// arguments often carry a token (--header "Authorization: Bearer …").
func redactCommand(cmd string) string {
	prog, _, hasArgs := strings.Cut(strings.TrimSpace(cmd), " ")
	if hasArgs {
		return prog + " [arguments redacted]"
	}
	return prog
}

// checkHTTPURL reports whether raw is an absolute http or https URL with a
// host and no credentials or query.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an http:// or https:// URL, got %q", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("has no host: %q", raw)
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials; use the token setting")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must not have a query or fragment")
	}
	return nil
}

// hecBaseURL normalises a HEC URL to its base (scheme://host[:port][/prefix])
// so endpoints are appended uniformly; a trailing /services/collector or
// /services/collector/event is dropped.
func hecBaseURL(raw string) (string, error) {
	if err := checkHTTPURL(raw); err != nil {
		return "", err
	}
	s := strings.TrimRight(raw, "/")
	for _, suffix := range []string{"/services/collector/event/1.0", "/services/collector/event", "/services/collector"} {
		if strings.HasSuffix(s, suffix) {
			return strings.TrimSuffix(s, suffix), nil
		}
	}
	return s, nil
}

// defaultHost is the host field of forwarded events when none is set.
func defaultHost() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "agentscope"
}
