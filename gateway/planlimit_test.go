package gateway_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/runtime/llmtest"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// planStore is a store billing runs on.
type planStore interface {
	testStore
	billing.Store
	CreateOrg(ctx context.Context, name, actor string) (agentscope.Org, error)
}

// TestPlanEventLimitRefusedBeforeForwarding: with billing on, once an
// organisation's plan would refuse the events a call records, the gateway
// refuses the call in the provider's quota shape (not retried by the SDKs)
// instead of forwarding it unrecorded; what was recorded before is whole,
// and a plan change lets calls through again at once. On SQLite and
// Postgres.
func TestPlanEventLimitRefusedBeforeForwarding(t *testing.T) {
	// 11 events: a session's first call records 4 (SessionStarted,
	// ModelInvoked, ModelCompleted, CostRecorded), the next two 3 each —
	// 10 — and a fourth would not fit.
	plans, err := billing.Parse([]byte(`{"default":"small","plans":[{"id":"small","limits":{"events_per_month":11}},{"id":"big"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]func(t *testing.T) planStore{
		"sqlite": func(t *testing.T) planStore {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), sqlstore.Options{Usage: plans})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) planStore {
			st, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{Usage: plans})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			st := o(t)
			ctx := context.Background()
			org, err := st.CreateOrg(ctx, "Acme", agentscope.ActorOperator)
			if err != nil {
				t.Fatal(err)
			}
			bill := billing.NewService(plans, st, nil)
			m := metrics.New(metrics.Options{})
			f := setupOn(t, st, service.Options{Agents: st, Billing: bill}, func(o *gateway.Options) { o.Metrics = m })
			f.auth["Bearer as-plan"] = agentscope.Principal{Kind: agentscope.PrincipalKey, OrgID: org.ID, KeyID: "kp", Scopes: []agentscope.Scope{agentscope.ScopeIngest}}
			owner := agentscope.Principal{Kind: agentscope.PrincipalInstance, OrgID: org.ID, Role: agentscope.RoleOwner}
			f.llm.Handle(func(llmtest.Request) llmtest.Reply {
				return llmtest.Reply{Content: "ok", Usage: llmtest.Usage{PromptTokens: 10, CompletionTokens: 10}}
			})
			h := map[string]string{"Authorization": "Bearer as-plan", gateway.HeaderSessionID: "plan-1", gateway.HeaderAgent: "bot"}
			const chat = `{"model":"gpt-4o-mini","messages":[]}`
			for i := range 3 {
				if resp, body := f.post(t, "/v1/chat/completions", chat, h); resp.StatusCode != 200 {
					t.Fatalf("call %d under the limit: %d %s", i+1, resp.StatusCode, body)
				}
				f.eventsOf(t, owner, "plan-1") // committed before the next call
			}
			forwarded := len(f.llm.Requests())

			resp, body := f.post(t, "/v1/chat/completions", chat, h)
			var oe struct {
				Error struct{ Message, Type, Code string }
			}
			if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 429 || oe.Error.Type != "insufficient_quota" || oe.Error.Code != "insufficient_quota" {
				t.Fatalf("OpenAI refusal %d %s", resp.StatusCode, body)
			}
			for _, want := range []string{`plan "small" allows 11 events`, "10 are stored", "ask the operator"} {
				if !strings.Contains(oe.Error.Message, want) {
					t.Errorf("refusal %q does not say %q", oe.Error.Message, want)
				}
			}
			if v := resp.Header.Get("X-Should-Retry"); v != "false" {
				t.Errorf("X-Should-Retry %q: the SDKs would retry the 429", v)
			}
			am := map[string]string{"Authorization": "Bearer as-plan", gateway.HeaderSessionID: "plan-1", gateway.HeaderAgent: "bot", "anthropic-version": "2023-06-01"}
			resp, body = f.post(t, "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":5,"messages":[]}`, am)
			var ae struct {
				Type  string
				Error struct{ Type, Message string }
			}
			if err := json.Unmarshal(body, &ae); err != nil || resp.StatusCode != 400 || ae.Type != "error" || ae.Error.Type != "invalid_request_error" ||
				!strings.Contains(ae.Error.Message, "allows 11 events") || resp.Header.Get("X-Should-Retry") != "false" {
				t.Fatalf("Anthropic refusal %d %v %s", resp.StatusCode, resp.Header, body)
			}
			if n := len(f.llm.Requests()); n != forwarded {
				t.Fatalf("%d refused calls reached the provider", n-forwarded)
			}
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			if line := `agentscope_refusals_total{reason="plan_limit",what="gateway_call"} 2`; !strings.Contains(rec.Body.String(), line+"\n") {
				t.Errorf("metrics lack %s", line)
			}
			// Nothing the gateway passed went unrecorded.
			evs := f.eventsOf(t, owner, "plan-1")
			if len(evs) != 10 || len(byType(evs, agentscope.CostRecorded)) != 3 {
				t.Fatalf("recorded %s", types(evs))
			}
			if s := f.gw.Stats(org.ID); s.Failed != 0 || s.Dropped != 0 || s.CapCheckErrors != 0 {
				t.Fatalf("stats %+v", s)
			}
			// Another organisation is not held to this one's usage (org-a
			// is on no plan row: the default, with its own count).
			if resp, body := f.post(t, "/v1/chat/completions", chat, session("other-org", "bot")); resp.StatusCode != 200 {
				t.Fatalf("another organisation: %d %s", resp.StatusCode, body)
			}
			// An upgrade lets calls through at once.
			if _, err := bill.SetPlan(ctx, org.ID, "big", agentscope.ActorOperator, "test"); err != nil {
				t.Fatal(err)
			}
			if resp, body := f.post(t, "/v1/chat/completions", chat, h); resp.StatusCode != 200 {
				t.Fatalf("after the upgrade: %d %s", resp.StatusCode, body)
			}
			if evs := f.eventsOf(t, owner, "plan-1"); len(evs) != 13 {
				t.Fatalf("after the upgrade recorded %s", types(evs))
			}
		})
	}
}
