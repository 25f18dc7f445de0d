package web

import (
	"context"
	"time"

	"github.com/agentscope/agentscope"
)

// feedTypes are the events the organisation feed carries: those that
// change a run's state, or say something about it a list should show.
var feedTypes = []agentscope.EventType{
	agentscope.SessionStarted, agentscope.SessionCompleted,
	agentscope.RunQueued, agentscope.RunStarted, agentscope.RunRetried,
	agentscope.RunFailed, agentscope.RunCancelled,
	agentscope.BudgetWarning, agentscope.BudgetExceeded, agentscope.ProviderSwitched,
	agentscope.InvestigationReported,
}

func isFeedType(t agentscope.EventType) bool {
	for _, f := range feedTypes {
		if f == t {
			return true
		}
	}
	return false
}

// eventScanner reads the context's organisation's events: the service.
type eventScanner interface {
	ScanEvents(ctx context.Context, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error
}

// orgFeed reads the context's organisation's run-state events from the
// store after a cursor. The store is the truth: the hub only says when to
// read.
type orgFeed struct {
	events eventScanner
	cur    *feedCursor
	now    func() time.Time
}

// startFeedCursor returns a cursor at now: everything already committed
// counts as delivered, so a page rendered from the store follows on from
// exactly what it showed.
func startFeedCursor(ctx context.Context, events eventScanner, now time.Time) (*feedCursor, error) {
	f := &orgFeed{events: events, cur: &feedCursor{Mark: now.UnixMicro(), Seen: map[string]seenSession{}}, now: func() time.Time { return now }}
	err := f.read(ctx, func([]agentscope.Event) error { return nil })
	return f.cur, err
}

// read delivers, batch by batch, the feed events the cursor has not, each
// batch with the cursor just after it.
func (f *orgFeed) read(ctx context.Context, emit func([]agentscope.Event) error) error {
	start := f.now()
	err := f.events.ScanEvents(ctx, agentscope.EventQuery{Types: feedTypes, Earliest: f.cur.readFrom(), BatchSize: liveBatch}, func(evs []agentscope.Event) (bool, error) {
		if fresh := f.cur.admit(evs); len(fresh) > 0 {
			if err := emit(fresh); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	f.cur.advance(start)
	return nil
}
