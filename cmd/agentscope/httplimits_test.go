package main

import (
	"strings"
	"testing"
	"time"
)

// TestLimitSettings: the AGENTSCOPE_HTTP_* and AGENTSCOPE_SPL_* settings
// are read over their defaults, and a bad value is refused naming the
// variable.
func TestLimitSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	l := defaultHTTPLimits
	if err := l.fromEnv(env(map[string]string{"AGENTSCOPE_HTTP_READ_TIMEOUT": "5s", "AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES": "100000000", "AGENTSCOPE_HTTP_MAX_HEADER_BYTES": "8192", "AGENTSCOPE_HTTP_STREAM_KEEPALIVE": "10s"})); err != nil {
		t.Fatal(err)
	}
	if l.ReadTimeout != 5*time.Second || l.MaxInflightBytes != 100000000 || l.MaxHeaderBytes != 8192 || l.StreamKeepAlive != 10*time.Second || l.WriteTimeout != defaultHTTPLimits.WriteTimeout {
		t.Fatalf("%+v", l)
	}
	for name, kv := range map[string]map[string]string{
		"AGENTSCOPE_HTTP_READ_TIMEOUT":       {"AGENTSCOPE_HTTP_READ_TIMEOUT": "soon"},
		"AGENTSCOPE_HTTP_IDLE_TIMEOUT":       {"AGENTSCOPE_HTTP_IDLE_TIMEOUT": "-1s"},
		"AGENTSCOPE_HTTP_STREAM_KEEPALIVE":   {"AGENTSCOPE_HTTP_STREAM_KEEPALIVE": "0"},
		"AGENTSCOPE_HTTP_MAX_BODY_BYTES":     {"AGENTSCOPE_HTTP_MAX_BODY_BYTES": "1e9"},
		"AGENTSCOPE_HTTP_MAX_HEADER_BYTES":   {"AGENTSCOPE_HTTP_MAX_HEADER_BYTES": "10"},
		"AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES": {"AGENTSCOPE_HTTP_MAX_INFLIGHT_BYTES": "2048", "AGENTSCOPE_HTTP_MAX_BODY_BYTES": "4096"},
		"AGENTSCOPE_KEY_RATE_LIMIT":          {"AGENTSCOPE_KEY_RATE_LIMIT": "-1"},
		"AGENTSCOPE_INSTANCE_RATE_LIMIT":     {"AGENTSCOPE_INSTANCE_RATE_LIMIT": "fast"},
		"AGENTSCOPE_RATE_BURST":              {"AGENTSCOPE_RATE_BURST": "0"},
	} {
		l := defaultHTTPLimits
		if err := l.fromEnv(env(kv)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: %v, want an error naming %s", kv, err, name)
		}
	}
	// The rate limits: generous for keys, off for the instance token unless
	// set; the burst applies to both.
	if d := defaultHTTPLimits; d.KeyRate.Rate != 100 || d.KeyRate.Burst != 200 || !d.InstanceRate.Off() {
		t.Errorf("default rate limits %+v %+v", d.KeyRate, d.InstanceRate)
	}
	l = defaultHTTPLimits
	if err := l.fromEnv(env(map[string]string{"AGENTSCOPE_KEY_RATE_LIMIT": "0", "AGENTSCOPE_INSTANCE_RATE_LIMIT": "2.5", "AGENTSCOPE_RATE_BURST": "10"})); err != nil {
		t.Fatal(err)
	}
	if !l.KeyRate.Off() || l.InstanceRate.Rate != 2.5 || l.InstanceRate.Burst != 10 || l.KeyRate.Burst != 10 {
		t.Errorf("rate limits from env: %+v %+v", l.KeyRate, l.InstanceRate)
	}
	s, err := splLimits(env(map[string]string{"AGENTSCOPE_SPL_TIMEOUT": "2s", "AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG": "2"}))
	if err != nil || s.Timeout != 2*time.Second || s.MaxPerOrg != 2 || s.MaxConcurrent != 16 {
		t.Fatalf("%+v %v", s, err)
	}
	for name, v := range map[string]string{"AGENTSCOPE_SPL_TIMEOUT": "forever", "AGENTSCOPE_SPL_MAX_CONCURRENT": "0", "AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG": "x"} {
		if _, err := splLimits(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, v, err)
		}
	}
}
