package main

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is one benchmark result line of `go test -bench` output.
type Result struct {
	// Pkg is the import path from the preceding "pkg:" line.
	Pkg string
	// Name is the full benchmark name without the -GOMAXPROCS suffix,
	// e.g. "BenchmarkIngest/sqlite".
	Name string
	// Procs is GOMAXPROCS, from the name's suffix (1 when absent).
	Procs int
	// N is the number of iterations.
	N int64
	// Metrics are the value-unit pairs in the order printed: ns/op, every
	// b.ReportMetric unit, B/op, allocs/op.
	Metrics []Metric
}

// Metric is one value and its unit, e.g. 47878 "events/s".
type Metric struct {
	Value float64
	Unit  string
}

// Value returns the value of the metric in unit.
func (r Result) Value(unit string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// Outcome is a benchmark that was skipped or failed ("--- SKIP: …",
// "--- FAIL: …"), with the first line it logged as the reason.
type Outcome struct {
	Name   string // without the -GOMAXPROCS suffix
	Status string // "SKIP" or "FAIL"
	Reason string
}

// Output is what Parse finds in benchmark output.
type Output struct {
	Results  []Result
	Outcomes []Outcome
	// Config holds the last value of each "key: value" line (goos,
	// goarch, pkg, cpu).
	Config map[string]string
}

var (
	configLine = regexp.MustCompile(`^([a-z][^\s:]*):\s*(.*)$`)
	// logLine is a t.Log line under a benchmark: "    file_test.go:12: text".
	logLine = regexp.MustCompile(`^\s+(?:[\w.-]+\.go:\d+: )?(.*)$`)
)

// Parse reads `go test -bench` output in the Go benchmark format
// (https://go.dev/design/14313-benchmark-format): configuration lines,
// result lines "BenchmarkName-P  N  value unit  value unit…", and the
// "--- SKIP"/"--- FAIL" lines of benchmarks that did not produce one, whose
// reason is the first line logged before them (with -test.v) or right
// after them (without). Anything else (PASS, ok, other logs, the names
// -test.v prints) is ignored. Only a read error is an error.
func Parse(r io.Reader) (*Output, error) {
	out := &Output{Config: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var (
		firstLog string   // logged since the last benchmark line
		pending  *Outcome // awaiting its reason on the next line
	)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if m := logLine.FindStringSubmatch(line); m != nil && line != "" {
			switch {
			case pending != nil:
				pending.Reason = strings.TrimSpace(m[1])
			case firstLog == "":
				firstLog = strings.TrimSpace(m[1])
			}
			pending = nil
			continue
		}
		pending = nil
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			if res, ok := parseResult(line); ok {
				res.Pkg = out.Config["pkg"]
				out.Results = append(out.Results, res)
			}
			firstLog = ""
		case strings.HasPrefix(line, "--- SKIP: "), strings.HasPrefix(line, "--- FAIL: "):
			f := strings.Fields(line[len("--- SKIP: "):])
			if len(f) == 0 || !strings.HasPrefix(f[0], "Benchmark") {
				continue
			}
			name, _ := splitProcs(f[0])
			out.Outcomes = append(out.Outcomes, Outcome{Name: name, Status: line[4:8], Reason: firstLog})
			if firstLog == "" {
				pending = &out.Outcomes[len(out.Outcomes)-1]
			}
			firstLog = ""
		case strings.HasPrefix(line, "--- "):
			firstLog = ""
		default:
			if m := configLine.FindStringSubmatch(line); m != nil {
				out.Config[m[1]] = m[2]
			}
		}
	}
	return out, sc.Err()
}

// parseResult parses "BenchmarkName-P N v1 u1 v2 u2…".
func parseResult(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n < 0 {
		return Result{}, false
	}
	res := Result{N: n}
	res.Name, res.Procs = splitProcs(f[0])
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics = append(res.Metrics, Metric{Value: v, Unit: f[i+1]})
	}
	return res, true
}

// splitProcs splits the -GOMAXPROCS suffix the testing package appends to
// a benchmark's name.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return name, 1
	}
	p, err := strconv.Atoi(name[i+1:])
	if err != nil || p <= 0 || strings.ContainsAny(name[i+1:], "+-") {
		return name, 1
	}
	return name[:i], p
}

// String formats r as a result line Parse reads back.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if r.Procs != 1 {
		b.WriteString("-" + strconv.Itoa(r.Procs))
	}
	b.WriteString("\t" + strconv.FormatInt(r.N, 10))
	for _, m := range r.Metrics {
		b.WriteString("\t" + strconv.FormatFloat(m.Value, 'g', -1, 64) + " " + m.Unit)
	}
	return b.String()
}
