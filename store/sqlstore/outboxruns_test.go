package sqlstore

import (
	"fmt"
	"testing"
)

// TestOutboxRuns: every event is in exactly one run; a run is consecutive
// seqs of one session, at most maxOutboxRun long, whatever the order of the
// columns.
func TestOutboxRuns(t *testing.T) {
	type ev struct {
		org, sess string
		seq       int64
	}
	var evs []ev
	// Two sessions interleaved, one of them past maxOutboxRun, a third in
	// another organisation with the same session id, and a gap.
	for i := int64(1); i <= maxOutboxRun+10; i++ {
		evs = append(evs, ev{"o1", "a", i})
		if i <= 5 {
			evs = append(evs, ev{"o1", "b", i}, ev{"o2", "a", i})
		}
	}
	evs = append(evs, ev{"o1", "b", 9}, ev{"o1", "b", 10})
	var org, sess []string
	var seq []int64
	for _, e := range evs {
		org, sess, seq = append(org, e.org), append(sess, e.sess), append(seq, e.seq)
	}
	r := outboxRuns(org, sess, seq)
	got := map[string]string{}
	covered := map[ev]int{}
	for i := range r.org {
		if n := r.to[i] - r.from[i] + 1; n < 1 || n > maxOutboxRun {
			t.Errorf("run %d covers %d events", i, n)
		}
		for q := r.from[i]; q <= r.to[i]; q++ {
			covered[ev{r.org[i], r.session[i], q}]++
		}
		got[fmt.Sprintf("%s/%s/%d", r.org[i], r.session[i], r.from[i])] = fmt.Sprint(r.to[i])
	}
	if len(r.of) != len(evs) {
		t.Fatalf("of names the rows of %d events, want %d", len(r.of), len(evs))
	}
	for i, e := range evs {
		if j := r.of[i]; r.org[j] != e.org || r.session[j] != e.sess || e.seq < r.from[j] || e.seq > r.to[j] {
			t.Errorf("event %+v placed in row %d, %s/%s %d..%d", e, j, r.org[j], r.session[j], r.from[j], r.to[j])
		}
	}
	for _, e := range evs {
		if covered[e] != 1 {
			t.Errorf("event %+v in %d runs", e, covered[e])
		}
	}
	if len(covered) != len(evs) {
		t.Errorf("runs cover %d events, want %d", len(covered), len(evs))
	}
	want := map[string]string{
		"o1/a/1": fmt.Sprint(maxOutboxRun), "o1/a/" + fmt.Sprint(maxOutboxRun+1): fmt.Sprint(maxOutboxRun + 10),
		"o1/b/1": "5", "o2/a/1": "5", "o1/b/9": "10",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runs %v, want %v", got, want)
	}
}

// TestInsertChunks: n rows are cut into chunks of the sizes a dialect's
// MaxParams allows that cover 0..n exactly, in order, as many of the
// largest size as fit and then at most one of each smaller one, so that a
// batch takes few statements, every one of them is of a prepared size, and
// none binds more parameters than the database takes.
func TestInsertChunks(t *testing.T) {
	for _, maxParams := range []int{32766, 999, 8} {
		chunk := chunkRows(maxParams)
		sizes := map[int]bool{}
		for _, s := range chunk {
			sizes[s] = true
		}
		if len(chunk) == 0 || chunk[len(chunk)-1] != 1 || chunk[0]*eventCols > maxParams || chunk[0] != insertChunkRows[0] && chunk[0]*2*eventCols <= maxParams {
			t.Fatalf("MaxParams %d: sizes %v", maxParams, chunk)
		}
		for _, n := range []int{0, 1, 2, 3, 255, 256, 257, 511, 512, 1000, 4095, 4097} {
			at, seen := 0, map[int]int{}
			for start, rows := range insertChunks(n, chunk) {
				if start != at || !sizes[rows] {
					t.Fatalf("MaxParams %d, n=%d: chunk (%d, %d) after %d rows; sizes %v", maxParams, n, start, rows, at, chunk)
				}
				at += rows
				seen[rows]++
			}
			if at != n {
				t.Errorf("MaxParams %d, n=%d: chunks cover %d rows", maxParams, n, at)
			}
			for size, k := range seen {
				if size != chunk[0] && k > 1 {
					t.Errorf("MaxParams %d, n=%d: %d chunks of %d rows", maxParams, n, k, size)
				}
			}
			if want := n/chunk[0] + bitsSet(n%chunk[0]); len(seen) > 0 && sum(seen) != want {
				t.Errorf("MaxParams %d, n=%d: %d chunks, want %d", maxParams, n, sum(seen), want)
			}
		}
	}
}

func bitsSet(n int) int {
	c := 0
	for ; n > 0; n &= n - 1 {
		c++
	}
	return c
}

func sum(m map[int]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}
