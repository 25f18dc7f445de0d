package spl

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// flipCtx is a context that reports cancellation from the flipAt-th call
// of Err on (0: never). It is used from one goroutine only.
type flipCtx struct {
	context.Context
	calls, flipAt int
}

func (c *flipCtx) Err() error {
	c.calls++
	if c.flipAt > 0 && c.calls >= c.flipAt {
		return context.Canceled
	}
	return nil
}

// TestCancelStopsBlockingCommands: the commands that hold their input and
// sort or group it when the scan ends (sort 0, stats, top, dedup) notice a
// cancellation during that work, not only once they emit: over 100,000
// rows gathering and sorting take longer than 100 ms, and a query must stop
// within 100 ms of its caller leaving. The context turns cancelled at its
// second check after the input was read, which these commands used to make
// only after sorting everything.
func TestCancelStopsBlockingCommands(t *testing.T) {
	const n = 100_000
	for _, q := range []string{`* | sort 0 tool`, `* | stats count by tool`, `* | top limit=0 tool`, `* | dedup tool`} {
		t.Run(q, func(t *testing.T) {
			ctx := &flipCtx{Context: context.Background()}
			env := &runEnv{ctx: ctx, maxBuffered: 2 * n}
			p, err := parse(q)
			if err != nil {
				t.Fatal(err)
			}
			head, _, err := build(p, nil, env, 2*n)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				r := newRow()
				// Distinct values in no particular order, so every
				// command has n rows or groups to sort.
				r.set("tool", strVal(fmt.Sprintf("tool-%07d", (i*7919)%n)))
				if err := head.push(r); err != nil {
					t.Fatal(err)
				}
			}
			ctx.flipAt = ctx.calls + 2
			start := time.Now()
			err = head.finish()
			took := time.Since(start)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("finish: %v, want the cancellation", err)
			}
			if took > 100*time.Millisecond {
				t.Errorf("finish went on %s after the cancellation", took)
			}
		})
	}
}

// TestCancelledSortIsRecoverable: a sort stopped part-way by the context
// answers the context's error, and a panic of the comparison itself is not
// mistaken for a cancellation.
func TestCancelledSortIsRecoverable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := &runEnv{ctx: ctx}
	xs := make([]int, 100_000)
	for i := range xs {
		xs[i] = (i * 7919) % len(xs)
	}
	calls := 0
	err := sortFunc(env, xs, func(a, b int) int {
		if calls++; calls == 10 {
			cancel()
		}
		return a - b
	})
	if !errors.Is(err, context.Canceled) || calls > 10+4096 {
		t.Fatalf("err %v after %d comparisons", err, calls)
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the comparison's own panic", r)
		}
	}()
	_ = sortFunc(&runEnv{ctx: context.Background()}, xs, func(a, b int) int { panic("boom") })
}
