package main

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const in = `goos: linux
goarch: amd64
pkg: github.com/agentscope/agentscope/bench
cpu: AMD EPYC
BenchmarkIngest/sqlite-2         	  200000	     20886 ns/op	     47878 events/s	    7310 B/op	      34 allocs/op
BenchmarkStatsByAgentModel/sqlite
    bench_test.go:105: loaded 1000000 events in 20000 sessions in 41.2s
BenchmarkLiveFanout200-2   	     500	         2.223 p50-ms	         6.827 p99-ms	  607030 B/op	    3956 allocs/op
--- SKIP: BenchmarkIngest/postgres-2
    pgtest.go:27: Postgres tests are off: set AGENTSCOPE_TEST_DATABASE_URL (make test does)
--- FAIL: BenchmarkDrain/sqlite/backlog=100-2
--- BENCH: BenchmarkQueue-2
    bench_test.go:9: note
BenchmarkVerbose
BenchmarkVerbose/pg
    pgtest.go:27: off here
    pgtest.go:28: second line
--- SKIP: BenchmarkVerbose/pg
--- FAIL: BenchmarkVerbose
BenchmarkOne	1	1.5e+09 ns/op
BenchmarkBroken-2 	 12 ns/op
PASS
pkg: github.com/agentscope/agentscope/web
BenchmarkReplayPage10k-2   	      15	  91231943 ns/op
ok  	github.com/agentscope/agentscope/web	2.101s
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Output{
		Results: []Result{
			{Pkg: "github.com/agentscope/agentscope/bench", Name: "BenchmarkIngest/sqlite", Procs: 2, N: 200000,
				Metrics: []Metric{{20886, "ns/op"}, {47878, "events/s"}, {7310, "B/op"}, {34, "allocs/op"}}},
			{Pkg: "github.com/agentscope/agentscope/bench", Name: "BenchmarkLiveFanout200", Procs: 2, N: 500,
				Metrics: []Metric{{2.223, "p50-ms"}, {6.827, "p99-ms"}, {607030, "B/op"}, {3956, "allocs/op"}}},
			{Pkg: "github.com/agentscope/agentscope/bench", Name: "BenchmarkOne", Procs: 1, N: 1, Metrics: []Metric{{1.5e9, "ns/op"}}},
			{Pkg: "github.com/agentscope/agentscope/web", Name: "BenchmarkReplayPage10k", Procs: 2, N: 15, Metrics: []Metric{{91231943, "ns/op"}}},
		},
		Outcomes: []Outcome{
			{Name: "BenchmarkIngest/postgres", Status: "SKIP", Reason: "Postgres tests are off: set AGENTSCOPE_TEST_DATABASE_URL (make test does)"},
			{Name: "BenchmarkDrain/sqlite/backlog=100", Status: "FAIL"},
			{Name: "BenchmarkVerbose/pg", Status: "SKIP", Reason: "off here"},
			{Name: "BenchmarkVerbose", Status: "FAIL"},
		},
		Config: map[string]string{"goos": "linux", "goarch": "amd64", "pkg": "github.com/agentscope/agentscope/web", "cpu": "AMD EPYC"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestSplitProcs(t *testing.T) {
	for _, tc := range []struct {
		in    string
		name  string
		procs int
	}{
		{"BenchmarkX-2", "BenchmarkX", 2},
		{"BenchmarkX/s-1-16", "BenchmarkX/s-1", 16},
		{"BenchmarkX", "BenchmarkX", 1},
		{"BenchmarkX-", "BenchmarkX-", 1},
		{"BenchmarkX-a", "BenchmarkX-a", 1},
		{"BenchmarkX-+2", "BenchmarkX-+2", 1},
		{"BenchmarkX-0", "BenchmarkX-0", 1},
		{"-2", "-2", 1},
	} {
		name, procs := splitProcs(tc.in)
		if name != tc.name || procs != tc.procs {
			t.Errorf("splitProcs(%q) = %q, %d; want %q, %d", tc.in, name, procs, tc.name, tc.procs)
		}
	}
}

// FuzzParse checks that Parse never fails on text and that every result
// it finds reads back the same from its String form.
func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("testdata/bench.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add("BenchmarkX-2 10 5 ns/op 3 x/s\n")
	f.Add("--- SKIP: BenchmarkY-4\n    y_test.go:3: why\n")
	f.Add("BenchmarkZ 1 NaN u\n")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Parse(strings.NewReader(in))
		if err != nil {
			return // a line longer than the scanner's buffer
		}
		for _, r := range out.Results {
			back, err := Parse(strings.NewReader(r.String()))
			if err != nil || len(back.Results) != 1 {
				t.Fatalf("%q reads back as %+v, %v", r.String(), back, err)
			}
			b := back.Results[0]
			b.Pkg = r.Pkg
			if !sameResult(r, b) {
				t.Fatalf("%q reads back as %+v, want %+v", r.String(), b, r)
			}
		}
	})
}

func sameResult(a, b Result) bool {
	if a.Pkg != b.Pkg || a.Name != b.Name || a.Procs != b.Procs || a.N != b.N || len(a.Metrics) != len(b.Metrics) {
		return false
	}
	for i := range a.Metrics {
		x, y := a.Metrics[i], b.Metrics[i]
		if x.Unit != y.Unit || (x.Value != y.Value && !(math.IsNaN(x.Value) && math.IsNaN(y.Value))) {
			return false
		}
	}
	return true
}
