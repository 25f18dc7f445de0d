// Command benchreport runs AgentScope's benchmarks and writes BENCHMARKS.md:
// the machine, every benchmark's figures, the idle memory of `agentscope
// serve`, and each target from the issues' Benchmarks sections with PASS or
// MISS, judged on figures from the same run (ingest beside its raw floor,
// SPL beside hand-written SQL). `make bench` runs it:
//
//	go run ./bench/cmd/benchreport -o BENCHMARKS.md [packages]
//
// The packages default to ./..., of which only those whose tests declare
// benchmarks are built and run. Postgres variants run
// when AGENTSCOPE_TEST_DATABASE_URL names a server that answers; one that
// does not is left out (and fails the run with
// AGENTSCOPE_TEST_POSTGRES=required).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// defaultPackages is every package: a new benchmark is measured without
// anyone listing it here.
var defaultPackages = []string{"./..."}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// pgURLIf returns url when Postgres answered, else "".
func pgURLIf(ok bool, url string) string {
	if ok {
		return url
	}
	return ""
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "BENCHMARKS.md", "write the report to `file`")
	bench := fs.String("bench", ".", "run only the benchmarks whose top-level name matches `regexp`")
	idle := fs.Duration("idle", 5*time.Second, "how long `agentscope serve` idles before its memory is read")
	rss := fs.Bool("rss", true, "measure the idle memory of `agentscope serve`")
	serve := fs.Bool("serve", true, "run the end-to-end benchmarks against `agentscope serve` (BenchmarkServe*)")
	var scale serveScale
	fs.IntVar(&scale.Calls, "serve-calls", 40000, "record_event calls of BenchmarkServeRecordEvent, all clients together")
	fs.IntVar(&scale.Clients, "serve-clients", 32, "concurrent MCP clients of BenchmarkServeRecordEvent")
	fs.IntVar(&scale.Events, "serve-events", 200000, "events per burst of BenchmarkServeIngest")
	fs.IntVar(&scale.Writers, "serve-writers", 8, "concurrent writers of BenchmarkServeIngest")
	fs.IntVar(&scale.Batch, "serve-batch", 500, "events per POST of BenchmarkServeIngest")
	fs.IntVar(&scale.Rounds, "serve-rounds", 5, "interleaved rounds of each end-to-end benchmark; each figure is the median of its rounds")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: benchreport [flags] [packages]\n\nRuns the benchmarks of packages (default %s) and writes a Markdown report.\n\n", strings.Join(defaultPackages, " "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	filter, err := regexp.Compile(*bench)
	if err != nil {
		return fmt.Errorf("-bench: %w", err)
	}
	pkgs := fs.Args()
	if len(pkgs) == 0 {
		pkgs = defaultPackages
	}
	tmp, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	pgURL := os.Getenv("AGENTSCOPE_TEST_DATABASE_URL")
	env := os.Environ()
	pgVersion, pgOK := postgresVersion(ctx, pgURL)
	machine := readMachine(ctx, pgVersion)
	if !pgOK && pgURL != "" {
		if os.Getenv("AGENTSCOPE_TEST_POSTGRES") == "required" {
			return fmt.Errorf("AGENTSCOPE_TEST_POSTGRES=required, but Postgres is %s", machine.Postgres)
		}
		fmt.Fprintf(stderr, "benchreport: Postgres is %s; running SQLite only\n", machine.Postgres)
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "AGENTSCOPE_TEST_DATABASE_URL=") })
	}

	report := Report{Date: start, Machine: machine, ServeRounds: scale.Rounds}
	if *rss {
		fmt.Fprintf(stderr, "benchreport: measuring the idle memory of agentscope serve\n")
		report.Figures.RSS = measureIdleRSS(ctx, tmp, *idle)
	} else {
		report.Figures.RSS = RSS{Err: "not measured (-rss=false)"}
	}
	r := &runner{dir: tmp, env: env, filter: filter, log: stderr}
	runs, raw, runErr := r.run(ctx, pkgs)
	if *serve && runErr == nil {
		sb := &serveBench{dir: tmp, pgURL: pgURLIf(pgOK, pgURL), scale: scale, log: stderr}
		sruns, sraw := sb.run(ctx, filter.MatchString)
		sb.dropDatabases()
		runs, raw = append(runs, sruns...), append(raw, sraw...)
	}
	report.Figures.Runs, report.Raw = runs, raw
	parsed, err := Parse(strings.NewReader(string(raw)))
	if err != nil {
		return fmt.Errorf("parse the benchmarks' output: %w", err)
	}
	report.Figures.Results, report.Figures.Outcomes = parsed.Results, parsed.Outcomes
	report.Machine.LoadAfter = loadAvg()
	report.Wall = time.Since(start)

	if err := os.WriteFile(*out, report.Markdown(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "benchreport: wrote %s in %v\n", *out, report.Wall.Round(time.Second))
	if runErr != nil {
		return runErr
	}
	var failed []string
	for _, run := range runs {
		if run.Err != "" {
			failed = append(failed, run.Name)
		}
	}
	if len(failed) > 0 {
		return errors.New("these failed (see " + *out + "): " + strings.Join(failed, ", "))
	}
	return nil
}
