package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

// The end-to-end benchmarks run a real `agentscope serve` in its own
// process, driven by the lean load client bench/cmd/loadgen in another,
// and read the server's process CPU time; each figure stands beside a floor
// measured in the same run: a do-nothing HTTP server answering the same
// POSTs (record_event) and a raw COPY of the same rows (batch ingest).
const (
	serveRecordBench = "BenchmarkServeRecordEvent"
	serveIngestBench = "BenchmarkServeIngest"
	servePkg         = modulePrefix + "bench/cmd/loadgen"
	serveToken       = "bench-serve-token-0123456789"
	serveHECToken    = "bench-serve-hec-0123456789"
)

// serveScale is how much work the end-to-end benchmarks do.
type serveScale struct {
	Calls   int // record_event calls, all clients together
	Clients int
	Events  int // events per ingest burst
	Writers int
	Batch   int
	// Rounds is how many times each end-to-end benchmark runs, its
	// variants interleaved (floor, SQLite, Postgres, then again); each
	// figure reported is the median of its rounds.
	Rounds int
}

// serveBench runs the end-to-end benchmarks the filter selects.
type serveBench struct {
	dir, pgURL string
	scale      serveScale
	log        io.Writer
	out        bytes.Buffer // benchmark-format lines, as go test prints them
	runs       []Run
	agentscope string
	loadgen    string
	dbs        int
	rounds     map[string][]round // each variant's rounds, by name
	order      []string           // the variants, in the order first run
	failed     map[string]bool
}

// round is one run of one variant.
type round struct {
	n       int
	seconds float64
	metrics []Metric
}

func (sb *serveBench) run(ctx context.Context, filter func(string) bool) ([]Run, []byte) {
	fmt.Fprintf(&sb.out, "pkg: %s\n", servePkg)
	sb.agentscope, sb.loadgen = filepath.Join(sb.dir, "agentscope-serve"), filepath.Join(sb.dir, "loadgen")
	for bin, pkg := range map[string]string{sb.agentscope: "./cmd/agentscope", sb.loadgen: "./bench/cmd/loadgen"} {
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			sb.runs = append(sb.runs, Run{Pkg: servePkg, Name: "(build)", Err: fmt.Sprintf("go build %s: %v: %s", pkg, err, firstLines(string(out), 5))})
			return sb.runs, sb.out.Bytes()
		}
	}
	rounds := max(sb.scale.Rounds, 1)
	if filter(serveRecordBench) {
		sb.timed(serveRecordBench, fmt.Sprintf("%dx", sb.scale.Calls), func() {
			for range rounds {
				sb.recordEvent(ctx, "floor")
				sb.recordEvent(ctx, "sqlite")
				sb.recordEvent(ctx, "postgres")
			}
			sb.medians()
		})
	}
	if filter(serveIngestBench) {
		sb.timed(serveIngestBench, fmt.Sprintf("%dx", sb.scale.Events), func() {
			for range rounds {
				sb.copyFloor(ctx)
				for _, store := range []string{"postgres", "sqlite"} {
					for _, fwd := range []bool{false, true} {
						sb.ingest(ctx, store, fwd)
					}
				}
			}
			sb.medians()
		})
	}
	return sb.runs, sb.out.Bytes()
}

// collect keeps one round's figures of the variant name.
func (sb *serveBench) collect(name string, n int, seconds float64, metrics ...Metric) {
	if sb.rounds == nil {
		sb.rounds = map[string][]round{}
	}
	if _, ok := sb.rounds[name]; !ok {
		sb.order = append(sb.order, name)
	}
	sb.rounds[name] = append(sb.rounds[name], round{n, seconds, metrics})
	fmt.Fprintf(sb.log, "benchreport: %s round %d: %.0f %s\n", name, len(sb.rounds[name]), metrics[0].Value, metrics[0].Unit)
}

// medians prints, for each variant collected since the last call that did
// not fail in any round, the median of its rounds' figures, each figure on
// its own.
func (sb *serveBench) medians() {
	for _, name := range sb.order {
		rs := sb.rounds[name]
		if sb.failed[name] || len(rs) == 0 {
			continue
		}
		seconds := make([]float64, len(rs))
		for i, r := range rs {
			seconds[i] = r.seconds
		}
		metrics := make([]Metric, len(rs[0].metrics))
		for j, m := range rs[0].metrics {
			values := make([]float64, 0, len(rs))
			for _, r := range rs {
				if j < len(r.metrics) && r.metrics[j].Unit == m.Unit {
					values = append(values, r.metrics[j].Value)
				}
			}
			metrics[j] = Metric{median(values), m.Unit}
		}
		sb.result(name, rs[0].n, median(seconds), metrics...)
	}
	sb.rounds, sb.order = nil, nil
}

// median is the middle value of vs (the mean of the middle two for an even
// count).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// timed records one top-level benchmark's run for the report.
func (sb *serveBench) timed(name, benchtime string, fn func()) {
	fmt.Fprintf(sb.log, "benchreport: %s %s against agentscope serve (benchtime %s)\n", servePkg, name, benchtime)
	run := Run{Pkg: servePkg, Name: name, Setting: Setting{Benchtime: benchtime}, Load: loadAvg()}
	before := bytes.Count(sb.out.Bytes(), []byte("--- FAIL"))
	start := time.Now()
	fn()
	run.Wall = time.Since(start)
	if bytes.Count(sb.out.Bytes(), []byte("--- FAIL")) > before {
		run.Err = "a sub-benchmark failed"
	}
	sb.runs = append(sb.runs, run)
}

// result prints one sub-benchmark's figures as a benchmark result line.
func (sb *serveBench) result(name string, n int, seconds float64, metrics ...Metric) {
	r := Result{Name: name, Procs: 1, N: int64(n), Metrics: append([]Metric{{seconds * 1e9 / float64(max(n, 1)), "ns/op"}}, metrics...)}
	line := r.String() + "\n"
	sb.out.WriteString(line)
	io.WriteString(sb.log, line)
}

// outcome prints a sub-benchmark that failed or was skipped, with why.
func (sb *serveBench) outcome(status, name string, err error) {
	s := fmt.Sprintf("--- %s: %s\n    %s\n", status, name, strings.ReplaceAll(err.Error(), "\n", " / "))
	sb.out.WriteString(s)
	io.WriteString(sb.log, s)
}

// loadReport is bench/cmd/loadgen's Report.
type loadReport struct {
	Ops            int     `json:"ops"`
	Seconds        float64 `json:"seconds"`
	PerSec         float64 `json:"per_s"`
	P50            float64 `json:"p50_ms"`
	P99            float64 `json:"p99_ms"`
	ServerCPUPerOp float64 `json:"server_cpu_us_per_op"`
	EndUnixNano    int64   `json:"end_unix_nano"`
}

func (sb *serveBench) load(ctx context.Context, args ...string) (loadReport, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, sb.loadgen, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var rep loadReport
	if err := cmd.Run(); err != nil {
		return rep, fmt.Errorf("loadgen %s: %v: %s", args[0], err, firstLines(stderr.String(), 3))
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return rep, fmt.Errorf("loadgen %s printed %q: %v", args[0], firstLines(stdout.String(), 1), err)
	}
	return rep, nil
}

// server is a started process under measurement.
type server struct {
	cmd    *exec.Cmd
	exited chan error
	addr   string
}

func (s *server) stop() { stop(s.cmd, s.exited) }

// startFloor starts `loadgen floor` and waits for its address.
func (sb *serveBench) startFloor(ctx context.Context) (*server, error) {
	cmd := exec.CommandContext(ctx, sb.loadgen, "floor")
	pr, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, exited: make(chan error, 1)}
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { s.exited <- cmd.Wait() }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		s.stop()
		return nil, fmt.Errorf("loadgen floor said %q: %v", line, err)
	}
	s.addr = addr
	return s, nil
}

// startServe starts `agentscope serve` on the named store (a fresh SQLite
// data dir, or a fresh Postgres database) and waits until it is healthy.
func (sb *serveBench) startServe(ctx context.Context, store string, extraEnv ...string) (*server, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	sb.dbs++
	env := append(cleanEnv(os.Environ()), "AGENTSCOPE_TOKEN="+serveToken, "AGENTSCOPE_LOG_LEVEL=warn",
		"AGENTSCOPE_DATA_DIR="+filepath.Join(sb.dir, fmt.Sprintf("serve-data-%d", sb.dbs)))
	var dbURL string
	if store == "postgres" {
		if dbURL, err = sb.freshDatabase(ctx); err != nil {
			return nil, "", err
		}
		env = append(env, "AGENTSCOPE_DATABASE_URL="+dbURL)
	}
	var logs bytes.Buffer
	cmd := exec.Command(sb.agentscope, "serve", "--addr", addr)
	cmd.Env = append(env, extraEnv...)
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	s := &server{cmd: cmd, exited: make(chan error, 1), addr: addr}
	go func() { s.exited <- cmd.Wait() }()
	if err := waitHealthy(ctx, "http://"+addr+"/healthz", s.exited); err != nil {
		s.stop()
		return nil, "", fmt.Errorf("%w: %s", err, firstLines(logs.String(), 3))
	}
	return s, dbURL, nil
}

// freshDatabase creates an empty database beside AGENTSCOPE_TEST_DATABASE_URL's
// and returns its URL; it is dropped when benchreport ends.
func (sb *serveBench) freshDatabase(ctx context.Context) (string, error) {
	if sb.pgURL == "" {
		return "", errSkip
	}
	conn, err := pgx.Connect(ctx, sb.pgURL)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errSkip, err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("agentscope_benchreport_%d_%d", os.Getpid(), sb.dbs)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	u, err := url.Parse(sb.pgURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// dropDatabases drops the databases freshDatabase created.
func (sb *serveBench) dropDatabases() {
	if sb.pgURL == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, sb.pgURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	for i := 1; i <= sb.dbs; i++ {
		name := fmt.Sprintf("agentscope_benchreport_%d_%d", os.Getpid(), i)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
}

var errSkip = errors.New("no Postgres: AGENTSCOPE_TEST_DATABASE_URL is not set or does not answer")

// fail prints name's failure or skip.
func (sb *serveBench) fail(name string, err error) {
	if sb.failed[name] {
		return // said in an earlier round
	}
	if sb.failed == nil {
		sb.failed = map[string]bool{}
	}
	sb.failed[name] = true
	if errors.Is(err, errSkip) {
		sb.outcome("SKIP", name, err)
		return
	}
	sb.outcome("FAIL", name, err)
}

// recordEvent measures record_event calls against target: "floor", or
// `agentscope serve` on "sqlite" or "postgres".
func (sb *serveBench) recordEvent(ctx context.Context, target string) {
	name := serveRecordBench + "/" + target
	var (
		s   *server
		err error
	)
	if target == "floor" {
		s, err = sb.startFloor(ctx)
	} else {
		s, _, err = sb.startServe(ctx, target)
	}
	if err != nil {
		sb.fail(name, err)
		return
	}
	defer s.stop()
	args := []string{"mcp", "-url", "http://" + s.addr + "/mcp", "-token", serveToken,
		"-clients", fmt.Sprint(sb.scale.Clients), "-calls", fmt.Sprint(sb.scale.Calls), "-cpu-pid", fmt.Sprint(s.cmd.Process.Pid)}
	if target == "floor" {
		args = append(args, "-floor")
	}
	rep, err := sb.load(ctx, args...)
	if err != nil {
		sb.fail(name, err)
		return
	}
	sb.collect(name, rep.Ops, rep.Seconds, Metric{rep.PerSec, "calls/s"}, Metric{rep.P50, "p50_ms"}, Metric{rep.P99, "p99_ms"},
		Metric{rep.ServerCPUPerOp, "server-cpu-µs/call"})
}

// pairedRatioUnit is the unit of a variant's first figure over its base's,
// both measured in the same round.
const pairedRatioUnit = "paired-ratio"

// pairedRatio is perSec, the first figure of name's run in this round, over
// base's in this round, which ran just before it; false if base's run of
// this round failed.
func (sb *serveBench) pairedRatio(name, base string, perSec float64) (float64, bool) {
	rs := sb.rounds[base]
	if sb.failed[base] || len(rs) != len(sb.rounds[name])+1 || rs[len(rs)-1].metrics[0].Value == 0 {
		return 0, false
	}
	return perSec / rs[len(rs)-1].metrics[0].Value, true
}

// copyFloor measures raw COPYs of the ingest benchmark's rows into a
// fresh, migrated Postgres database, with nothing else (loadgen copy), in
// three ways, and takes the fastest of this round for the floor
// (copy-floor):
//   - copy-arrival: the same sessions, seqs and events in one COPY, in the
//     order the writers deliver them (a streaming ingest commits each post
//     before it answers, so it can reorder nothing across posts);
//   - copy-parallel: each writer's rows in seq order, through one
//     connection per core (at most one per writer), all at once, as the
//     server's group commit keeps more than one transaction in flight;
//   - copy-one-session: the same number of events as one session in seq
//     order, as the floor once was: every index of the events then appends
//     at its last page, which no burst of several sessions can do.
func (sb *serveBench) copyFloor(ctx context.Context) {
	var (
		fastest round
		failed  []string
		first   error
	)
	for _, v := range []struct {
		name           string
		writers, conns int
	}{
		{"copy-arrival", sb.scale.Writers, 1},
		{"copy-parallel", sb.scale.Writers, min(sb.scale.Writers, runtime.NumCPU())},
		{"copy-one-session", 1, 1},
	} {
		name := serveIngestBench + "/postgres/" + v.name
		s, dbURL, err := sb.startServe(ctx, "postgres")
		if err != nil {
			sb.fail(name, err)
			failed, first = append(failed, v.name), cmp.Or(first, err)
			continue
		}
		s.stop() // it migrated the database; the COPY needs nothing else
		rep, err := sb.load(ctx, "copy", "-database-url", dbURL, "-writers", fmt.Sprint(v.writers), "-conns", fmt.Sprint(v.conns),
			"-batch", fmt.Sprint(sb.scale.Batch), "-events", fmt.Sprint(sb.scale.Events))
		if err != nil {
			sb.fail(name, err)
			failed, first = append(failed, v.name), cmp.Or(first, err)
			continue
		}
		r := round{rep.Ops, rep.Seconds, []Metric{{rep.PerSec, "events/s"}}}
		sb.collect(name, r.n, r.seconds, r.metrics...)
		if len(fastest.metrics) == 0 || r.metrics[0].Value > fastest.metrics[0].Value {
			fastest = r
		}
	}
	name := serveIngestBench + "/postgres/copy-floor"
	if len(failed) > 0 {
		// The fastest of the rest could be no floor at all.
		sb.fail(name, fmt.Errorf("%s did not run: %w", strings.Join(failed, ", "), first))
		return
	}
	sb.collect(name, fastest.n, fastest.seconds, fastest.metrics...)
}

// ingest measures batch ingest over POST /api/v1/events, with Splunk
// forwarding to a local HEC test server on or off, and with it on, how
// long after the burst's last answer HEC held every event.
func (sb *serveBench) ingest(ctx context.Context, store string, forwarding bool) {
	name := fmt.Sprintf("%s/%s/forwarding=%t", serveIngestBench, store, forwarding)
	var env []string
	var hec *hectest.Server
	if forwarding {
		hec = hectest.New(hectest.Options{Token: serveHECToken, DiscardEvents: true})
		defer hec.Close()
		env = append(env, "AGENTSCOPE_SPLUNK_HEC_URL="+hec.URL(), "AGENTSCOPE_SPLUNK_HEC_TOKEN="+serveHECToken)
	}
	s, _, err := sb.startServe(ctx, store, env...)
	if err != nil {
		sb.fail(name, err)
		return
	}
	defer s.stop()
	rep, err := sb.load(ctx, "ingest", "-url", "http://"+s.addr, "-token", serveToken, "-writers", fmt.Sprint(sb.scale.Writers),
		"-batch", fmt.Sprint(sb.scale.Batch), "-events", fmt.Sprint(sb.scale.Events), "-cpu-pid", fmt.Sprint(s.cmd.Process.Pid))
	if err != nil {
		sb.fail(name, err)
		return
	}
	metrics := []Metric{{rep.PerSec, "events/s"}, {rep.ServerCPUPerOp, "server-cpu-µs/event"}}
	if hec != nil {
		// Every event posted, and each session's SessionStarted.
		want := rep.Ops + sb.scale.Writers
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := hec.WaitFor(wctx, func(st hectest.Stats) bool { return st.Unique >= want })
		cancel()
		if err != nil {
			sb.fail(name, fmt.Errorf("HEC holds %d of %d events 2 minutes after the burst: %v", hec.Stats().Unique, want, err))
			return
		}
		lag := time.Since(time.Unix(0, rep.EndUnixNano))
		metrics = append(metrics, Metric{float64(lag.Microseconds()) / 1000, "delivery-lag-ms"})
		if x, ok := sb.pairedRatio(name, strings.Replace(name, "forwarding=true", "forwarding=false", 1), rep.PerSec); ok {
			metrics = append(metrics, Metric{x, pairedRatioUnit})
		}
	}
	sb.collect(name, rep.Ops, rep.Seconds, metrics...)
}
