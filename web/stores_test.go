package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
	"github.com/agentscope/agentscope/web"
)

// parseShown reads a duration as ui.Millis shows it ("15 ms", "1.5 s",
// "2m 05s").
func parseShown(s string) (time.Duration, error) {
	return time.ParseDuration(strings.NewReplacer(" ", "", "m0", "m").Replace(s))
}

var (
	durationCell = regexp.MustCompile(`<span class="tl">Duration</span><span class="tv">([^<]*)</span>`)
	costCell     = regexp.MustCompile(`<span class="tv" id="cost-total">([^<]*)</span>`)
)

// testStore is what the web tests use of a store.
type testStore interface {
	agentscope.Store
	web.Revocations
}

// bothStores opens a fresh SQLite or Postgres store for a test.
func bothStores() map[string]func(t *testing.T) testStore {
	return map[string]func(t *testing.T) testStore{
		"sqlite": func(t *testing.T) testStore {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) testStore {
			s, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// uiOver serves the web UI of a service over st for org-1, and returns a
// context acting for org-1.
func uiOver(t *testing.T, st agentscope.Store) (*service.Service, *httptest.Server, *uiFixture, context.Context) {
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub()})
	t.Cleanup(func() { rec.Close() })
	svc := service.New(rec, service.Options{})
	srv := httptest.NewServer(web.New(svc, web.Options{Tokens: map[string]string{token: "org-1"}, LivePoll: time.Hour}))
	t.Cleanup(srv.Close)
	return svc, srv, &uiFixture{srv: srv}, agentscope.WithPrincipal(context.Background(), agentscope.SystemPrincipal("org-1"))
}

// TestSessionPageTotalsOnBothStores: through the real session page, on
// SQLite and on Postgres, a session's duration runs from its start to its
// completion (a report recorded 45 s later does not stretch it), and a
// self-reported model call without a reported cost is priced when the
// session ends and counted in the cost shown.
func TestSessionPageTotalsOnBothStores(t *testing.T) {
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			svc, srv, f, ctx := uiOver(t, st)
			if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "ext-bot", SessionID: "d-1"}); err != nil {
				t.Fatal(err)
			}
			raws := []json.RawMessage{
				json.RawMessage(`{"type":"ModelInvoked","provider":"openai","model":"gpt-4.1","span_id":"m1"}`),
				// gpt-4.1: 1,000 in and 100 out is $0.0028.
				json.RawMessage(`{"type":"ModelCompleted","provider":"openai","model":"gpt-4.1","span_id":"m1","duration_ms":15,"tokens_in":1000,"tokens_out":100}`),
			}
			if _, err := svc.Record(ctx, "d-1", raws); err != nil {
				t.Fatal(err)
			}
			c := f.signIn(t)
			// While the session runs, the call is not priced yet, and the
			// page says it will be rather than "unknown".
			_, live := get(t, c, srv.URL+"/sessions/d-1")
			if !strings.Contains(live, `id="cost-pending"`) || !strings.Contains(live, "1 call priced at the end") || strings.Contains(live, ">unknown<") {
				t.Errorf("the running session's page does not say its call is priced at the end:\n%s", totalsOf(live))
			}
			ended, err := svc.EndRun(ctx, service.EndRunInput{SessionID: "d-1", Status: "completed"})
			if err != nil {
				t.Fatal(err)
			}
			// A report linked to the session 45 s after it ended.
			res := st.Append(ctx, []agentscope.AppendRequest{{OrgID: "org-1", SessionID: "d-1",
				Events: []agentscope.Event{{Type: agentscope.InvestigationReported, TS: ended.CreatedAt.Add(45 * time.Second)}}}})
			if res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			_, page := get(t, c, srv.URL+"/sessions/d-1")
			if m := costCell.FindStringSubmatch(page); m == nil || m[1] != "$0.0028" {
				t.Errorf("cost shown %v, want $0.0028 (computed)", m)
			}
			if !strings.Contains(page, `id="cost-computed"`) || strings.Contains(page, `id="cost-pending"`) || strings.Contains(page, `id="cost-unpriced"`) {
				t.Errorf("the ended session's cost is not marked computed (or a call is still pending or unpriced):\n%s", totalsOf(page))
			}
			if !regexp.MustCompile(`<span>\$0\.0028</span>\s*<span class="muted small" title="[^"]*">computed</span>`).MatchString(page) {
				t.Errorf("the model call's cost on the waterfall is not marked computed")
			}
			if !strings.Contains(page, "$0.0028 · gpt-4.1 · computed from agentscope-pricing/") {
				t.Errorf("the computed CostRecorded's row does not say computed")
			}
			m := durationCell.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no duration on the page")
			}
			if d, err := parseShown(m[1]); err != nil || d >= 40*time.Second {
				t.Errorf("duration shown %q, want the seconds between start and completion, not the report's 45 s", m[1])
			}
		})
	}
}

// totalsOf is the totals block of a session page, for failure messages.
func totalsOf(page string) string {
	i := strings.Index(page, `<div class="totals">`)
	if i < 0 {
		return "(no totals)"
	}
	return page[i:min(len(page), i+2000)]
}

// TestSessionListCostUnknown: in the sessions list, on SQLite and on
// Postgres, an ended session whose model call could not be priced shows
// its cost as unknown, not $0; one with a priced and an unpriced call
// shows the known part marked as partial; a fully priced one its cost.
func TestSessionListCostUnknown(t *testing.T) {
	const (
		priced  = `{"type":"ModelCompleted","provider":"openai","model":"gpt-4.1","duration_ms":15,"tokens_in":1000,"tokens_out":100}`
		mystery = `{"type":"ModelCompleted","provider":"acme","model":"mystery-9","duration_ms":15,"tokens_in":1000,"tokens_out":100}`
	)
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			svc, srv, f, ctx := uiOver(t, st)
			for sid, calls := range map[string][]string{"known": {priced}, "unknown": {mystery}, "partial": {priced, mystery}} {
				if _, err := svc.StartRun(ctx, service.StartRunInput{Agent: "ext-bot", SessionID: sid}); err != nil {
					t.Fatal(err)
				}
				for _, c := range calls {
					if _, err := svc.Record(ctx, sid, []json.RawMessage{json.RawMessage(c)}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := svc.EndRun(ctx, service.EndRunInput{SessionID: sid, Status: "completed"}); err != nil {
					t.Fatal(err)
				}
			}
			_, page := get(t, f.signIn(t), srv.URL+"/sessions")
			for sid, want := range map[string]string{"known": "$0.0028", "unknown": "unknown", "partial": "$0.0028 +?"} {
				row := regexp.MustCompile(`<tr data-session="` + sid + `"[\s\S]*?</tr>`).FindString(page)
				cells := regexp.MustCompile(`<td class="num">([\s\S]*?)</td>`).FindAllStringSubmatch(row, -1)
				if len(cells) == 0 {
					t.Fatalf("no row for %s in the sessions list", sid)
				}
				shown := strings.TrimSpace(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(cells[len(cells)-1][1], ""))
				if shown != want {
					t.Errorf("%s: cost shown %q, want %q", sid, shown, want)
				}
				if want != "$0.0028" && !strings.Contains(row, "no known cost") {
					t.Errorf("%s: the cost does not say why it is not known:\n%s", sid, row)
				}
			}
		})
	}
}
