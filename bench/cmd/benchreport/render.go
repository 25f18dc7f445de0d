package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Report is everything BENCHMARKS.md shows.
type Report struct {
	Date    time.Time
	Wall    time.Duration // of the whole run
	Machine Machine
	Figures Figures // with the runs
	Raw     []byte  // the benchmarks' output
	// ServeRounds is how many interleaved rounds each end-to-end benchmark
	// ran; its figures are their medians.
	ServeRounds int
}

// modulePrefix is trimmed from package paths in tables.
const modulePrefix = "github.com/agentscope/agentscope/"

// Markdown renders the report.
func (r Report) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Benchmarks\n\n")
	p("Written by `make bench` (`go run ./bench/cmd/benchreport`) on %s; the run took %s. ", r.Date.UTC().Format("2006-01-02 15:04 MST"), r.Wall.Round(time.Second))
	p("Each figure is one run of one benchmark (`-count 1`), so read a few percent either way as noise; every comparison below is between figures of this same run. ")
	if r.ServeRounds > 1 {
		p("The end-to-end benchmarks against `agentscope serve` (`BenchmarkServe*`) run %d rounds, their variants interleaved (the floor, then each store, then again), and each of their figures is the median of its rounds: on this machine one run of the same binary varies by up to a third. A ratio of two of their variants that run back to back in each round (forwarding on to forwarding off) is the median of each round's own ratio, so that drift between rounds cancels out of it. ", r.ServeRounds)
	}
	p("The targets are quoted from the issues' Benchmarks sections.\n\n")

	m := r.Machine
	p("## Machine\n\n| | |\n|---|---|\n")
	for _, row := range [][2]string{
		{"CPU", m.CPU},
		{"Cores", fmt.Sprint(m.Cores)},
		{"Memory", m.Memory},
		{"OS", m.OS + ", " + m.Kernel},
		{"Go", m.Go},
		{"Postgres", m.Postgres},
		{"SQLite driver", m.SQLite},
		{"Commit", m.Commit},
		{"Load average (1 min)", m.LoadBefore + " before the run, " + m.LoadAfter + " after"},
	} {
		p("| %s | %s |\n", row[0], cell(row[1]))
	}

	p("\n## Targets\n\n")
	counts := map[Verdict]int{}
	var sections bytes.Buffer
	for _, is := range Issues {
		fmt.Fprintf(&sections, "### Issue %d — %s\n\n", is.Number, is.Title)
		for _, t := range Targets {
			if t.Issue != is.Number {
				continue
			}
			fmt.Fprintf(&sections, "> %s\n\n| Benchmark | Measured | Target | Result |\n|---|---|---|---|\n", t.Text)
			for _, row := range t.Rows(r.Figures) {
				counts[row.Verdict]++
				verdict := string(row.Verdict)
				if row.Verdict == Pass || row.Verdict == Miss {
					verdict = "**" + verdict + "**"
				}
				fmt.Fprintf(&sections, "| %s | %s | %s | %s |\n", cell(row.Bench), cell(row.Measured), cell(row.Target), verdict)
			}
			sections.WriteString("\n")
		}
	}
	p("Over the rows below: %d PASS, %d MISS, %d not measured, %d reported without a bound.\n\n", counts[Pass], counts[Miss], counts[NotMeasured], counts[Reported])
	b.Write(sections.Bytes())

	p("## All figures\n\n| Benchmark | Package | Iterations | Time/op | Memory/op | Allocs/op | Reported metrics |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, res := range r.Figures.Results {
		var time, mem, allocs string
		var custom []string
		for _, mt := range res.Metrics {
			switch mt.Unit {
			case "ns/op":
				time = formatValue(mt.Value, mt.Unit)
			case "B/op":
				mem = formatValue(mt.Value, mt.Unit)
			case "allocs/op":
				allocs = sig3(mt.Value)
			default:
				custom = append(custom, formatValue(mt.Value, mt.Unit))
			}
		}
		p("| %s | %s | %d | %s | %s | %s | %s |\n", cell(res.Name), cell(strings.TrimPrefix(res.Pkg, modulePrefix)), res.N, time, mem, allocs, cell(strings.Join(custom, " · ")))
	}

	var problems []string
	for _, o := range r.Figures.Outcomes {
		s := fmt.Sprintf("%s: %s", o.Name, strings.ToLower(o.Status))
		if o.Reason != "" {
			s += " — " + o.Reason
		}
		problems = append(problems, s)
	}
	for _, run := range r.Figures.Runs {
		if run.Err != "" {
			problems = append(problems, fmt.Sprintf("%s %s: %s", strings.TrimPrefix(run.Pkg, modulePrefix), run.Name, run.Err))
		}
	}
	if len(problems) > 0 {
		p("\n## Skipped or failed\n\n")
		for _, s := range problems {
			p("- %s\n", s)
		}
	}

	p("\n## How it was run\n\n")
	p("Each package's test binary is built once (`go test -c`), then each benchmark runs alone: `-test.run '^$' -test.bench '^Name$' -test.benchmem -test.v -test.count 1 -test.benchtime …`, ")
	p("with `AGENTSCOPE_TEST_DATABASE_URL` passed through so the Postgres variants run (each in its own schema). ")
	p("A fixed iteration count (`200000x`) is used where a figure is per event or is compared with another benchmark, so both do the same work. ")
	p("The idle memory is VmRSS from `/proc/<pid>/status` of `agentscope serve`, built from `./cmd/agentscope` and started on a free port with a fresh `--data-dir` and no `AGENTSCOPE_*` settings, read after `/healthz` answers and the process has idled.\n\n")
	p("| Benchmark | Package | Benchtime | Environment | Load at start | Wall time |\n|---|---|---|---|---:|---:|\n")
	for _, run := range r.Figures.Runs {
		env := strings.Join(run.Env, " ")
		if env != "" {
			env = "`" + env + "`"
		}
		p("| %s | %s | %s | %s | %s | %s |\n", cell(run.Name), cell(strings.TrimPrefix(run.Pkg, modulePrefix)), run.Benchtime, env, run.Load, run.Wall.Round(100*time.Millisecond))
	}

	p("\n## Raw output\n\nThe benchmarks' own output, for `benchstat`:\n\n<details><summary>go test output</summary>\n\n```\n")
	b.Write(bytes.TrimRight(r.Raw, "\n"))
	p("\n```\n\n</details>\n")
	return b.Bytes()
}

// cell escapes s for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
