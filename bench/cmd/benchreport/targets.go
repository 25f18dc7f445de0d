package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Target is one benchmark target as an issue states it, and how this run's
// figures answer it.
type Target struct {
	Issue int
	// Text is the target exactly as the issue's Benchmarks section says it.
	Text   string
	Checks []Check
}

// Issue is an issue whose Benchmarks section states targets.
type Issue struct {
	Number int
	Title  string
}

// Row is one line of a target's table.
type Row struct {
	Bench, Measured, Target string
	Verdict                 Verdict
}

// Verdict says whether a figure meets its target.
type Verdict string

// The verdicts. Reported is a figure the target asks for without a bound.
const (
	Pass        Verdict = "PASS"
	Miss        Verdict = "MISS"
	Reported    Verdict = "reported"
	NotMeasured Verdict = "not measured"
)

// Figures are what the targets are judged on.
type Figures struct {
	Results  []Result
	Outcomes []Outcome
	RSS      RSS
	Runs     []Run // for the environment each benchmark ran with
}

// env returns the value of key in the environment of the run of the
// top-level benchmark name.
func (f Figures) env(name, key string) (string, bool) {
	for _, r := range f.Runs {
		if r.Name != name {
			continue
		}
		for _, kv := range r.Env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == key {
				return v, true
			}
		}
	}
	return "", false
}

// Check turns the figures into the rows answering (part of) a target.
type Check func(f Figures) []Row

// Issues are the issues with benchmark targets, in order.
var Issues = []Issue{
	{2, "Foundation: the canonical event log, the recorder, the MCP server"},
	{3, "Splunk bridge: HEC forwarding behind a durable outbox"},
	{4, "Embedded SPL engine"},
	{5, "Runtime: run queue, agent loop, costs and budgets"},
	{6, "Web UI"},
	{7, "Investigator and detectors"},
	{13, "MCP front door: every official client works, proven in CI, and `record_event` is 5× faster"},
	{18, "Zero-code capture: an LLM gateway, a transparent MCP proxy and OTLP ingest"},
}

const ms = 1e6 // ns

// Targets are the Benchmarks sections of issues 2–7, target by target.
var Targets = []Target{
	{2, "Batch ingest through the recorder into Postgres and into SQLite, events/s, beside the raw floor on the same machine in the same run (pgx `CopyFrom` of the same rows; one SQLite transaction of prepared inserts). Target: at least half of the raw floor.",
		[]Check{ratio(`^BenchmarkIngest/`, "BenchmarkIngest/", "BenchmarkIngestRawFloor/", "events/s", shareOf, atLeast(0.5), "the raw floor")}},
	{2, "`record_event` over MCP Streamable HTTP, one event per call, 32 concurrent clients, Postgres: calls/s and p50/p99 latency. Target: ≥ 5,000 calls/s, p99 ≤ 20 ms.",
		[]Check{
			// The target names Postgres; SQLite's figures are reported.
			threshold(`^BenchmarkMCPRecordEvent/postgres$`, "calls/s", atLeast(5000)),
			threshold(`^BenchmarkMCPRecordEvent/`, "p50_ms", none),
			threshold(`^BenchmarkMCPRecordEvent/postgres$`, "p99_ms", atMost(20)),
			threshold(`^BenchmarkMCPRecordEvent/sqlite$`, "calls/s", none),
			threshold(`^BenchmarkMCPRecordEvent/sqlite$`, "p99_ms", none),
		}},
	{2, "Replay of a 10,000-event session: ≤ 50 ms.",
		[]Check{threshold(`^BenchmarkReplay10k/`, "ns/op", atMost(50*ms))}},
	{2, "Commit-to-websocket latency for a live subscriber: p99 ≤ 25 ms.",
		[]Check{threshold(`^BenchmarkLiveLatency/`, "p99_ms", atMost(25))}},
	{2, "Resident memory of an idle `agentscope serve`: ≤ 60 MB.",
		[]Check{rssAtMost(60e6)}},

	{3, "Forwarding throughput to a local HEC test server, events/s on this machine: target ≥ 50,000/s sustained; time to drain a 1,000,000-event backlog.",
		[]Check{
			threshold(`^BenchmarkForward/`, "events/s", atLeast(50000)),
			threshold(`^BenchmarkDrain/`, "ns/op", none),
			threshold(`^BenchmarkDrain/`, "events/s", atLeast(50000)),
		}},
	{3, "Overhead that forwarding adds to ingest throughput: ≤ 10%.",
		[]Check{
			ratio(`^BenchmarkIngestWithOutbox/.*/outbox=true$`, "outbox=true", "outbox=false", "events/s", overhead, atMost(0.10), "outbox=false"),
			ratio(`^BenchmarkIngestForwarding/.*/forwarding=true$`, "forwarding=true", "forwarding=false", "events/s", overhead, atMost(0.10), "forwarding=false"),
		}},

	{4, "1,000,000 events: `sourcetype=\"agentscope:events\" type=ModelCompleted | stats count avg(duration_ms) perc95(duration_ms) by agent, model` — target ≤ 1 s on SQLite and on Postgres, and within 2× of a hand-written SQL aggregate computing the same table on the same store (measured side by side in the same run). Peak memory of the query reported.",
		[]Check{
			atScale(1_000_000, true, threshold(`^BenchmarkStatsByAgentModel/.*/spl$`, "ns/op", atMost(1000*ms))),
			atScale(1_000_000, false, ratio(`^BenchmarkStatsByAgentModel/.*/spl$`, "/spl", "/sql", "ns/op", multipleOf, atMost(2), "the SQL aggregate")),
			atScale(1_000_000, false, threshold(`^BenchmarkStatsByAgentModel/`, "peak-heap-MiB", none)),
		}},
	{4, "A single-session timeline query (`session_id=… | table _time type tool duration_ms`) on a 1,000,000-event store: ≤ 20 ms.",
		[]Check{atScale(1_000_000, true, threshold(`^BenchmarkSessionTimeline/`, "ns/op", atMost(20*ms)))}},

	{5, "Queue throughput with a zero-latency scripted model: runs/s from `start_run` to `completed` on SQLite and Postgres.",
		[]Check{threshold(`^BenchmarkQueueThroughput/`, "runs/s", none)}},
	{5, "Recording overhead per model call and per tool call beyond the call itself: target ≤ 100 µs at p50.",
		[]Check{
			threshold(`^BenchmarkRecordingOverhead/`, "model-call-p50-µs", atMost(100)),
			threshold(`^BenchmarkRecordingOverhead/`, "tool-call-p50-µs", atMost(100)),
		}},

	{6, "Server time to render the replay page of a 10,000-event session: ≤ 100 ms.",
		[]Check{threshold(`^BenchmarkReplayPage10k$`, "ns/op", atMost(100*ms))}},
	{6, "200 concurrent websocket subscribers on one session: commit-to-delivery p99 ≤ 50 ms.",
		[]Check{threshold(`^BenchmarkLiveFanout200$`, "p99-ms", atMost(50))}},

	{7, "Detectors over a 10,000-event session: ≤ 20 ms.",
		[]Check{threshold(`^BenchmarkDetectors10k$`, "ns/op", atMost(20*ms))}},
	// The commit path pays BenchmarkObserveBatch (a mean, so reported
	// only); the detectors' work per batch runs beside it, and
	// BenchmarkLiveObserve measures its p99.
	{7, "Live detection on a running session adds ≤ 1 ms p99 per committed batch.",
		[]Check{
			threshold(`^BenchmarkLiveObserve$`, "p99-ns/batch", atMost(1*ms)),
			threshold(`^BenchmarkObserveBatch$`, "ns/op", none),
		}},
	{7, "Investigation wall time with a zero-latency scripted model, excluding the model: ≤ 300 ms on the embedded default.",
		[]Check{threshold(`^BenchmarkInvestigation$`, "ns/op", atMost(300*ms))}},
}

// The end-to-end targets of issue 13, measured against a real `agentscope
// serve` by bench/cmd/loadgen (see serve.go).
func init() {
	Targets = append(Targets,
		Target{13, "`record_event` at ≥ 5,000 calls/s with p99 ≤ 20 ms on Postgres, 32 clients, one event per call over Streamable HTTP, and ≤ 150 µs of server CPU per call, beside a transport floor in the same run (a do-nothing `net/http` server answering the same POSTs with a fixed JSON-RPC result, driven by the same lean client): ≥ 0.25× the floor. Reported on both stores.",
			[]Check{
				threshold(`^BenchmarkServeRecordEvent/postgres$`, "calls/s", atLeast(5000)),
				threshold(`^BenchmarkServeRecordEvent/postgres$`, "p50_ms", none),
				threshold(`^BenchmarkServeRecordEvent/postgres$`, "p99_ms", atMost(20)),
				threshold(`^BenchmarkServeRecordEvent/postgres$`, "server-cpu-µs/call", atMost(150)),
				ratio(`^BenchmarkServeRecordEvent/postgres$`, "/postgres", "/floor", "calls/s", multipleOf, atLeast(0.25), "the transport floor"),
				threshold(`^BenchmarkServeRecordEvent/(sqlite|floor)$`, "calls/s", none),
				threshold(`^BenchmarkServeRecordEvent/(sqlite|floor)$`, "p99_ms", none),
				threshold(`^BenchmarkServeRecordEvent/(sqlite|floor)$`, "server-cpu-µs/call", none),
				ratio(`^BenchmarkServeRecordEvent/sqlite$`, "/sqlite", "/floor", "calls/s", multipleOf, none, "the transport floor"),
			}},
		Target{13, "Batch ingest over `POST /api/v1/events` into Postgres ≥ 0.6× the raw COPY floor of the same run (copy-floor: in each round, the fastest of three raw COPYs of the burst's rows: copy-arrival, all of them in the order the writers deliver them on one connection; copy-parallel, each writer's in seq order on a connection per core, at once; copy-one-session, as many events of one session), ≤ 10 µs server CPU per event. With HEC forwarding on (against a local HEC test server) ≥ 0.8× of forwarding off, every event of a burst delivered to HEC within 2 s of the burst's end. SQLite must not get slower (reported).",
			[]Check{
				ratio(`^BenchmarkServeIngest/postgres/forwarding=false$`, "forwarding=false", "copy-floor", "events/s", multipleOf, atLeast(0.6), "the COPY floor"),
				threshold(`^BenchmarkServeIngest/postgres/forwarding=false$`, "server-cpu-µs/event", atMost(10)),
				ratio(`^BenchmarkServeIngest/.*/forwarding=true$`, "forwarding=true", "forwarding=false", "events/s", pairedMultipleOf, atLeast(0.8), "forwarding off"),
				threshold(`^BenchmarkServeIngest/.*/forwarding=true$`, "delivery-lag-ms", atMost(2000)),
				threshold(`^BenchmarkServeIngest/(postgres/forwarding=true|sqlite/.*)$`, "server-cpu-µs/event", none),
				threshold(`^BenchmarkServeIngest/(postgres/copy-.*|sqlite/.*)$`, "events/s", none),
			}},
	)
}

// The gateway's targets (issue 18), from BenchmarkGateway: one run
// measures the added latency and the throughput.
func init() {
	Targets = append(Targets,
		Target{18, "Gateway added latency p50/p99 against direct calls to the same upstream, and requests/s, in one run (overhead target: added latency p50 ≤ 1 ms and p99 ≤ 5 ms, ≥ 2,000 non-streaming requests/s through the gateway).",
			[]Check{
				threshold(`^BenchmarkGateway/`, "added-p50_ms", atMost(1)),
				threshold(`^BenchmarkGateway/`, "added-p99_ms", atMost(5)),
				threshold(`^BenchmarkGateway/`, "calls/s", atLeast(2000)),
				threshold(`^BenchmarkGateway/`, "dropped", none),
			}},
	)
}

// Rows answers t from f; a target no check answers is one not measured.
func (t Target) Rows(f Figures) []Row {
	var rows []Row
	for _, c := range t.Checks {
		rows = append(rows, c(f)...)
	}
	if len(rows) == 0 {
		rows = []Row{{Bench: "—", Measured: "no benchmark measures this yet", Target: "—", Verdict: NotMeasured}}
	}
	return rows
}

// eventsEnv sets the dataset size of the SPL benchmarks.
const eventsEnv = "AGENTSCOPE_BENCH_EVENTS"

// atScale qualifies c's rows for benchmarks that ran on fewer events than
// the target's want (AGENTSCOPE_BENCH_EVENTS, which the plan sets: a full
// run at the target's size takes longer than `make bench` may). When
// slower grows with the store, a miss on fewer events is a miss at full
// size too; any other verdict does not carry over and becomes not measured.
func atScale(want int, slower bool, c Check) Check {
	return func(f Figures) []Row {
		rows := c(f)
		for i, row := range rows {
			if row.Verdict == NotMeasured {
				continue
			}
			top, _, _ := strings.Cut(row.Bench, "/")
			v, ok := f.env(top, eventsEnv)
			n, err := strconv.Atoi(v)
			switch {
			case ok && err == nil && n == want:
				continue
			case !ok || err != nil:
				rows[i].Measured += " (dataset size unknown: " + eventsEnv + " not set)"
			default:
				rows[i].Measured += fmt.Sprintf(" at %s events, not %s", sig3(float64(n)), sig3(float64(want)))
			}
			switch {
			case row.Verdict == Miss && slower && ok && err == nil && n < want:
				rows[i].Measured += " (a bigger store is only slower)"
			case row.Verdict != Reported:
				rows[i].Verdict = NotMeasured
			}
		}
		return rows
	}
}

// bound is a target's limit on a figure; the zero bound sets none.
type bound struct {
	op    string // "≤", "≥" or "" for none
	limit float64
}

var none bound

func atMost(v float64) bound  { return bound{"≤", v} }
func atLeast(v float64) bound { return bound{"≥", v} }

func (b bound) judge(v float64) Verdict {
	switch {
	case b.op == "":
		return Reported
	case b.op == "≤" && v <= b.limit, b.op == "≥" && v >= b.limit:
		return Pass
	}
	return Miss
}

// describe renders the bound with format, or "—" without one.
func (b bound) describe(format func(float64) string) string {
	if b.op == "" {
		return "—"
	}
	return b.op + " " + format(b.limit)
}

// threshold checks unit of every result named by pattern against b.
func threshold(pattern, unit string, b bound) Check {
	re := regexp.MustCompile(pattern)
	return func(f Figures) []Row {
		var rows []Row
		for _, r := range f.Results {
			if !re.MatchString(r.Name) {
				continue
			}
			v, ok := r.Value(unit)
			if !ok {
				rows = append(rows, Row{r.Name, "no " + unit + " reported", b.describe(unitFormat(unit)), NotMeasured})
				continue
			}
			rows = append(rows, Row{r.Name, formatValue(v, unit), b.describe(unitFormat(unit)), b.judge(v)})
		}
		return withOutcomes(rows, f, re, unit)
	}
}

// ratioKind says how a ratio of a figure to its base is read.
type ratioKind int

const (
	shareOf    ratioKind = iota // v/base as a percentage of the base
	overhead                    // 1 - v/base as a percentage: what the base loses
	multipleOf                  // v/base as a multiple of the base
	// pairedMultipleOf is multipleOf judged on the median of each round's
	// own ratio, which the end-to-end benchmarks report as
	// pairedRatioUnit: the two run back to back in every round, so the
	// machine's drift from round to round, up to a third here, cancels
	// out of each ratio rather than into a ratio of medians taken from
	// different rounds. The medians of unit stand beside it.
	pairedMultipleOf
)

// ratio compares unit of every result named by pattern with the result
// whose name has from replaced by to, measured in the same run, and
// judges the ratio (read as kind) against b.
func ratio(pattern, from, to, unit string, kind ratioKind, b bound, baseLabel string) Check {
	re := regexp.MustCompile(pattern)
	return func(f Figures) []Row {
		var rows []Row
		for _, r := range f.Results {
			if !re.MatchString(r.Name) {
				continue
			}
			baseName := strings.Replace(r.Name, from, to, 1)
			bench := r.Name + " vs " + baseName
			baseResult, _ := find(f.Results, baseName)
			v, ok1 := r.Value(unit)
			base, ok2 := baseResult.Value(unit)
			if !ok1 || !ok2 || base == 0 {
				rows = append(rows, Row{bench, fmt.Sprintf("no %s for both in this run", unit), "—", NotMeasured})
				continue
			}
			x := v / base
			if kind == pairedMultipleOf {
				if x, ok1 = r.Value(pairedRatioUnit); !ok1 {
					rows = append(rows, Row{bench, fmt.Sprintf("no %s of both in the same rounds", unit), "—", NotMeasured})
					continue
				}
			}
			var measured, target string
			switch kind {
			case shareOf:
				measured = fmt.Sprintf("%s vs %s: %s of %s", formatValue(v, unit), formatValue(base, unit), percent(x), baseLabel)
				target = b.describe(percent) + " of " + baseLabel
			case overhead:
				x = 1 - x
				measured = fmt.Sprintf("%s vs %s: overhead %s", formatValue(v, unit), formatValue(base, unit), percent(x))
				target = "overhead " + b.describe(percent)
			case multipleOf:
				measured = fmt.Sprintf("%s vs %s: %s× %s", formatValue(v, unit), formatValue(base, unit), sig3(x), baseLabel)
				target = b.describe(func(l float64) string { return sig3(l) + "×" }) + " " + baseLabel
			case pairedMultipleOf:
				measured = fmt.Sprintf("%s× %s, the median of each round's ratio (medians %s vs %s)", sig3(x), baseLabel, formatValue(v, unit), formatValue(base, unit))
				target = b.describe(func(l float64) string { return sig3(l) + "×" }) + " " + baseLabel
			}
			rows = append(rows, Row{bench, measured, target, b.judge(x)})
		}
		return withOutcomes(rows, f, re, unit)
	}
}

// rssAtMost checks the idle resident memory of `agentscope serve` against
// limit bytes.
func rssAtMost(limit float64) Check {
	return func(f Figures) []Row {
		bench := "`agentscope serve` idle (" + f.RSS.Setup + ")"
		b := atMost(limit)
		target := b.describe(megabytes)
		if f.RSS.Err != "" {
			return []Row{{bench, f.RSS.Err, target, NotMeasured}}
		}
		v := float64(f.RSS.KB) * 1024
		return []Row{{bench, fmt.Sprintf("%s (VmRSS %s kB)", megabytes(v), sig3(float64(f.RSS.KB))), target, b.judge(v)}}
	}
}

func megabytes(b float64) string { return sig3(b/1e6) + " MB" }

// withOutcomes adds to rows the benchmarks named by re that skipped or
// failed, with why, and says so when nothing by that name ran at all.
func withOutcomes(rows []Row, f Figures, re *regexp.Regexp, unit string) []Row {
	for _, o := range f.Outcomes {
		if !re.MatchString(o.Name) && !re.MatchString(o.Name+"/") {
			continue
		}
		if _, ran := find(f.Results, o.Name); ran {
			continue
		}
		why := strings.ToLower(o.Status)
		if o.Reason != "" {
			why += ": " + o.Reason
		}
		rows = append(rows, Row{o.Name, why, "—", NotMeasured})
	}
	if len(rows) == 0 {
		rows = []Row{{"`" + re.String() + "`", "no such benchmark ran (" + unit + ")", "—", NotMeasured}}
	}
	return rows
}

func find(rs []Result, name string) (Result, bool) {
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return Result{}, false
}

// unitFormat returns the formatter of a unit's values.
func unitFormat(unit string) func(float64) string {
	return func(v float64) string { return formatValue(v, unit) }
}
