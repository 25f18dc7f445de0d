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
