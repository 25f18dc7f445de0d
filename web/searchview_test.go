package web

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

type positionMethod struct{}

func (positionMethod) Error() string { return "bad" }
func (positionMethod) Position() int { return 7 }

type withPos struct{ Pos int }

func (e *withPos) Error() string { return "bad" }
func (e *withPos) Unwrap() error { return agentscope.FieldErrorf("query", "position %d", e.Pos) }

func TestErrorPosition(t *testing.T) {
	cases := []struct {
		err  error
		pos  int
		want bool
	}{
		{positionMethod{}, 7, true},
		{fmt.Errorf("search: %w", &withPos{Pos: 12}), 12, true},
		{errors.Join(errors.New("x"), &withPos{Pos: 3}), 3, true},
		{errors.New("plain"), 0, false},
		{agentscope.Errorf(agentscope.EINVALID, "no position"), 0, false},
	}
	for _, c := range cases {
		if pos, ok := errorPosition(c.err); pos != c.pos || ok != c.want {
			t.Errorf("%v: %d %v", c.err, pos, ok)
		}
	}
}

func TestCaretAt(t *testing.T) {
	q := "type=ToolReturned\n| stäts count"
	for _, c := range []struct {
		pos        int
		line       int
		text, want string
	}{
		{20, 2, "| stäts count", "  ^"},
		{24, 2, "| stäts count", "     ^"}, // after the two-byte ä
		{0, 1, "type=ToolReturned", "^"},
		{999, 2, "| stäts count", "             ^"},
	} {
		line, text, caret := caretAt(q, c.pos)
		if line != c.line || text != c.text || caret != c.want {
			t.Errorf("pos %d: line %d %q %q", c.pos, line, text, caret)
		}
	}
}

func TestSessionQuery(t *testing.T) {
	if got := sessionQuery("", "s-1"); got != `index="agentscope" sourcetype="agentscope:events" session_id="s-1"` {
		t.Errorf("default: %s", got)
	}
	if got := sessionQuery(`we"ird\idx`, `a"b`); got != `index="we\"ird\\idx" sourcetype="agentscope:events" session_id="a\"b"` {
		t.Errorf("escaped: %s", got)
	}
}

// TestChartOf: a timechart, and a stats grouped by _time (alone or with
// one other field, pivoted to a line per value), chart; other results,
// and stats by _time with two other fields, stay tables.
func TestChartOf(t *testing.T) {
	rows := func(rs ...map[string]any) *SearchResult { return &SearchResult{Rows: rs} }
	t1, t2 := "2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z"
	cases := []struct {
		query  string
		res    *SearchResult
		series []string
		points int
	}{
		{"search * | timechart span=1m count", rows(map[string]any{"_time": t1, "count": 3}, map[string]any{"_time": t2, "count": 5}), []string{"count"}, 2},
		{"search * | bin _time span=1m | stats count by _time", rows(map[string]any{"_time": t1, "count": 3}, map[string]any{"_time": t2, "count": 5}), []string{"count"}, 2},
		{"search * | bin _time span=1m | stats sum(amount_usd) as cost by _time, model",
			rows(map[string]any{"_time": t1, "model": "a", "cost": 1.5}, map[string]any{"_time": t1, "model": "b", "cost": 2}, map[string]any{"_time": t2, "model": "a", "cost": 0.5}),
			[]string{"a", "b"}, 2},
		{"search * | stats count by model", rows(map[string]any{"model": "a", "count": 1}), nil, 0},
		{"search * | stats count by _time, model, agent", rows(map[string]any{"_time": t1, "model": "a", "agent": "x", "count": 1}), nil, 0},
		{"search * | table _time tool", rows(map[string]any{"_time": t1, "tool": "t"}), nil, 0},
	}
	for _, c := range cases {
		ch := chartOf(c.query, c.res)
		if c.series == nil {
			if ch != nil {
				t.Errorf("%s: a chart of %d lines, want a table", c.query, len(ch.Lines))
			}
			continue
		}
		if ch == nil {
			t.Errorf("%s: no chart", c.query)
			continue
		}
		var names []string
		for _, l := range ch.Legend {
			names = append(names, l.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(c.series) || len(ch.XLabels) == 0 {
			t.Errorf("%s: series %v, want %v", c.query, names, c.series)
		}
	}
}

// TestUsageCharts: a session's running cost and tokens; none for a session
// without either.
func TestUsageCharts(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	usd := func(s string) *agentscope.USD { u, _ := agentscope.ParseUSD(s); return &u }
	n := func(v int64) *int64 { return &v }
	evs := []agentscope.Event{
		{Type: agentscope.SessionStarted, TS: t0},
		{Type: agentscope.ModelCompleted, TS: t0.Add(time.Second), TokensIn: n(100), TokensOut: n(20)},
		{Type: agentscope.CostRecorded, TS: t0.Add(time.Second), AmountUSD: usd("0.25")},
		{Type: agentscope.ModelCompleted, TS: t0.Add(3 * time.Second), TokensIn: n(50), TokensOut: n(5)},
		{Type: agentscope.CostRecorded, TS: t0.Add(3 * time.Second), AmountUSD: usd("0.5")},
	}
	u := usageCharts(evs)
	if u == nil || u.Cost == nil || u.Tokens == nil {
		t.Fatalf("%+v", u)
	}
	if len(u.Cost.Lines) != 1 || len(u.Tokens.Lines) != 2 || u.Summary != "$0.75 over 2 cost events; 150 input and 25 output tokens over 2 model calls." {
		t.Errorf("%d cost lines, %d token lines, %q", len(u.Cost.Lines), len(u.Tokens.Lines), u.Summary)
	}
	if u := usageCharts(evs[:1]); u != nil {
		t.Errorf("a session without cost or tokens: %+v", u)
	}
}
