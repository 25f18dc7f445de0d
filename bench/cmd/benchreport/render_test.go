package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/BENCHMARKS.golden.md")

// TestMarkdown renders the report of a fixed benchmark output and compares
// it with testdata/BENCHMARKS.golden.md (go test -update rewrites it).
func TestMarkdown(t *testing.T) {
	raw, err := os.ReadFile("testdata/bench.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	r := Report{
		Date: time.Date(2026, 11, 24, 19, 30, 0, 0, time.UTC),
		Wall: 14*time.Minute + 3*time.Second,
		Machine: Machine{
			CPU: "AMD EPYC", Cores: 2, Memory: "23.5 GiB", OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "Linux 6.18.44",
			Go: "go1.26.8", Postgres: "PostgreSQL 15.20", SQLite: "modernc.org/sqlite v1.62.0", Commit: "9c3c8b1",
			LoadBefore: "0.12", LoadAfter: "2.50",
		},
		Figures: Figures{Runs: []Run{
			{Pkg: "github.com/agentscope/agentscope/bench", Name: "BenchmarkIngest", Setting: settingOf("BenchmarkIngest"), Wall: 7100 * time.Millisecond, Load: "0.12"},
			{Pkg: "github.com/agentscope/agentscope/bench", Name: "BenchmarkLiveLatency", Setting: settingOf("BenchmarkLiveLatency"), Wall: 5 * time.Second, Err: "exit status 1"},
			{Pkg: "github.com/agentscope/agentscope/splunkbridge", Name: "BenchmarkDrain", Setting: settingOf("BenchmarkDrain"), Wall: 66 * time.Second},
			{Pkg: "github.com/agentscope/agentscope/web", Name: "BenchmarkReplayPage10k", Setting: settingOf("BenchmarkReplayPage10k"), Wall: 2 * time.Second},
			{Pkg: "github.com/agentscope/agentscope/splunkbridge/spl", Name: "BenchmarkStatsByAgentModel", Setting: Setting{Benchtime: "3x", Env: []string{"AGENTSCOPE_BENCH_EVENTS=100000"}}, Wall: 40 * time.Second},
		}, Results: out.Results, Outcomes: out.Outcomes, RSS: RSS{KB: 41234, Setup: "SQLite, 5s idle"}},
		Raw: raw,
	}
	got := r.Markdown()
	const golden = "testdata/BENCHMARKS.golden.md"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Markdown differs from %s (go test -update rewrites it); got:\n%s", golden, got)
	}
}

func TestRSSNotMeasured(t *testing.T) {
	rows := rssAtMost(60e6)(Figures{RSS: RSS{Setup: "SQLite, 5s idle", Err: "build ./cmd/agentscope: exit status 1"}})
	if len(rows) != 1 || rows[0].Verdict != NotMeasured || rows[0].Measured != "build ./cmd/agentscope: exit status 1" {
		t.Errorf("rows = %+v", rows)
	}
}

func TestSig3(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.009, "0.009"}, {0.18300, "0.183"}, {2.925, "2.92"}, {22.44, "22.4"}, {117.4, "117"},
		{47878, "47,878"}, {1234567.8, "1,234,568"}, {-1500, "-1,500"}, {999.7, "1,000"},
	} {
		if got := sig3(tc.v); got != tc.want {
			t.Errorf("sig3(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
