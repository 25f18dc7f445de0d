package splunkbridge_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/agentscope/agentscope/splunkbridge/hectest"
	"github.com/agentscope/agentscope/splunkbridge/internal/eventgen"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// TestCrashRecovery forwards 100,000 events (10,000 with -short) through
// injected faults and a SIGKILL of the forwarding process, then a restart:
// every event must reach Splunk at least once, only poisoned events may be
// dead-lettered, duplicates may come only from ambiguous sends (a reply cut
// after indexing, or the batches the killed process had in flight), and
// the outbox must end empty.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	const (
		perSession  = 100
		batch       = 500
		concurrency = 4
	)
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	spec := eventgen.Spec{OrgID: testOrg, Sessions: n / perSession, PerSession: perSession, Poisoned: eventgen.PoisonEvery(n / 10)}

	dir := t.TempDir()
	db := filepath.Join(dir, "agentscope.db")
	bin := buildForwardproc(t, dir)
	seed := exec.Command(bin, "-db", db, "-org", spec.OrgID, "-seed-sessions", strconv.Itoa(spec.Sessions),
		"-seed-per-session", strconv.Itoa(perSession), "-poison-every", strconv.Itoa(n/10))
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	store, err := sqlite.Open(context.Background(), db, sqlstore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if st, err := store.OutboxStats(context.Background()); err != nil || st.QueueDepth != int64(n) {
		t.Fatalf("seeded outbox: %+v, %v", st, err)
	}

	hec := hectest.New(hectest.Options{Token: testToken, DiscardEvents: true})
	defer hec.Close()
	hec.Poison(poison)
	hec.Inject(hectest.Pass(2), hectest.Busy(2), hectest.Pass(2), hectest.TooManyRequests(1, time.Second),
		hectest.Pass(2), hectest.Drop(3), hectest.Pass(2), hectest.CutAfterIndex(2), hectest.Pass(3),
		hectest.ServerError(2), hectest.Pass(2), hectest.CutAfterIndex(1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	first := startForwardproc(t, bin, db, hec.URL(), "proc-1", false)
	if err := hec.WaitFor(ctx, func(s hectest.Stats) bool { return s.Indexed >= int64(n*3/10) }); err != nil {
		t.Fatalf("first process never got 30%% through: %v (stats %+v)", err, hec.Stats())
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	// Once the dead process's connections are closed, every request it
	// sent has been handled.
	if err := hec.WaitFor(ctx, func(s hectest.Stats) bool { return s.Conns == 0 }); err != nil {
		t.Fatal(err)
	}
	atKill := hec.Counts()
	if len(atKill) >= n-10 {
		t.Fatalf("everything was delivered before the kill (%d events); the restart is not tested", len(atKill))
	}

	second := startForwardproc(t, bin, db, hec.URL(), "proc-2", true)
	if err := second.Wait(); err != nil {
		t.Fatalf("restarted forwarder did not drain the outbox: %v", err)
	}

	counts, ambiguous := hec.Counts(), hec.Ambiguous()
	st := hec.Stats()
	if st.PendingFaults != 0 || len(ambiguous) == 0 {
		t.Fatalf("faults not all exercised: %+v, %d ambiguous", st, len(ambiguous))
	}
	inDoubt := 0
	for i := range n {
		k := spec.Key(i)
		c := counts[k]
		switch {
		case spec.Poisoned(i):
			if c != 0 {
				t.Errorf("poisoned event %s indexed %d times", k, c)
			}
		case c == 0:
			t.Errorf("event %s lost", k)
		case c > 1 && ambiguous[k]:
		case c > 1 && atKill[k] > 0:
			inDoubt++ // delivered by the killed process, not yet completed
		case c > 1:
			t.Errorf("event %s delivered %d times without an ambiguous send", k, c)
		}
	}
	// The killed process can have had at most its in-flight batches (two
	// slots per sender) delivered and not completed.
	if limit := 2 * concurrency * batch; inDoubt > limit {
		t.Errorf("%d events resent after the kill, more than the %d the process could have had in flight", inDoubt, limit)
	}
	ostats, err := store.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ostats.QueueDepth != 0 {
		t.Errorf("outbox holds %d entries after draining", ostats.QueueDepth)
	}
	dls, err := store.ListDeadLetters(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range n {
		if spec.Poisoned(i) {
			want[spec.EventID(i)] = true
		}
	}
	if len(dls) != len(want) {
		t.Errorf("%d dead letters, want %d", len(dls), len(want))
	}
	for _, d := range dls {
		if !want[d.EventID] {
			t.Errorf("dead-lettered %s, which is not poisoned", d.EventID)
		}
	}
	t.Logf("%d events in %s: %d requests, %d indexed, %d ambiguous, %d resent after the kill", n, time.Since(start).Round(time.Millisecond), st.Requests, st.Indexed, len(ambiguous), inDoubt)
}

// buildForwardproc compiles the forwarding program into dir.
func buildForwardproc(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "forwardproc")
	// Built without -race even under a race test: the in-process tests
	// cover the forwarder's concurrency, and the race detector slows the
	// SQLite driver tenfold, which would take 100,000 events past the
	// package's time budget.
	cmd := exec.Command(goTool(), "build", "-o", bin, "github.com/agentscope/agentscope/splunkbridge/internal/forwardproc")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build forwardproc: %v\n%s", err, out)
	}
	return bin
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// startForwardproc starts the forwarding program; its log is shown if the
// test fails.
func startForwardproc(t *testing.T, bin, db, url, owner string, drain bool) *exec.Cmd {
	t.Helper()
	args := []string{"-db", db, "-hec-url", url, "-token", testToken, "-owner", owner, "-lease", "3s"}
	if drain {
		args = append(args, "-exit-when-drained")
	}
	cmd := exec.Command(bin, args...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // lets the log copier finish
		if t.Failed() {
			t.Logf("%s log:\n%s", owner, lastLines(logs.String(), 40))
		}
	})
	return cmd
}

func lastLines(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
