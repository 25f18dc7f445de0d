package spl

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/store/pgtest"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// The corpus dataset: a few agents, providers, models and tools over six
// days, with failures, costs, attributes and nested JSON. Everything is
// derived from the session number, so every store gets the same bytes.
const (
	corpusOrg = "acme"
	otherOrg  = "other"
)

var (
	datasetStart = time.Date(2026, 10, 27, 0, 0, 0, 0, time.UTC)
	// corpusNow is the engine's clock in the corpus: relative times are
	// fixed against it.
	corpusNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

var (
	agentNames = []string{"planner", "researcher", "coder"}
	models     = []struct{ provider, model string }{
		{"openai", "gpt-4.1"}, {"anthropic", "claude-sonnet-4"}, {"openai", "gpt-4.1-mini"}, {"anthropic", "claude-haiku-4"},
	}
	tools = []string{"search", "fetch", "calc", "write_file"}
)

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }

// session is one run of the dataset with its events.
type session struct {
	id, agent string
	start     time.Time
	events    []agentscope.Event
	status    agentscope.RunStatus
}

// genSessions builds n deterministic sessions for an organisation.
func genSessions(prefix string, n int, agents []string) []session {
	var out []session
	for i := range n {
		s := session{
			id:    fmt.Sprintf("%s%02d", prefix, i),
			agent: agents[i%len(agents)],
			start: datasetStart.Add(time.Duration(i)*5*time.Hour + time.Duration(i*7)*time.Minute + time.Duration(i*113)*time.Millisecond),
		}
		k := 0
		at := func() time.Time {
			k++
			return s.start.Add(time.Duration(k) * 1500 * time.Millisecond)
		}
		id := func() string { return fmt.Sprintf("ev-%s-%02d", s.id, k) }
		// stamp gives the next event its time and id.
		stamp := func(e agentscope.Event) agentscope.Event {
			e.TS = at()
			e.EventID = id()
			return e
		}
		s.events = append(s.events, agentscope.Event{EventID: fmt.Sprintf("ev-%s-00", s.id), Type: agentscope.SessionStarted, Agent: s.agent, TS: s.start,
			Input: json.RawMessage(fmt.Sprintf(`{"task":"task %d","priority":%d,"tags":["t%d","shared"]}`, i, i%3, i%4))})
		turns := 1 + i%4
		for t := range turns {
			m := models[(i+t)%len(models)]
			temp := []string{"0.2", "0.7", "1"}[(i+t)%3]
			s.events = append(s.events, stamp(agentscope.Event{Type: agentscope.ModelInvoked, SpanID: fmt.Sprintf("m%d", t), Provider: m.provider, Model: m.model,
				Attributes: map[string]any{"temperature": json.Number(temp), "stream": (i+t)%2 == 0, "region": []string{"us-east", "eu-west"}[i%2]}}))
			dur := float64(200+(i*137+t*53)%1800) + 0.5*float64(t%2)
			ev := agentscope.Event{Type: agentscope.ModelCompleted, SpanID: fmt.Sprintf("m%d", t), Provider: m.provider, Model: m.model,
				DurationMS: f64(dur), TokensIn: i64(int64(1000 + (i*311+t*97)%4000)), TokensOut: i64(int64(50 + (i*71+t*13)%600)),
				CacheReadTokens: i64(int64((i * 100) % 900)), FinishReason: []string{"stop", "tool_calls", "length"}[(i+t)%3]}
			if (i+t)%7 == 0 {
				ev.Error, ev.FinishReason = "rate limited: retry after 2s", "error"
			}
			if t == 0 && i%5 == 0 {
				ev.ReasoningTokens = i64(int64(10 * (i + 1)))
			}
			useTool := (i+t)%3 != 2
			if useTool {
				tool := tools[(i+2*t)%len(tools)]
				call := fmt.Sprintf("c%d", t)
				s.events = append(s.events, stamp(agentscope.Event{Type: agentscope.ToolCalled, SpanID: "t" + call, ParentSpanID: fmt.Sprintf("m%d", t), Tool: tool, CallID: call,
					Arguments: json.RawMessage(fmt.Sprintf(`{"q":"query %d-%d","limit":%d,"opts":{"deep":%t}}`, i, t, 5+i%3, i%2 == 0))}))
				ret := agentscope.Event{Type: agentscope.ToolReturned, SpanID: "t" + call, ParentSpanID: fmt.Sprintf("m%d", t), Tool: tool, CallID: call,
					DurationMS: f64(float64(5 + (i*29+t*11)%400)), Status: "ok", Result: json.RawMessage(fmt.Sprintf(`{"hits":[{"id":%d,"score":0.%d},{"id":%d,"score":0.5}],"total":%d}`, i, 9-t%9, i+100, i%5))}
				if (i+t)%5 == 4 {
					ret.Status, ret.Error, ret.Result = "error", "timeout after 30s", json.RawMessage(`[1,2,3]`)
				}
				s.events = append(s.events, stamp(ret))
			}
			s.events = append(s.events, stamp(ev))
			cost := fmt.Sprintf("0.%04d", 1+(i*37+t*19)%300)
			u, err := agentscope.ParseUSD(cost)
			if err != nil {
				panic(err)
			}
			s.events = append(s.events, stamp(agentscope.Event{Type: agentscope.CostRecorded, AmountUSD: &u, Currency: "USD", Model: m.model, Provider: m.provider, Source: "pricing-table"}))
		}
		s.status = agentscope.StatusCompleted
		end := agentscope.Event{Type: agentscope.SessionCompleted, Status: "completed", Output: json.RawMessage(fmt.Sprintf(`{"answer":"done %d"}`, i))}
		if i%5 == 4 {
			s.status = agentscope.StatusFailed
			end.Status, end.Error, end.Output = "failed", "agent gave up", nil
		}
		s.events = append(s.events, stamp(end))
		out = append(out, s)
	}
	return out
}

// loadSessions appends sessions to a store, one request per session.
func loadSessions(t testing.TB, st agentscope.Store, org string, ss []session) {
	t.Helper()
	var reqs []agentscope.AppendRequest
	for _, s := range ss {
		start := s.start
		reqs = append(reqs, agentscope.AppendRequest{
			OrgID: org, SessionID: s.id,
			Start:  &agentscope.Run{Agent: s.agent, Status: agentscope.StatusRunning, CreatedAt: start, StartedAt: &start},
			Events: s.events,
			Update: &agentscope.RunUpdate{Status: s.status},
		})
	}
	for i, res := range st.Append(context.Background(), reqs) {
		if res.Err != nil {
			t.Fatalf("append session %s: %v", reqs[i].SessionID, res.Err)
		}
	}
}

// loadCorpus fills a store with the corpus dataset and another
// organisation's events, which no corpus query may see.
func loadCorpus(t testing.TB, st agentscope.Store) {
	t.Helper()
	loadSessions(t, st, corpusOrg, genSessions("s", 24, agentNames))
	loadSessions(t, st, otherOrg, genSessions("x", 3, []string{"intruder"}))
}

func openSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "spl.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t testing.TB) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.URL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testEngine returns an engine with the corpus's fixed clock and host.
func testEngine(st agentscope.Store, opts Options) *Engine {
	opts.Now = func() time.Time { return corpusNow }
	opts.Host = "test-host"
	return New(st, opts)
}
