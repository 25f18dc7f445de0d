package client

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{name: "stdio", cfg: Config{Command: "npx", Args: []string{"-y", "mcp-remote"}, Env: []string{"A=b"}}},
		{name: "http", cfg: Config{URL: "https://splunk:8089/services/mcp", Headers: map[string]string{"Authorization": "Bearer x"}}},
		{name: "neither", cfg: Config{}, want: []string{"Command: set either Command", "or URL"}},
		{name: "both", cfg: Config{Command: "npx", URL: "https://x"}, want: []string{"Command and URL are both set"}},
		{name: "headers with stdio", cfg: Config{Command: "npx", Headers: map[string]string{"A": "b"}, HTTPClient: &http.Client{}},
			want: []string{"Headers: only apply to URL", "HTTPClient: only applies to URL"}},
		{name: "args and env with URL", cfg: Config{URL: "https://x", Args: []string{"a"}, Env: []string{"A=b"}},
			want: []string{"Args: only apply to Command", "Env: only applies to Command"}},
		{name: "whole command line in Command", cfg: Config{Command: "npx -y x "}, want: []string{"ParseCommandLine"}},
		{name: "env entry without =", cfg: Config{Command: "x", Env: []string{"s3cret"}}, want: []string{"Env: entry 0 is not KEY=VALUE"}},
		{name: "URL scheme", cfg: Config{URL: "ftp://x"}, want: []string{`URL: scheme must be http or https (got "ftp")`}},
		{name: "URL without host", cfg: Config{URL: "https:///mcp"}, want: []string{"URL: has no host"}},
		{name: "header name", cfg: Config{URL: "https://x", Headers: map[string]string{"Bad Name": "v"}}, want: []string{`"Bad Name" is not a valid header name`}},
		{name: "header value", cfg: Config{URL: "https://x", Headers: map[string]string{"A": "s3cret\r\nX: y"}}, want: []string{`value of "A" contains a line break`}},
		{name: "negative", cfg: Config{Command: "x", InitTimeout: -time.Second, MaxAttempts: -1},
			want: []string{"InitTimeout: must not be negative", "MaxAttempts: must not be negative"}},
		{name: "backoff bounds", cfg: Config{Command: "x", BackoffInitial: time.Minute, BackoffMax: time.Second},
			want: []string{"BackoffInitial: 1m0s exceeds BackoffMax 1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				t.Fatal("New succeeded; want a config error")
			}
			if code := agentscope.ErrorCode(err); code != agentscope.EINVALID {
				t.Errorf("ErrorCode = %q; want %q", code, agentscope.EINVALID)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q reveals a secret value", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := Config{Command: "x"}.withDefaults()
	if cfg.InitTimeout != 15*time.Second || cfg.CallTimeout != time.Minute || cfg.MaxAttempts != 5 ||
		cfg.BackoffInitial != 200*time.Millisecond || cfg.BackoffMax != 5*time.Second || cfg.Logger == nil {
		t.Errorf("withDefaults() = %+v", cfg)
	}
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	c := &Client{cfg: Config{BackoffInitial: 200 * time.Millisecond, BackoffMax: 5 * time.Second}}
	for attempt, full := range map[int]time.Duration{1: 200 * time.Millisecond, 2: 400 * time.Millisecond, 5: 3200 * time.Millisecond, 6: 5 * time.Second, 60: 5 * time.Second} {
		for range 50 {
			if d := c.backoff(attempt); d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %s; want within [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
}
