package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// billingPlansFile writes a plans file: "tiny" (the default) allows 5
// events a month and 2 API keys, "big" a million.
func billingPlansFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "plans.json")
	plans := `{"default":"tiny","plans":[
		{"id":"tiny","name":"Tiny","limits":{"events_per_month":5,"api_keys":2,"seats":1}},
		{"id":"big","name":"Big","limits":{"events_per_month":1000000}}]}`
	if err := os.WriteFile(path, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBillingLimitsEndToEnd: with a plans file and no Stripe, serve
// enforces the default plan on both stores: a batch crossing
// events_per_month keeps exactly the events under it (207, each other
// event rejected with plan_limit), a call refused whole is 402, MCP's
// record_event answers isError naming the limit and how to upgrade, and
// after `agentscope billing set-plan` ingest resumes; GET
// /api/v1/billing/usage and `billing usage --json` show the count.
func TestBillingLimitsEndToEnd(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			vars["AGENTSCOPE_PLANS_FILE"] = billingPlansFile(t)
			const token = "test-token-0123456789"
			base, stop := serveInProcess(t, envOf(vars))
			defer stop()
			if code, _, body := call(t, "POST", base+"/api/v1/runs", token, `{"agent":"bot","session_id":"b1"}`); code != http.StatusCreated {
				t.Fatalf("start: %d %s", code, body)
			}
			var batch []string
			for i := range 6 {
				batch = append(batch, fmt.Sprintf(`{"event_id":"e%d","session_id":"b1","type":"ToolCalled","tool":"t","call_id":"c%d"}`, i, i))
			}
			code, _, body := call(t, "POST", base+"/api/v1/events", token, "["+strings.Join(batch, ",")+"]")
			var out struct {
				Accepted, Rejected int
				Results            []struct {
					Accepted bool
					Code     string
					Error    string
				}
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil || code != http.StatusMultiStatus || out.Accepted != 4 || out.Rejected != 2 {
				t.Fatalf("batch across the limit: %d %s", code, body)
			}
			for i, r := range out.Results {
				if r.Accepted != (i < 4) || (i >= 4 && (r.Code != agentscope.EPLANLIMIT || !strings.Contains(r.Error, `plan "tiny" allows 5 events`))) {
					t.Errorf("result %d: %+v", i, r)
				}
			}
			if code, _, body := call(t, "POST", base+"/api/v1/events", token, `[{"event_id":"late","session_id":"b1","type":"ToolCalled","tool":"t","call_id":"c9"}]`); code != http.StatusPaymentRequired {
				t.Errorf("a call refused whole: %d %s; want 402", code, body)
			}
			if code, _, body := call(t, "POST", base+"/api/v1/runs", token, `{"agent":"bot","session_id":"b2"}`); code != http.StatusPaymentRequired {
				t.Errorf("start past the limit: %d %s; want 402", code, body)
			}
			cs := httpSession(t, base, token)
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "record_event", Arguments: map[string]any{"session_id": "b1", "type": "ToolCalled", "tool": "t", "call_id": "m1"}})
			if err != nil || !res.IsError {
				t.Fatalf("record_event past the limit: %v, %+v; want isError", err, res)
			}
			if text := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(text, "allows 5 events") || !strings.Contains(text, "5 are stored") || !strings.Contains(text, "agentscope billing set-plan") || strings.Contains(text, "Billing page") {
				t.Errorf("record_event's error does not name the limit, the usage and the way up of a self-hosted install (the operator): %s", text)
			}
			cs.Close()
			// Nothing stored before the limit was lost or changed.
			code, _, body = call(t, "GET", base+"/api/v1/sessions/b1/events", token, "")
			if code != http.StatusOK || strings.Count(body, `"event_id"`) != 5 || strings.Contains(body, `"e4"`) {
				t.Errorf("session b1: %d %s", code, body)
			}
			var usage agentscope.BillingUsage
			code, _, body = call(t, "GET", base+"/api/v1/billing/usage", token, "")
			if err := json.Unmarshal([]byte(body), &usage); err != nil || code != http.StatusOK || !usage.Enabled || usage.Plan != "tiny" ||
				usage.Limits[0].Name != "events_per_month" || usage.Limits[0].Used != "5" || *usage.Limits[0].Percent != 100 {
				t.Errorf("billing usage: %d %s", code, body)
			}
			for i, want := range []int{http.StatusCreated, http.StatusCreated, http.StatusPaymentRequired} {
				if code, _, body := call(t, "POST", base+"/api/v1/keys", token, fmt.Sprintf(`{"name":"k%d","scopes":["read"]}`, i)); code != want {
					t.Errorf("key %d of a plan allowing 2: %d %s; want %d", i, code, body, want)
				}
			}
			// The operator's CLI is held to the same limit.
			var keyErr strings.Builder
			ke := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &syncWriter{w: &keyErr}, Getenv: func(k string) string { return vars[k] }}
			if code := ke.Run(context.Background(), []string{"keys", "create", "--org", "default", "--name", "k3", "--scopes", "read"}); code == 0 ||
				!strings.Contains(keyErr.String(), "allows 2 active API keys") || !strings.Contains(keyErr.String(), "set-plan --org default") {
				t.Errorf("keys create past the plan's api_keys: exit %d: %s", code, keyErr.String())
			}
			cliUsage := decodeJSON[agentscope.BillingUsage](t, cli(t, vars, "billing", "usage", "--org", "default", "--json"))
			if cliUsage.Plan != "tiny" || cliUsage.Limits[0].Used != "5" {
				t.Errorf("billing usage --json: %+v", cliUsage)
			}
			// A process without the plans file (agentscope mcp launched by
			// an MCP host on the same store, or this CLI) runs with the
			// plans serve published to the database.
			bare := maps.Clone(vars)
			delete(bare, "AGENTSCOPE_PLANS_FILE")
			if u := decodeJSON[agentscope.BillingUsage](t, cli(t, bare, "billing", "usage", "--org", "default", "--json")); u.Plan != "tiny" || u.Limits[0].Used != "5" {
				t.Errorf("billing usage without the plans file: %+v", u)
			}
			// The store such a process opens refuses past the limit too.
			bareStore, shared, _, _, err := openStore(context.Background(), configOf(t, bare), nil)
			if err != nil {
				t.Fatal(err)
			}
			if shared.Plans() == nil || shared.Version() != 1 {
				t.Errorf("a process without the plans file runs without the published plans (version %d)", shared.Version())
			}
			bareRes := bareStore.Append(context.Background(), []agentscope.AppendRequest{{OrgID: "default", SessionID: "b1",
				Events: []agentscope.Event{{EventID: "bare", Type: agentscope.ToolCalled, Tool: "t", CallID: "bare"}}}})[0]
			if agentscope.ErrorCode(bareRes.Err) != agentscope.EPLANLIMIT {
				t.Errorf("a process without the plans file stored past the limit: %v", bareRes.Err)
			}
			bareStore.Close()
			if table := cli(t, bare, "billing", "plans"); !strings.Contains(table, "plans version 1, published by agentscope") || !strings.Contains(strings.Join(strings.Fields(table), " "), "tiny (default) Tiny 5 1 2 unlimited for ever -") {
				t.Errorf("billing plans:\n%s", table)
			}
			if p := decodeJSON[struct {
				Version int64
				Plans   struct{ Default string }
			}](t, cli(t, bare, "billing", "plans", "--json")); p.Version != 1 || p.Plans.Default != "tiny" {
				t.Errorf("billing plans --json: %+v", p)
			}
			if code, _, stderr := runCommand(vars, "billing", "set-plan", "--org", "default", "huge"); code == 0 || !strings.Contains(stderr, `"huge" is not one of the plans`) {
				t.Errorf("set-plan to an unknown plan: exit %d, %s", code, stderr)
			}
			cli(t, vars, "billing", "set-plan", "--org", "default", "big")
			if code, _, body := call(t, "POST", base+"/api/v1/events", token, "["+strings.Join(batch, ",")+"]"); code != http.StatusOK {
				t.Errorf("after set-plan big: %d %s; want every event accepted", code, body)
			}
			table := cli(t, vars, "billing", "usage", "--org", "default")
			if !strings.Contains(table, "plan big (Big)") || !strings.Contains(strings.Join(strings.Fields(table), " "), "events_per_month 7 1000000 0.0%") {
				t.Errorf("billing usage table:\n%s", table)
			}
			code, _, body = call(t, "GET", base+"/api/v1/audit", token, "")
			if code != http.StatusOK || !strings.Contains(body, `"action":"billing.plan_changed"`) || !strings.Contains(body, `"actor":"operator"`) {
				t.Errorf("audit after set-plan: %d %s", code, body)
			}
		})
	}
}

// TestBillingOffByDefault: without a plans file and Stripe key, usage
// answers enabled: false, the CLI says billing is off, and nothing is
// limited.
func TestBillingOffByDefault(t *testing.T) {
	vars := varsOf(t, stores()[0])
	base, stop := serveInProcess(t, envOf(vars))
	defer stop()
	const token = "test-token-0123456789"
	if code, _, body := call(t, "GET", base+"/api/v1/billing/usage", token, ""); code != http.StatusOK || body != `{"enabled":false,"org_id":"default"}`+"\n" {
		t.Errorf("usage with billing off: %d %q", code, body)
	}
	if code, _, stderr := runCommand(vars, "billing", "usage", "--org", "default"); code != 2 || !strings.Contains(stderr, "billing is off") {
		t.Errorf("billing usage with billing off: exit %d %s", code, stderr)
	}
	if code, _, stderr := runCommand(vars, "billing", "plans"); code != 2 || !strings.Contains(stderr, "billing is off") {
		t.Errorf("billing plans with billing off: exit %d %s", code, stderr)
	}
}
