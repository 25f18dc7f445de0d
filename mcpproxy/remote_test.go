package mcpproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRemoteStartWithoutStartedAt: an AgentScope that refuses started_at
// (one from before the field, or the proxy's clock outside its bounds)
// still gets the session, started again without it; any other refusal is
// the start's error, and a start taken the first time is sent once.
func TestRemoteStartWithoutStartedAt(t *testing.T) {
	began := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		refuse  string // the answer to a start carrying started_at; "" takes it
		wantErr string
		want    []bool // whether each start the server got had started_at
	}{
		{"taken", "", "", []bool{true}},
		{"an AgentScope without the field", `{"error":{"code":"invalid","message":"request body: unknown field \"started_at\""}}`, "", []bool{true, false}},
		{"the proxy's clock out of bounds", `{"error":{"code":"invalid","message":"is 2026-12-05T15:00:00Z, in the future (the server's time is 2026-12-05T13:00:00Z)","field":"started_at"}}`, "", []bool{true, false}},
		{"a managed agent", `{"error":{"code":"invalid","message":"\"desk\" is a managed agent, whose run starts when a worker takes it; a start time (started_at) is for self-reported runs","field":"agent"}}`, "managed agent", []bool{true}},
		{"another refusal", `{"error":{"code":"invalid","message":"must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$","field":"agent"}}`, "must match", []bool{true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				var body struct {
					Agent     string     `json:"agent"`
					SessionID string     `json:"session_id"`
					StartedAt *time.Time `json:"started_at"`
				}
				if r.URL.Path != "/api/v1/runs" || json.Unmarshal(b, &body) != nil || body.Agent != "desk" || body.SessionID != "s1" {
					t.Errorf("%s %s", r.URL.Path, b)
				}
				mu.Lock()
				got = append(got, body.StartedAt != nil)
				mu.Unlock()
				if body.StartedAt != nil && !body.StartedAt.Equal(began) {
					t.Errorf("started_at %v, want %v", body.StartedAt, began)
				}
				w.Header().Set("Content-Type", "application/json")
				if body.StartedAt != nil && c.refuse != "" {
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, c.refuse)
					return
				}
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"session_id":"s1"}`)
			}))
			defer srv.Close()
			sink, err := NewRemoteSink(srv.URL, "as_test_key", srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			err = sink.StartSession(context.Background(), "s1", "desk", nil, began.In(time.FixedZone("CET", 3600)))
			if (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("StartSession: %v, want an error containing %q", err, c.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(c.want) {
				t.Fatalf("the server got %d starts (started_at each: %v), want %v", len(got), got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("start %d had started_at: %v, want %v", i, got[i], c.want[i])
				}
			}
		})
	}
}
