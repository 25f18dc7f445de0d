package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Setting is how one benchmark is run.
type Setting struct {
	// Benchtime is -test.benchtime: a fixed count ("200000x") where the
	// figure is per event or compared with another benchmark's, so both
	// measure the same amount of work.
	Benchtime string
	// Env is added to the benchmark's environment.
	Env []string
}

// plan holds the settings of the benchmarks that need their own; the rest
// run with defaultSetting. Together they finish in about 15 minutes on a
// 2-core machine with Postgres; the SPL benchmarks load the target's
// 1,000,000 events once per store.
var plan = map[string]Setting{
	"BenchmarkIngest":            {Benchtime: "200000x"},
	"BenchmarkIngestRawFloor":    {Benchtime: "200000x"},
	"BenchmarkIngestForwarding":  {Benchtime: "200000x"},
	"BenchmarkMCPRecordEvent":    {Benchtime: "20000x"},
	"BenchmarkLiveLatency":       {Benchtime: "2000x"},
	"BenchmarkForward":           {Benchtime: "200000x"},
	"BenchmarkDrain":             {Benchtime: "1x", Env: []string{"AGENTSCOPE_BENCH_BACKLOG=1000000"}},
	"BenchmarkIngestWithOutbox":  {Benchtime: "200x"},
	"BenchmarkStatsByAgentModel": {Benchtime: "2x", Env: []string{"AGENTSCOPE_BENCH_EVENTS=1000000"}},
	"BenchmarkSessionTimeline":   {Benchtime: "10x", Env: []string{"AGENTSCOPE_BENCH_EVENTS=1000000"}},
	"BenchmarkRecordingOverhead": {Benchtime: "20000x"},
	"BenchmarkQueueThroughput":   {Benchtime: "200x"},
	"BenchmarkLiveFanout200":     {Benchtime: "500x"},
	"BenchmarkGateway":           {Benchtime: "5000x"},
}

var defaultSetting = Setting{Benchtime: "1s"}

// Run is one benchmark's run, for the report.
type Run struct {
	Pkg, Name string
	Setting
	Wall time.Duration
	// Load is the 1-minute load average when the run started.
	Load string
	// Err is set when the test binary could not be built or exited
	// non-zero (a benchmark failed).
	Err string
}

// runner runs the benchmarks of some packages one by one, each with its
// setting, and collects their output.
type runner struct {
	dir    string   // where test binaries are built
	env    []string // the benchmarks' environment, before their Env
	filter *regexp.Regexp
	log    io.Writer // progress and the output as it comes
}

// benchPackage is a package with benchmarks.
type benchPackage struct {
	path, dir string
}

// run builds and runs every benchmark in pkgs that the filter selects and
// returns the runs and their combined output.
func (r *runner) run(ctx context.Context, pkgs []string) ([]Run, []byte, error) {
	bps, err := benchPackages(ctx, pkgs)
	if err != nil {
		return nil, nil, err
	}
	var (
		runs []Run
		raw  bytes.Buffer
	)
	for i, p := range bps {
		bin := filepath.Join(r.dir, fmt.Sprintf("pkg%d.test", i))
		fmt.Fprintf(r.log, "benchreport: building %s\n", p.path)
		if out, err := exec.CommandContext(ctx, "go", "test", "-c", "-vet=off", "-o", bin, p.path).CombinedOutput(); err != nil {
			runs = append(runs, Run{Pkg: p.path, Name: "(build)", Err: fmt.Sprintf("go test -c: %v: %s", err, firstLines(string(out), 5))})
			continue
		}
		names, err := listBenchmarks(ctx, bin, p.dir)
		if err != nil {
			runs = append(runs, Run{Pkg: p.path, Name: "(list)", Err: err.Error()})
			continue
		}
		for _, name := range names {
			if !r.filter.MatchString(name) {
				continue
			}
			run := Run{Pkg: p.path, Name: name, Setting: settingOf(name)}
			fmt.Fprintf(r.log, "benchreport: %s %s (benchtime %s %s)\n", p.path, name, run.Benchtime, strings.Join(run.Env, " "))
			run.Load = loadAvg()
			start := time.Now()
			cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "^"+regexp.QuoteMeta(name)+"$",
				"-test.benchmem", "-test.v", "-test.count", "1", "-test.timeout", "30m", "-test.benchtime", run.Benchtime)
			cmd.Dir = p.dir
			cmd.Env = append(append([]string(nil), r.env...), run.Env...)
			cmd.Stdout = io.MultiWriter(&raw, r.log)
			cmd.Stderr = cmd.Stdout
			if err := cmd.Run(); err != nil {
				run.Err = err.Error()
			}
			run.Wall = time.Since(start)
			runs = append(runs, run)
			if ctx.Err() != nil {
				return runs, raw.Bytes(), ctx.Err()
			}
		}
	}
	return runs, raw.Bytes(), nil
}

func settingOf(name string) Setting {
	if s, ok := plan[name]; ok {
		return s
	}
	return defaultSetting
}

// benchPackages returns those of pkgs whose test files declare benchmarks:
// building the others' test binaries would only cost time.
func benchPackages(ctx context.Context, pkgs []string) ([]benchPackage, error) {
	args := append([]string{"list", "-e", "-f", `{{.ImportPath}}{{"\t"}}{{.Dir}}{{"\t"}}{{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}`}, pkgs...)
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", strings.Join(pkgs, " "), err)
	}
	var bps []benchPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) != 3 {
			continue
		}
		for _, file := range strings.Fields(f[2]) {
			b, err := os.ReadFile(filepath.Join(f[1], file))
			if err != nil {
				return nil, err
			}
			if bytes.Contains(b, []byte("\nfunc Benchmark")) {
				bps = append(bps, benchPackage{path: f[0], dir: f[1]})
				break
			}
		}
	}
	return bps, sc.Err()
}

// listBenchmarks returns the benchmarks a test binary holds.
func listBenchmarks(ctx context.Context, bin, dir string) ([]string, error) {
	cmd := exec.CommandContext(ctx, bin, "-test.list", "^Benchmark")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -test.list: %w", filepath.Base(bin), err)
	}
	var names []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "Benchmark") {
			names = append(names, f)
		}
	}
	return names, nil
}
