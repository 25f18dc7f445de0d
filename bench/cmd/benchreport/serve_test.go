package main

import (
	"io"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{5}, 5}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Each variant's figures are the medians of its rounds, taken figure by
// figure; a variant that failed in any round reports only its failure.
func TestServeMedians(t *testing.T) {
	sb := &serveBench{log: io.Discard}
	sb.collect("BenchmarkServeRecordEvent/floor", 100, 2, Metric{50, "calls/s"}, Metric{9, "p99_ms"})
	sb.collect("BenchmarkServeRecordEvent/postgres", 100, 4, Metric{25, "calls/s"}, Metric{3, "p99_ms"})
	sb.collect("BenchmarkServeRecordEvent/floor", 100, 1, Metric{100, "calls/s"}, Metric{7, "p99_ms"})
	sb.fail("BenchmarkServeRecordEvent/postgres", io.ErrUnexpectedEOF)
	sb.collect("BenchmarkServeRecordEvent/floor", 100, 4, Metric{25, "calls/s"}, Metric{8, "p99_ms"})
	sb.fail("BenchmarkServeRecordEvent/postgres", io.ErrUnexpectedEOF) // said once
	sb.medians()
	got := sb.out.String()
	if !strings.Contains(got, "BenchmarkServeRecordEvent/floor\t100\t2e+07 ns/op\t50 calls/s\t8 p99_ms\n") {
		t.Errorf("floor not the medians of its rounds:\n%s", got)
	}
	if strings.Contains(got, "postgres\t") || strings.Count(got, "--- FAIL: BenchmarkServeRecordEvent/postgres") != 1 {
		t.Errorf("a variant that failed a round: want its failure once and no figures:\n%s", got)
	}
}

// With forwarding on, each round reports its events/s over forwarding
// off's of the same round, which ran just before; not when that run
// failed. The target is judged on the median of those ratios, beside the
// medians of events/s.
func TestPairedRatio(t *testing.T) {
	const off, on = "BenchmarkServeIngest/postgres/forwarding=false", "BenchmarkServeIngest/postgres/forwarding=true"
	sb := &serveBench{log: io.Discard}
	for _, round := range []struct{ off, on, want float64 }{{100, 80, 0.8}, {50, 45, 0.9}, {200, 150, 0.75}} {
		sb.collect(off, 10, 1, Metric{round.off, "events/s"})
		x, ok := sb.pairedRatio(on, off, round.on)
		if !ok || x != round.want {
			t.Fatalf("round of %v then %v: ratio %v %t, want %v", round.off, round.on, x, ok, round.want)
		}
		sb.collect(on, 10, 1, Metric{round.on, "events/s"}, Metric{x, pairedRatioUnit})
	}
	if _, ok := sb.pairedRatio(on, off, 10); ok {
		t.Error("a ratio to a round of forwarding off not yet run")
	}
	sb.medians()
	out, err := Parse(strings.NewReader(sb.out.String()))
	if err != nil {
		t.Fatal(err)
	}
	// Medians 100 vs 80 events/s would say 0.8×; the rounds' own ratios
	// say 0.8, 0.9 and 0.75.
	rows := ratio(`^BenchmarkServeIngest/.*/forwarding=true$`, "forwarding=true", "forwarding=false", "events/s", pairedMultipleOf, atLeast(0.8), "forwarding off")(Figures{Results: out.Results})
	if len(rows) != 1 || rows[0].Verdict != Pass || !strings.Contains(rows[0].Measured, "0.8× forwarding off, the median of each round's ratio (medians 80 events/s vs 100 events/s)") {
		t.Fatalf("rows = %+v", rows)
	}
	rows = ratio(`^BenchmarkServeIngest/.*/forwarding=true$`, "forwarding=true", "forwarding=false", "events/s", pairedMultipleOf, atLeast(0.81), "forwarding off")(Figures{Results: out.Results})
	if rows[0].Verdict != Miss {
		t.Errorf("0.8 judged against ≥ 0.81: %+v", rows[0])
	}

	sb = &serveBench{log: io.Discard}
	sb.fail(off, io.ErrUnexpectedEOF)
	if _, ok := sb.pairedRatio(on, off, 10); ok {
		t.Error("a ratio to a failed run")
	}
}
