package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RemoteSink records to a remote AgentScope through its HTTP API
// (POST /api/v1/runs, POST /api/v1/events, POST /api/v1/runs/{id}/end)
// with an API key that has the ingest scope.
type RemoteSink struct {
	base   string
	key    string
	client *http.Client
}

// NewRemoteSink checks the AgentScope URL and returns a sink for it; client
// nil is http.DefaultClient.
func NewRemoteSink(baseURL, key string, client *http.Client) (*RemoteSink, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the AgentScope URL %q must be an http:// or https:// URL", baseURL)
	}
	if key == "" {
		return nil, fmt.Errorf("recording to %s needs an API key with the ingest scope", u.Redacted())
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &RemoteSink{base: strings.TrimSuffix(u.String(), "/"), key: key, client: client}, nil
}

// StartSession implements Sink. An AgentScope that refuses started_at (a
// release from before it, or the proxy's clock outside the bounds it
// allows) is sent the start again without it, to be stamped on arrival:
// the session is recorded, its start perhaps after its first calls, rather
// than lost with every event of it.
func (s *RemoteSink) StartSession(ctx context.Context, sessionID, agent string, input json.RawMessage, startedAt time.Time) error {
	at := startedAt.UTC()
	err := s.startSession(ctx, sessionID, agent, input, &at)
	var refused *apiError
	if errors.As(err, &refused) && refused.status == http.StatusBadRequest && refused.names("started_at") {
		return s.startSession(ctx, sessionID, agent, input, nil)
	}
	return err
}

// startSession posts one start, begun at startedAt unless it is nil.
func (s *RemoteSink) startSession(ctx context.Context, sessionID, agent string, input json.RawMessage, startedAt *time.Time) error {
	body, err := json.Marshal(struct {
		Agent     string            `json:"agent"`
		Input     json.RawMessage   `json:"input,omitempty"`
		Metadata  map[string]string `json:"metadata"`
		SessionID string            `json:"session_id"`
		StartedAt *time.Time        `json:"started_at,omitempty"`
	}{agent, input, SessionMetadata(), sessionID, startedAt})
	if err != nil {
		return err
	}
	return s.post(ctx, "/api/v1/runs", body)
}

// Record implements Sink.
func (s *RemoteSink) Record(ctx context.Context, events []json.RawMessage) error {
	body, err := json.Marshal(events)
	if err != nil {
		return err
	}
	return s.post(ctx, "/api/v1/events", body)
}

// EndSession implements Sink.
func (s *RemoteSink) EndSession(ctx context.Context, sessionID, status, errText string) error {
	body, err := json.Marshal(struct {
		Status string `json:"status"`
		Error  string `json:"error,omitempty"`
	}{status, errText})
	if err != nil {
		return err
	}
	return s.post(ctx, "/api/v1/runs/"+url.PathEscape(sessionID)+"/end", body)
}

// post sends body and turns a non-2xx answer into an error carrying the
// API's error message (never the key): an *apiError when the answer is
// the API's JSON error.
func (s *RemoteSink) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 && resp.StatusCode != http.StatusMultiStatus {
		return nil
	}
	var apiErr struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &apiErr) == nil && apiErr.Error.Message != "" {
		return &apiError{path: path, status: resp.StatusCode, statusText: resp.Status, field: apiErr.Error.Field, message: apiErr.Error.Message}
	}
	return fmt.Errorf("POST %s: %s: %s", path, resp.Status, clip(strings.TrimSpace(string(data)), 512))
}

// apiError is the API's refusal of a POST.
type apiError struct {
	path, statusText string
	status           int
	field, message   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("POST %s: %s: %s", e.path, e.statusText, e.message)
}

// names reports whether the refusal is about the request field name: its
// field, or (from an AgentScope that does not know the field) a message
// quoting it, such as `request body: unknown field "started_at"`.
func (e *apiError) names(name string) bool {
	return e.field == name || strings.Contains(e.message, `"`+name+`"`)
}
