package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentscope/agentscope/runtime/llmtest"
)

// TestServeEndsGatewaySessionsOnSIGTERM: on SIGTERM serve ends the
// sessions the LLM gateway keeps for a key and agent before it closes its
// store (found trying it as a new user: the gateway was closed after the
// store, each such session logged "gateway could not record", and stayed
// running until a later serve's idle sweep).
func TestServeEndsGatewaySessionsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve processes")
	}
	llm := llmtest.New()
	defer llm.Close()
	llm.Handle(func(llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 2}}
	})
	env := append(stores()[0].env(t), "AGENTSCOPE_LLM_BASE_URL="+llm.URL, "AGENTSCOPE_LLM_API_KEY=test-key", "AGENTSCOPE_LLM_MODEL=gpt-4.1")
	p := startServe(t, env)
	req, _ := http.NewRequest("POST", p.base+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("X-AgentScope-Agent", "gw-drain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("gateway call: %s", resp.Status)
	}
	p.signal(syscall.SIGTERM)
	if st := p.wait(60 * time.Second); st == nil || st.ExitCode() != 0 {
		t.Fatalf("serve exited %v:\n%s", st, p.output())
	}
	if out := p.output(); strings.Contains(out, "could not record") {
		t.Errorf("the gateway could not record at shutdown:\n%s", out)
	}
	// Another serve on the same data dir finds the session ended.
	q := startServe(t, env)
	resp, err = q.do("GET", "/api/v1/runs?agent=gw-drain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var runs struct {
		Runs []struct {
			Status     string `json:"status"`
			EventCount int64  `json:"event_count"`
		} `json:"runs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&runs); err != nil {
		t.Fatal(err)
	}
	if len(runs.Runs) != 1 || runs.Runs[0].Status != "completed" {
		t.Fatalf("gw-drain's runs after SIGTERM: %+v, want one completed", runs.Runs)
	}
}
