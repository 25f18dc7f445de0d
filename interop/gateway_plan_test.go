package interop

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestGatewayPlanLimitNode runs interop/gateway/planlimit.mjs: with a
// plans file limiting the organisation to 11 events a month, the official
// `openai` npm client's calls through the gateway pass while their events
// fit (three calls: 4 + 3 + 3 events), and the fourth is refused before
// it reaches the provider as a RateLimitError with code
// insufficient_quota that the SDK does not retry; every call that passed
// is recorded whole.
func TestGatewayPlanLimitNode(t *testing.T) {
	node := requireNode(t)
	const upstreamKey = "sk-interop-upstream-0123456789"
	llm := llmtest.New()
	defer llm.Close()
	llm.APIKey = upstreamKey
	llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "under the limit", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 2}}
	})
	dir := t.TempDir()
	plans := filepath.Join(dir, "plans.json")
	if err := os.WriteFile(plans, []byte(`{"default":"small","plans":[{"id":"small","name":"Small","limits":{"events_per_month":11}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(serveEnv(t, t.TempDir(), dir, "AGENTSCOPE_PLANS_FILE="+plans,
		"AGENTSCOPE_LLM_BASE_URL="+llm.URL, "AGENTSCOPE_LLM_API_KEY="+upstreamKey, "OPENAI_API_KEY=", "OPENAI_BASE_URL="), "/mcp")

	out := runNode(t, node, 120*time.Second, cleanEnv("INTEROP_BASE="+base, "INTEROP_TOKEN="+token), filepath.Join("gateway", "planlimit.mjs"))
	if !strings.Contains(out, "gateway: all calls made") {
		t.Fatalf("the script did not finish:\n%s", out)
	}
	var passed []map[string]any
	var refused map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch m["step"] {
		case "passed":
			passed = append(passed, m)
		case "refused":
			refused = m
		}
	}
	if len(passed) != 3 {
		t.Fatalf("%d calls passed under the limit, want 3:\n%s", len(passed), out)
	}
	for _, p := range passed {
		if p["content"] != "under the limit" || p["fetches"] != float64(1) {
			t.Errorf("call under the limit: %v", p)
		}
	}
	if refused == nil || refused["rateLimit"] != true || refused["status"] != float64(429) || refused["code"] != "insufficient_quota" || refused["type"] != "insufficient_quota" ||
		refused["shouldRetry"] != "false" || !strings.Contains(refused["message"].(string), `plan "small" allows 11 events`) {
		t.Fatalf("refusal %v", refused)
	}
	if refused["fetches"] != float64(1) {
		t.Errorf("the SDK sent the refused call %v times: it retried the refusal", refused["fetches"])
	}
	if n := len(llm.Requests()); n != 3 {
		t.Errorf("the provider got %d calls, want the 3 that passed", n)
	}
	// Every call that passed is recorded whole, and the usage is at most
	// the limit.
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, v) != nil {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
	var page struct{ Events []struct{ Type string } }
	get("/api/v1/sessions/plan-session/events?limit=1000", &page)
	count := map[string]int{}
	for _, ev := range page.Events {
		count[ev.Type]++
	}
	if len(page.Events) != 10 || count["ModelCompleted"] != 3 || count["CostRecorded"] != 3 {
		t.Errorf("recorded %v", count)
	}
	var usage struct {
		Limits []struct {
			Name string
			Used json.Number
		}
	}
	get("/api/v1/billing/usage", &usage)
	for _, l := range usage.Limits {
		if l.Name == "events_per_month" && l.Used != "10" {
			t.Errorf("events used %s, want 10", l.Used)
		}
	}
}
