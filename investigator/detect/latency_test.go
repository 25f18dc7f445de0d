package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// TestLatencyMatchesBruteForce: the counting shortcut raises the finding
// at the same call, with the same p95, as sorting every prefix does.
func TestLatencyMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	cfg := Config{LatencyP95: 10 * time.Second}
	quiet := 0
	for trial := range 300 {
		b := newBuilder(fmt.Sprintf("lat-%d", trial), t0)
		var durations []float64
		slowShare := rng.Float64() * 0.2
		for range 5 + rng.IntN(120) {
			ms := float64(200 + rng.IntN(9000))
			if rng.Float64() < slowShare {
				ms = float64(10000 + rng.IntN(40000))
			}
			durations = append(durations, ms)
			b.complete(ms, "")
		}
		wantSeq, wantP95 := int64(0), 0.0
		for n := DefaultLatencyMinCalls; n <= len(durations); n++ {
			prefix := slices.Sorted(slices.Values(durations[:n]))
			if p := prefix[int(0.95*float64(n))]; p > 10000 {
				wantSeq, wantP95 = int64(n), p
				break
			}
		}
		fs, err := Run(b.id, b.evs, Baseline{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case wantSeq == 0 && len(fs) != 0:
			t.Fatalf("trial %d: %s, want nothing", trial, dump(fs))
		case wantSeq == 0:
			quiet++
		case len(fs) != 1:
			t.Fatalf("trial %d: %s, want a finding at seq %d", trial, dump(fs), wantSeq)
		default:
			want := fmt.Sprintf("The p95 of model call latency was %s over the session's first %d calls (at seq %d)", formatDuration(msDuration(wantP95)), wantSeq, wantSeq)
			if !strings.HasPrefix(fs[0].Detail, want) {
				t.Fatalf("trial %d: %q, want %q…", trial, fs[0].Detail, want)
			}
		}
	}
	if quiet < 30 || quiet > 270 {
		t.Errorf("%d of 300 trials without a finding: the trials do not test both outcomes", quiet)
	}
}

// TestToolErrorRateBoundary: exactly the threshold is not above it.
func TestToolErrorRateBoundary(t *testing.T) {
	t.Parallel()
	b := newBuilder("rate", t0)
	for i, errText := range []string{"", "boom", "", "", "", "", "", "boom"} {
		b.toolCall(time.Second, "calc", fmt.Sprintf(`{"i":%d}`, i), 5, errText)
	}
	if fs, _ := Run(b.id, b.evs, Baseline{}, Config{}); len(fs) != 0 {
		t.Errorf("1 of 4, then 2 of 8: %s", dump(fs))
	}
	b.toolCall(time.Second, "calc", `{"i":9}`, 5, "boom")
	fs, _ := Run(b.id, b.evs, Baseline{}, Config{})
	if len(fs) != 1 || fs[0].Kind != KindToolErrorRate || len(fs[0].EventIDs) != 3 {
		t.Errorf("3 of 9: %s", dump(fs))
	}
}

// TestStormEndsAndRecurs: a storm that pauses for a whole window and
// starts again is two findings.
func TestStormEndsAndRecurs(t *testing.T) {
	t.Parallel()
	b := newBuilder("storms", t0)
	b.add(0, agentscope.Event{Type: agentscope.SessionStarted, Agent: "planner"})
	burst := func() {
		for i := range 7 {
			b.toolCall(3*time.Second, "fetch", fmt.Sprintf(`{"i":%d}`, i), 5, "refused")
		}
	}
	burst()
	b.ts = b.ts.Add(2 * time.Minute)
	burst()
	fs, _ := Run(b.id, b.evs, Baseline{}, Config{StallGap: time.Hour})
	if n := count(fs, KindRetryStorm); n != 2 {
		t.Errorf("%d storms, want 2:\n%s", n, dump(fs))
	}
}
