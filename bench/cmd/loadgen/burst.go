package main

import (
	"fmt"
	"strconv"
	"time"
)

// modelEvent is the n-th event of a writer: a realistic ModelCompleted,
// as the in-process ingest benchmarks record.
func modelEvent(session string, n int) map[string]any {
	return map[string]any{
		"session_id": session, "event_id": "e" + strconv.Itoa(n), "type": "ModelCompleted",
		"ts": time.Now().UTC().Format(time.RFC3339Nano), "provider": "openai", "model": "gpt-4.1",
		"duration_ms": 812.5, "tokens_in": 1200, "tokens_out": 80, "cache_read_tokens": 1000,
		"finish_reason": "stop", "span_id": "m" + strconv.Itoa(n),
		"attributes": map[string]any{"region": "eu-west-1", "stream": true},
	}
}

// burst is the events of one ingest burst: writers sessions, named prefix
// and the writer's number, each of events/writers events (rounded up) in
// posts of at most batch, built writer by writer as modelEvent stamps them.
// The ingest benchmark posts them and the COPY floor writes the same rows,
// so that the two write the same keys.
type burst struct {
	sessions []string
	posts    [][][]map[string]any // posts[w][k] is writer w's k-th post
}

func newBurst(prefix string, writers, batch, events int) burst {
	b := burst{sessions: make([]string, writers), posts: make([][][]map[string]any, writers)}
	per := (events + writers - 1) / writers
	for w := range writers {
		b.sessions[w] = fmt.Sprintf("%s%d", prefix, w)
		for done := 0; done < per; done += batch {
			evs := make([]map[string]any, min(batch, per-done))
			for i := range evs {
				evs[i] = modelEvent(b.sessions[w], done+i)
			}
			b.posts[w] = append(b.posts[w], evs)
		}
	}
	return b
}

// arrival calls fn for each post in the order concurrent writers deliver
// them: every writer's first post, then every writer's second, and so on.
// seq is the seq the server gives the post's first event (a session's
// SessionStarted is seq 1).
func (b burst) arrival(fn func(w int, seq int64, post []map[string]any) error) error {
	next := make([]int64, len(b.posts))
	for k := 0; ; k++ {
		more := false
		for w, posts := range b.posts {
			if k >= len(posts) {
				continue
			}
			more = true
			if next[w] == 0 {
				next[w] = 2
			}
			if err := fn(w, next[w], posts[k]); err != nil {
				return err
			}
			next[w] += int64(len(posts[k]))
		}
		if !more {
			return nil
		}
	}
}
