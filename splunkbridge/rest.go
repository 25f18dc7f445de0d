package splunkbridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// RESTConfig configures a RESTClient.
type RESTConfig struct {
	// URL is Splunk's management endpoint, e.g. https://splunk:8089.
	URL string
	// Token is a Splunk authentication token, sent as a Bearer token. It
	// never appears in errors or logs.
	Token string
	// CAFile and InsecureSkipVerify configure TLS as in Config;
	// verification is on by default.
	CAFile             string
	InsecureSkipVerify bool
	// PollInterval is the first wait between job status polls; it doubles
	// up to 2s. Default 250ms.
	PollInterval time.Duration
	// HTTPClient replaces the client built from the TLS settings.
	HTTPClient *http.Client
	// Logger receives the client's logs; component=splunk-rest is added.
	Logger *slog.Logger
}

// RESTClient searches Splunk through its REST API.
type RESTClient struct {
	base  *url.URL
	auth  string
	http  *http.Client
	poll  time.Duration
	log   *slog.Logger
	clock Clock
}

var _ agentscope.Searcher = (*RESTClient)(nil)

// NewRESTClient returns a client for cfg, checking it now.
func NewRESTClient(cfg RESTConfig) (*RESTClient, error) {
	if err := checkHTTPURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("new Splunk REST client: URL: %w", err)
	}
	if cfg.Token == "" {
		return nil, errors.New("new Splunk REST client: token is required")
	}
	if strings.ContainsAny(cfg.Token, " \t\r\n") {
		return nil, errors.New("new Splunk REST client: token contains whitespace")
	}
	base, _ := url.Parse(strings.TrimRight(cfg.URL, "/"))
	hc := cfg.HTTPClient
	if hc == nil {
		t, err := newTransport(cfg.CAFile, cfg.InsecureSkipVerify, 4)
		if err != nil {
			return nil, fmt.Errorf("new Splunk REST client: %w", err)
		}
		// No overall timeout: exports stream for as long as the caller's
		// context allows. The transport bounds connecting and handshakes.
		hc = &http.Client{Transport: t}
	}
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &RESTClient{base: base, auth: "Bearer " + cfg.Token, http: hc, poll: poll,
		log: logger.With("component", "splunk-rest"), clock: systemClock{}}, nil
}

// Search implements agentscope.Searcher: it scopes the query to orgID with
// ScopeQuery and runs it through the export endpoint.
func (c *RESTClient) Search(ctx context.Context, orgID string, q agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	scoped, err := ScopeQuery(orgID, q.Query)
	if err != nil {
		return nil, err
	}
	fields, rows, err := c.export(ctx, scoped, TimeRange{Earliest: q.Earliest, Latest: q.Latest}, clampLimit(q.Limit))
	if err != nil {
		return nil, err
	}
	return &agentscope.SearchResult{Results: rows, Fields: fields, Backend: BackendSplunkREST}, nil
}

// ServerInfo is what Splunk says about itself.
type ServerInfo struct {
	Version    string `json:"version"`
	ServerName string `json:"serverName"`
	Build      string `json:"build"`
}

// ServerInfo returns Splunk's version and server name; it doubles as a
// check of the URL, TLS and token.
func (c *RESTClient) ServerInfo(ctx context.Context) (ServerInfo, error) {
	var body struct {
		Entry []struct {
			Content ServerInfo `json:"content"`
		} `json:"entry"`
	}
	if err := c.getJSON(ctx, "/services/server/info", url.Values{"output_mode": {"json"}}, &body); err != nil {
		return ServerInfo{}, err
	}
	if len(body.Entry) == 0 {
		return ServerInfo{}, fmt.Errorf("splunk: GET /services/server/info: no entry in the reply")
	}
	return body.Entry[0].Content, nil
}

// normalizeQuery prefixes "search " unless q starts with a generating
// command ('|') or the search command already.
func normalizeQuery(q string) string {
	q = strings.TrimSpace(q)
	if strings.HasPrefix(q, "|") {
		return q
	}
	if len(q) >= 6 && strings.EqualFold(q[:6], "search") && (len(q) == 6 || q[6] == ' ' || q[6] == '\t' || q[6] == '\n' || q[6] == '\r') {
		return q
	}
	return "search " + q
}

// post sends a form to path and returns the response if its status is
// 2xx; otherwise a *SplunkError.
func (c *RESTClient) post(ctx context.Context, path string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(path, nil), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("splunk: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req, "POST "+path)
}

// getJSON GETs path with query and decodes the 2xx JSON reply into v.
func (c *RESTClient) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(path, query), nil)
	if err != nil {
		return fmt.Errorf("splunk: build request: %w", err)
	}
	resp, err := c.do(req, "GET "+path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("splunk: GET %s: decode reply: %w", path, err)
	}
	return nil
}

func (c *RESTClient) endpoint(path string, query url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	return u.String()
}

func (c *RESTClient) do(req *http.Request, op string) (*http.Response, error) {
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("User-Agent", "agentscope")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("splunk: %s: %w", op, ctxErr)
		}
		return nil, fmt.Errorf("%w: %s: %w", agentscope.Errorf(agentscope.EUNAVAILABLE, "Splunk at %s is unreachable", c.base.Host), op, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, &SplunkError{Op: op, Status: resp.StatusCode, Messages: decodeMessages(body)}
}

// Message is one of Splunk's diagnostic messages.
type Message struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// SplunkError is a failure Splunk reported: an HTTP error status, or
// ERROR/FATAL messages of a search (Status 0). Its Unwrap gives the
// application error callers map to HTTP and MCP results: EINVALID for a
// bad search (Splunk's text is shown), EUNAVAILABLE when Splunk is down or
// refuses AgentScope's credentials.
type SplunkError struct {
	Op       string
	Status   int
	Messages []Message
}

// Error implements error.
func (e *SplunkError) Error() string {
	var b strings.Builder
	b.WriteString("splunk: ")
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if t := e.text(); t != "" {
		b.WriteString(": ")
		b.WriteString(t)
	}
	return b.String()
}

// text joins the messages' texts.
func (e *SplunkError) text() string {
	var parts []string
	for _, m := range e.Messages {
		if m.Text != "" {
			parts = append(parts, m.Text)
		}
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the application error for e.
func (e *SplunkError) Unwrap() error {
	text := e.text()
	switch {
	case e.Status == 0 || e.Status == http.StatusBadRequest:
		if text == "" {
			text = "Splunk rejected the search"
		}
		return agentscope.Errorf(agentscope.EINVALID, "%s", text)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return agentscope.Errorf(agentscope.EUNAVAILABLE, "Splunk refused AgentScope's credentials (%d); check %s", e.Status, EnvToken)
	case e.Status == http.StatusNotFound:
		return agentscope.Errorf(agentscope.ENOTFOUND, "Splunk: %s", cmp.Or(text, "not found"))
	case e.Status >= 500:
		return agentscope.Errorf(agentscope.EUNAVAILABLE, "Splunk is unavailable (%d)", e.Status)
	}
	return agentscope.Errorf(agentscope.EINTERNAL, "Splunk: %d %s", e.Status, text)
}

// searchFailure returns a *SplunkError for the ERROR and FATAL messages
// among msgs, or nil.
func searchFailure(op string, msgs []Message) error {
	var bad []Message
	for _, m := range msgs {
		if t := strings.ToUpper(m.Type); t == "ERROR" || t == "FATAL" {
			bad = append(bad, m)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &SplunkError{Op: op, Messages: bad}
}

// decodeMessages reads Splunk's {"messages":[{"type":…,"text":…}]} error
// body; anything else becomes one message with an excerpt of the body.
func decodeMessages(body []byte) []Message {
	var v struct {
		Messages []Message `json:"messages"`
	}
	if err := json.Unmarshal(body, &v); err == nil && len(v.Messages) > 0 {
		return v.Messages
	}
	if t := excerpt(body); t != "" {
		return []Message{{Type: "ERROR", Text: t}}
	}
	return nil
}

// String describes c with the token redacted.
func (c RESTConfig) String() string {
	return fmt.Sprintf("url=%q token=%s ca_file=%q insecure_skip_verify=%t", c.URL, redact(c.Token), c.CAFile, c.InsecureSkipVerify)
}

// LogValue implements slog.LogValuer with the token redacted.
func (c RESTConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }
