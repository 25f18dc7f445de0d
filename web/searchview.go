package web

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

// searchShownRows bounds the rows the results table renders.
const searchShownRows = 1000

// caretAt finds the line of query that holds byte offset pos and returns
// its number (from 1), its text, and a line with a caret under pos.
func caretAt(query string, pos int) (lineNo int, line, caret string) {
	pos = max(0, min(pos, len(query)))
	start := strings.LastIndexByte(query[:pos], '\n') + 1
	end := strings.IndexByte(query[pos:], '\n')
	if end < 0 {
		end = len(query)
	} else {
		end += pos
	}
	line = strings.ReplaceAll(query[start:end], "\t", " ")
	col := utf8.RuneCountInString(query[start:pos])
	return strings.Count(query[:start], "\n") + 1, line, strings.Repeat(" ", col) + "^"
}

// searchTable formats a result for the table: columns in the backend's
// order (or sorted, _time first, when it gave none), numbers right-aligned.
func searchTable(res *agentscope.SearchResult, tookMS float64) *ui.SearchResult {
	out := &ui.SearchResult{Backend: res.Backend, TookMS: tookMS, Total: len(res.Results)}
	out.Fields = res.Fields
	if len(out.Fields) == 0 {
		out.Fields = fieldsOf(res.Results)
	}
	rows := res.Results
	if len(rows) > searchShownRows {
		rows, out.Truncated = rows[:searchShownRows], true
	}
	out.Shown = len(rows)
	out.Numeric = make([]bool, len(out.Fields))
	for i, f := range out.Fields {
		numeric, seen := true, false
		for _, row := range rows {
			v, ok := row[f]
			if !ok || v == nil || v == "" {
				continue
			}
			seen = true
			if _, ok := number(v); !ok {
				numeric = false
				break
			}
		}
		out.Numeric[i] = numeric && seen && f != "_time"
	}
	for _, row := range rows {
		cells := make([]string, len(out.Fields))
		for i, f := range out.Fields {
			cells[i] = cellText(f, row[f])
		}
		out.Rows = append(out.Rows, cells)
	}
	return out
}

func fieldsOf(rows []map[string]any) []string {
	set := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			set[k] = true
		}
	}
	var fields []string
	for k := range set {
		fields = append(fields, k)
	}
	slices.SortFunc(fields, func(a, b string) int {
		if (a == "_time") != (b == "_time") {
			if a == "_time" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return fields
}

func cellText(field string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cellText(field, e)
		}
		return strings.Join(parts, ", ")
	}
	if f, ok := number(v); ok {
		if field == "_time" {
			return searchTime(f).UTC().Format("2006-01-02 15:04:05")
		}
		return strconv.FormatFloat(math.Round(f*1e6)/1e6, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// number reads a search value as a number: Go numbers, json.Number, or a
// string that holds one.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// str reads a search value as text.
func str(v any) string { return cellText("", v) }

// searchTime reads epoch seconds.
func searchTime(sec float64) time.Time {
	return time.UnixMicro(int64(math.Round(sec * 1e6)))
}

// parseSearchTime reads a _time value: epoch seconds, or an ISO 8601 time
// as Splunk's REST API writes it.
func parseSearchTime(v any) (time.Time, bool) {
	if f, ok := number(v); ok {
		return searchTime(f), true
	}
	s, _ := v.(string)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-07:00", "2006-01-02T15:04:05.000Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// splitCommands splits an SPL query into its commands at the pipes that
// are not inside a quoted string or a [subsearch].
func splitCommands(query string) []string {
	var (
		out    []string
		depth  int
		quoted bool
		start  int
	)
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == '|' && depth == 0:
			out = append(out, strings.TrimSpace(query[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(query[start:]))
}

// commandName is a command's first word, lower-cased.
func commandName(cmd string) string {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
}

// rowKeeping are commands that may follow a timechart or stats without
// changing what its rows are: they reorder, filter or add columns.
var rowKeeping = map[string]bool{"sort": true, "head": true, "tail": true, "where": true, "search": true, "eval": true, "fillnull": true, "reverse": true}

// seriesCommand is the command that made a query's rows (its last, before
// any rowKeeping ones) and the commands before it.
func seriesCommand(query string) (cmd string, before []string) {
	cmds := splitCommands(query)
	i := len(cmds) - 1
	for i > 0 && rowKeeping[commandName(cmds[i])] {
		i--
	}
	return cmds[i], cmds[:i]
}

// statsBy matches a stats (or tstats) command's by-clause.
var statsBy = regexp.MustCompile(`(?is)^(?:stats|tstats)\b.*\bby\s+(.+?)\s*$`)

// binsTime matches a bin or bucket of _time.
var binsTime = regexp.MustCompile(`(?is)^(?:bin|bucket)\b.*(?:^|\s)_time(?:\s|$)`)

// timeSeriesBy reports whether query's rows come from a stats grouped by
// time buckets (_time after bin or bucket _time, or a tstats with span=),
// and the other by-field, if one. A stats by raw _time is not a series:
// its points are the events' own times.
func timeSeriesBy(query string) (other string, ok bool) {
	cmd, before := seriesCommand(query)
	m := statsBy.FindStringSubmatch(cmd)
	if m == nil {
		return "", false
	}
	bucketed, byTime := false, false
	var others []string
	for _, f := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		switch {
		case f == "_time":
			byTime = true
		case strings.HasPrefix(strings.ToLower(f), "span="):
			bucketed = true
		default:
			others = append(others, f)
		}
	}
	for _, c := range before {
		if binsTime.MatchString(c) {
			bucketed = true
		}
	}
	if !byTime || !bucketed || len(others) > 1 {
		return "", false
	}
	if len(others) == 1 {
		other = others[0]
	}
	return other, true
}

// chartOf draws a result as a time series when its rows come from a
// timechart or a stats by time buckets; nil otherwise, or when the rows
// have no times.
func chartOf(query string, res *agentscope.SearchResult) *ui.LineChart {
	if cmd, _ := seriesCommand(query); commandName(cmd) == "timechart" {
		return timechartOf(res)
	}
	by, ok := timeSeriesBy(query)
	if !ok {
		return nil
	}
	if by == "" {
		return timechartOf(res)
	}
	return pivotChart(res, by)
}

// pivotChart draws stats … by _time, F: one line per value of F (the
// first maxChartSeries seen), of the first numeric column, across _time.
func pivotChart(res *agentscope.SearchResult, by string) *ui.LineChart {
	fields := res.Fields
	if len(fields) == 0 {
		fields = fieldsOf(res.Results)
	}
	value := ""
	for _, f := range fields {
		if f == by || strings.HasPrefix(f, "_") {
			continue
		}
		for _, r := range res.Results {
			if _, ok := number(r[f]); ok {
				value = f
				break
			}
		}
		if value != "" {
			break
		}
	}
	if value == "" {
		return nil
	}
	index := map[time.Time]int{}
	var xs []time.Time
	for _, r := range res.Results {
		t, ok := parseSearchTime(r["_time"])
		if !ok {
			return nil
		}
		if _, seen := index[t]; !seen {
			index[t] = len(xs)
			xs = append(xs, t)
		}
	}
	if len(xs) == 0 {
		return nil
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].Before(xs[j]) })
	for i, t := range xs {
		index[t] = i
	}
	var series []ui.Series
	byName := map[string]int{}
	for _, r := range res.Results {
		name := fmt.Sprint(r[by])
		k, seen := byName[name]
		if !seen {
			if len(series) == maxChartSeries {
				continue
			}
			k = len(series)
			byName[name] = k
			vals := make([]float64, len(xs))
			for i := range vals {
				vals[i] = math.NaN()
			}
			series = append(series, ui.Series{Name: name, Values: vals})
		}
		t, _ := parseSearchTime(r["_time"])
		if v, ok := number(r[value]); ok {
			series[k].Values[index[t]] = v
		}
	}
	c := ui.NewLineChart(xs, series, seriesLabel(xs))
	return &c
}

// maxChartSeries bounds the lines of a timechart.
const maxChartSeries = 8

// timechartOf draws a timechart result: _time across (in time order, so a
// sort after it does not fold the line back), one line per other numeric
// column. Nil when the result has no times.
func timechartOf(res *agentscope.SearchResult) *ui.LineChart {
	type row struct {
		t time.Time
		r map[string]any
	}
	rows := make([]row, len(res.Results))
	for i, r := range res.Results {
		t, ok := parseSearchTime(r["_time"])
		if !ok {
			return nil
		}
		rows[i] = row{t, r}
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.t.Compare(b.t) })
	xs := make([]time.Time, len(rows))
	for i, r := range rows {
		xs[i] = r.t
	}
	fields := res.Fields
	if len(fields) == 0 {
		fields = fieldsOf(res.Results)
	}
	var series []ui.Series
	for _, f := range fields {
		if strings.HasPrefix(f, "_") || len(series) == maxChartSeries {
			continue
		}
		s := ui.Series{Name: f, Values: make([]float64, len(rows))}
		any := false
		for i, r := range rows {
			if v, ok := number(r.r[f]); ok {
				s.Values[i], any = v, true
			} else {
				s.Values[i] = math.NaN()
			}
		}
		if any {
			series = append(series, s)
		}
	}
	if len(series) == 0 {
		return nil
	}
	c := ui.NewLineChart(xs, series, seriesLabel(xs))
	return &c
}

// seriesLabel formats the axis times of a series at xs (in order): with
// seconds when its points are less than a minute apart, with the date
// when it spans days.
func seriesLabel(xs []time.Time) func(time.Time) string {
	span := xs[len(xs)-1].Sub(xs[0])
	step := span
	for i := 1; i < len(xs); i++ {
		if d := xs[i].Sub(xs[i-1]); d > 0 && d < step {
			step = d
		}
	}
	layout := ""
	switch {
	case step > 0 && step < time.Minute:
		layout = "15:04:05"
	case step > 0 && step < 24*time.Hour && span > 36*time.Hour:
		layout = "Jan 2 15:04"
	}
	if layout == "" {
		return func(t time.Time) string { return timeLabel(t, span) }
	}
	return func(t time.Time) string { return t.UTC().Format(layout) }
}

// timeLabel formats an axis time for a range of the given span.
func timeLabel(t time.Time, span time.Duration) string {
	t = t.UTC()
	switch {
	case span <= 36*time.Hour:
		return t.Format("15:04")
	case span <= 120*24*time.Hour:
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2006")
}
