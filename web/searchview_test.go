package web

import (
	"errors"
	"fmt"
	"strings"
	"testing"

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

// TestChartOf: a timechart, and a stats grouped by time buckets (alone or
// with one other field, pivoted to a line per value), chart with one line
// per series and a point per bucket that has a value; other results stay
// tables: a stats by raw _time (no bin), by _time and two other fields,
// or a table that merely shows _time.
func TestChartOf(t *testing.T) {
	rows := func(rs ...map[string]any) *agentscope.SearchResult { return &agentscope.SearchResult{Results: rs} }
	t1, t2, t3 := "2026-12-01T10:00:00Z", "2026-12-01T10:01:00Z", "2026-12-01T10:02:00Z"
	counts := rows(map[string]any{"_time": t1, "count": 3}, map[string]any{"_time": t2, "count": 5}, map[string]any{"_time": t3, "count": 4})
	byModel := rows(map[string]any{"_time": t1, "model": "a", "cost": 1.5}, map[string]any{"_time": t1, "model": "b", "cost": 2}, map[string]any{"_time": t2, "model": "a", "cost": 0.5})
	cases := []struct {
		query  string
		res    *agentscope.SearchResult
		series []string // legend, in order; nil: no chart
		points []int    // points of each line
	}{
		{"search * | timechart span=1m count", counts, []string{"count"}, []int{3}},
		{"search * | timechart span=1m count by status | sort - _time", rows(
			map[string]any{"_time": t2, "ok": 2, "error": nil}, map[string]any{"_time": t1, "ok": 1, "error": 1}),
			[]string{"error", "ok"}, []int{1, 2}}, // columns sorted when the backend gave no order
		{"search * | bin _time span=1m | stats count by _time", counts, []string{"count"}, []int{3}},
		{"search *\n| bucket span=1m _time\n| stats count\n  by _time\n| head 10", counts, []string{"count"}, []int{3}},
		{"| tstats count where index=main by _time span=1m", counts, []string{"count"}, []int{3}},
		{"search * | bin _time span=1m | stats sum(amount_usd) as cost by _time, model", byModel, []string{"a", "b"}, []int{2, 1}},
		{"search * | bin _time span=1m | stats sum(amount_usd) as cost by model _time", byModel, []string{"a", "b"}, []int{2, 1}},
		{"search * | bin _time span=1s | stats count by _time", rows(
			map[string]any{"_time": "2026-12-01T10:00:00Z", "count": 1}, map[string]any{"_time": "2026-12-01T10:00:02Z", "count": 2}),
			[]string{"count"}, []int{2}},
		{"search * | stats count by _time", counts, nil, nil},
		{"search * | bin _time span=1m | stats count by model", rows(map[string]any{"model": "a", "count": 1}), nil, nil},
		{"search * | bin _time span=1m | stats count by _time, model, agent", rows(map[string]any{"_time": t1, "model": "a", "agent": "x", "count": 1}), nil, nil},
		{"search * | table _time count", counts, nil, nil},
		{"search * | bin _time span=1m | stats count by _time | table count", counts, nil, nil},
		{`search msg="a | timechart count"`, counts, nil, nil},
		{"search * | bin _time span=1m | stats values(tool) as tools by _time", rows(map[string]any{"_time": t1, "tools": "x"}), nil, nil},
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
		var points []int
		for i, l := range ch.Legend {
			names = append(names, l.Name)
			points = append(points, len(strings.Fields(ch.Lines[i].Points)))
		}
		if fmt.Sprint(names) != fmt.Sprint(c.series) || fmt.Sprint(points) != fmt.Sprint(c.points) || len(ch.XLabels) == 0 {
			t.Errorf("%s: series %v with %v points, want %v with %v", c.query, names, points, c.series, c.points)
		}
		// Time runs left to right whatever order the rows came in.
		if want := map[bool]string{true: "10:00:00", false: "10:00"}[strings.Contains(c.query, "span=1s")]; ch.XLabels[0].Text != want {
			t.Errorf("%s: first x label %q, want %s", c.query, ch.XLabels[0].Text, want)
		}
	}
}
