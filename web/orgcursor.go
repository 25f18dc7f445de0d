package web

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// The organisation feed has no global sequence to resume from: seq is per
// session, and events are ordered across sessions only by ts, which is
// taken before commit, so an event can become visible after a later-stamped
// one. A feedCursor therefore holds a watermark and, for the recent past, what
// was delivered per session:
//
//   - every feed event with ts before Mark-feedOverlap was delivered;
//   - of those at or after it, exactly the ones with seq <= Seen[session].Seq.
//
// A read re-scans from Mark-feedOverlap and skips what Seen says was sent,
// so a reconnect with the last cursor misses nothing and repeats nothing,
// as long as an event commits within feedOverlap of its ts (commit latency
// plus clock skew between processes). Within a session, seq order is
// commit order, which is what makes "seq <= Seen" exact.
type feedCursor struct {
	// Mark is a time (Unix microseconds) by which every earlier feed event
	// had been read, less feedOverlap.
	Mark int64                  `json:"m"`
	Seen map[string]seenSession `json:"s,omitempty"`
}

// seenSession is what the cursor delivered of one session: up to Seq, the
// latest of those events stamped TS (Unix microseconds).
type seenSession struct {
	Seq int64 `json:"q"`
	TS  int64 `json:"t"`
}

// feedOverlap is how far before its watermark a feed read starts again.
const feedOverlap = time.Minute

// maxCursorBytes bounds an encoded cursor a client may send.
const maxCursorBytes = 256 << 10

func (c *feedCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeFeedCursor(s string) (*feedCursor, error) {
	bad := agentscope.FieldErrorf("cursor", "is not a cursor of the organisation feed")
	if len(s) > maxCursorBytes {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, bad
	}
	var c feedCursor
	if err := json.Unmarshal(b, &c); err != nil || c.Mark <= 0 {
		return nil, bad
	}
	if c.Seen == nil {
		c.Seen = map[string]seenSession{}
	}
	return &c, nil
}

// readFrom is the earliest ts the next read must cover.
func (c *feedCursor) readFrom() time.Time { return time.UnixMicro(c.Mark).Add(-feedOverlap) }

// admit returns the events of a read batch the cursor has not delivered,
// recording them as delivered. Within a session they come in seq order
// even if their timestamps disagree.
func (c *feedCursor) admit(evs []agentscope.Event) []agentscope.Event {
	bySession := map[string][]int{}
	for i := range evs {
		bySession[evs[i].SessionID] = append(bySession[evs[i].SessionID], i)
	}
	for _, idx := range bySession {
		if len(idx) < 2 {
			continue
		}
		part := make([]agentscope.Event, len(idx))
		for k, i := range idx {
			part[k] = evs[i]
		}
		slices.SortFunc(part, func(a, b agentscope.Event) int { return cmp.Compare(a.Seq, b.Seq) })
		for k, i := range idx {
			evs[i] = part[k]
		}
	}
	var fresh []agentscope.Event
	for _, ev := range evs {
		seen := c.Seen[ev.SessionID]
		if ev.Seq <= seen.Seq {
			continue
		}
		c.Seen[ev.SessionID] = seenSession{Seq: ev.Seq, TS: max(seen.TS, ev.TS.UnixMicro())}
		fresh = append(fresh, ev)
	}
	return fresh
}

// advance moves the watermark to the start of a completed read and forgets
// sessions whose delivered events are all older than the overlap.
func (c *feedCursor) advance(readStart time.Time) {
	c.Mark = max(c.Mark, readStart.UnixMicro())
	floor := c.readFrom().UnixMicro()
	for sid, seen := range c.Seen {
		if seen.TS < floor {
			delete(c.Seen, sid)
		}
	}
}
