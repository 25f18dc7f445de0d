package sqlstore

import (
	"context"
	"errors"
	"testing"

	"github.com/agentscope/agentscope"
)

// endless is a scan part that hands over one-event batches until emit
// refuses one.
func endless(ctx context.Context, emit func([]agentscope.Event) bool) error {
	for {
		if !emit([]agentscope.Event{{}}) {
			return nil
		}
	}
}

// TestRunPartsCancelledMidway: when the caller's context ends while parts
// wait to hand over batches, the scan reports it instead of returning a
// short success.
func TestRunPartsCancelledMidway(t *testing.T) {
	for _, n := range []int{1, 3} {
		parts := make([]scanPart, n)
		for i := range parts {
			parts[i] = endless
		}
		ctx, cancel := context.WithCancel(context.Background())
		batches := 0
		err := runParts(ctx, parts, func([]agentscope.Event) (bool, error) {
			if batches++; batches == 2 {
				cancel()
			}
			return true, nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%d parts: cancelled after %d batches, scan returned %v", n, batches, err)
		}
	}
}

// TestRunPartsStopsAndFails: fn's false ends the scan quietly, fn's error
// ends it with that error, and a part's error reaches the caller.
func TestRunPartsStopsAndFails(t *testing.T) {
	calls := 0
	if err := runParts(context.Background(), []scanPart{endless, endless}, func([]agentscope.Event) (bool, error) {
		calls++
		return false, nil
	}); err != nil || calls != 1 {
		t.Errorf("stop: %d calls, %v", calls, err)
	}
	boom := errors.New("boom")
	if err := runParts(context.Background(), []scanPart{endless}, func([]agentscope.Event) (bool, error) { return true, boom }); !errors.Is(err, boom) {
		t.Errorf("fn's error: %v", err)
	}
	failing := func(context.Context, func([]agentscope.Event) bool) error { return boom }
	if err := runParts(context.Background(), []scanPart{endless, failing}, func([]agentscope.Event) (bool, error) { return true, nil }); !errors.Is(err, boom) {
		t.Errorf("a part's error: %v", err)
	}
}
