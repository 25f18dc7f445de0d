package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &breaker{cfg: BreakerConfig{Failures: 3, CoolDown: time.Minute, SlowP95: time.Second}.withDefaults()}
	allowed := func(at time.Time) bool { ok, _ := b.allow(at); return ok }

	// Failures interleaved with a success do not open it: they must be
	// consecutive.
	b.failure(t0, "500")
	b.failure(t0, "500")
	b.success(t0, 10*time.Millisecond)
	b.failure(t0, "500")
	b.failure(t0, "500")
	if !allowed(t0) {
		t.Fatal("opened after non-consecutive failures")
	}
	b.failure(t0, "503 overloaded")
	ok, why := b.allow(t0.Add(time.Second))
	if ok || !strings.Contains(why, "circuit open: 3 consecutive failures, the last: 503 overloaded") {
		t.Fatalf("after 3 failures: allow=%v %q", ok, why)
	}
	// After the cool-down one trial call goes through; a second waits.
	if !allowed(t0.Add(time.Minute)) {
		t.Fatal("no trial call after the cool-down")
	}
	if ok, why := b.allow(t0.Add(time.Minute)); ok || !strings.Contains(why, "half-open") {
		t.Fatalf("second call while half-open: %v %q", ok, why)
	}
	// A failed trial opens it again for a full cool-down.
	b.failure(t0.Add(time.Minute), "500")
	if allowed(t0.Add(90 * time.Second)) {
		t.Fatal("allowed during the second cool-down")
	}
	// An abandoned trial (the run was cancelled) lets the next one through.
	if !allowed(t0.Add(2 * time.Minute)) {
		t.Fatal("no trial after the second cool-down")
	}
	b.abandon()
	if !allowed(t0.Add(2 * time.Minute)) {
		t.Fatal("no trial after an abandoned one")
	}
	// A successful trial closes it.
	b.success(t0.Add(2*time.Minute), 10*time.Millisecond)
	if !b.isClosed() || !allowed(t0.Add(2*time.Minute)) {
		t.Fatal("a successful trial did not close it")
	}

	// Slow answers: p95 over the threshold opens it once 5 calls are known.
	for i := range 3 {
		b.success(t0, time.Duration(i+1)*2*time.Second)
	}
	if !b.isClosed() {
		t.Fatal("opened on latency with fewer than 5 calls")
	}
	b.success(t0, 3*time.Second)
	if ok, why := b.allow(t0); ok || !strings.Contains(why, "p95 latency 6s over the last 5 calls exceeds 1s") {
		t.Fatalf("slow provider: %v %q", ok, why)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 20; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, 95); p != 19*time.Millisecond {
		t.Errorf("p95 of 1..20ms = %s", p)
	}
	if p := percentile(ds[:1], 95); p != time.Millisecond {
		t.Errorf("p95 of one = %s", p)
	}
}

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, key, want string }{
		{"Incorrect API key provided: sk-proj-abc123XYZ789.", "", "Incorrect API key provided: [redacted]."},
		{"bad token mysecretvalue here", "mysecretvalue", "bad token [redacted] here"},
		{"Invalid x-api-key sk-ant-api03-AAAA_bbbb", "", "Invalid x-api-key [redacted]"},
		{"no secrets here: task-list", "", "no secrets here: task-list"},
	} {
		if got := redact(c.in, c.key); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSpecValidation(t *testing.T) {
	for _, c := range []struct{ def, field string }{
		{`{}`, "definition.system_prompt"},
		{`{"system_prompt":"x","tools":["start_run"]}`, "definition.tools"},
		{`{"system_prompt":"x","tools":["bad name"]}`, "definition.tools"},
		{`{"system_prompt":"x","api_key":"sk-1"}`, "definition"},
		{`{"system_prompt":"x","providers":[{"api_key_env":"sk-abc-def"}]}`, "definition.providers[0].api_key_env"},
		{`{"system_prompt":"x","providers":[{"api_type":"azure"}]}`, "definition.providers[0].base_url"},
		{`{"system_prompt":"x","mcp_servers":[{"name":"s","tools":["t"]}]}`, "definition.mcp_servers[0]"},
		{`{"system_prompt":"x","mcp_servers":[{"name":"S!","url":"http://x","tools":["t"]}]}`, "definition.mcp_servers[0].name"},
		{`{"system_prompt":"x","limits":{"timeout":"soon"}}`, "definition.limits.timeout"},
		{`{"system_prompt":"x","limits":{"max_steps":1000}}`, "definition.limits.max_steps"},
		{`{"system_prompt":"x","temperature":3}`, "definition.temperature"},
		{`{"system_prompt":"x"} {}`, "definition"},
	} {
		_, err := ParseSpec([]byte(c.def))
		if err == nil || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("ParseSpec(%s) = %v; want an error about %s", c.def, err, c.field)
		}
	}
	s, err := ParseSpec([]byte(`{"system_prompt":"x","tools":["splunk_context_search"],"limits":{"timeout":"90s","max_steps":3},"providers":[{"name":"anthropic","base_url":"https://api.anthropic.com/v1/","api_key_env":"ANTHROPIC_API_KEY","model":"claude-sonnet-4-5"}]}`))
	if err != nil || s.Limits.timeout() != 90*time.Second || s.Limits.maxSteps() != 3 || s.Limits.modelTimeout() != DefaultModelTimeout {
		t.Errorf("valid spec: %+v %v", s, err)
	}
}

func TestProviderName(t *testing.T) {
	for url, want := range map[string]string{
		"https://api.openai.com/v1":                  "openai",
		"https://api.anthropic.com/v1/":              "anthropic",
		"https://myco.openai.azure.com/":             "azure_openai",
		"http://localhost:11434/v1":                  "ollama",
		"https://openrouter.ai/api/v1":               "openrouter",
		"http://litellm.internal:4000":               "litellm.internal",
		"https://generativelanguage.googleapis.com/": "google",
	} {
		if got := providerName(url); got != want {
			t.Errorf("providerName(%s) = %s, want %s", url, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("short", 10); got != "short" {
		t.Errorf("short: %q", got)
	}
	// "é" is two bytes: a cut inside it moves back to the rune's start.
	got := truncate("abcé€xyz", 4)
	if got != "abc\n[truncated: the first 3 of 11 bytes]" {
		t.Errorf("cut inside a rune: %q", got)
	}
}
