package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/agentscope/agentscope"
)

type copyOptions struct {
	url, prefix                           string
	writers, batch, events, conns, cpuPID int
}

// runCopy is a raw floor of batch ingest into Postgres: the rows the
// ingest benchmark's burst makes (the same sessions, seqs and events,
// encoded as AgentScope stores them), written with COPY and no
// validation, seq assignment or run bookkeeping. With one connection,
// they go in the order the writers deliver them, in one COPY; with more,
// writer w's rows go in seq order through connection w%conns, the
// connections' COPYs at once. The keys' order matters as much as their
// number: one session's rows in seq order append to every index's last
// page, which eight sessions' interleaved posts cannot.
func runCopy(ctx context.Context, o copyOptions) (*Report, error) {
	if o.url == "" || o.events <= 0 || o.writers <= 0 || o.batch <= 0 || o.conns <= 0 {
		return nil, errors.New("-database-url, -writers, -batch, -events and -conns are required")
	}
	conns := make([]*pgx.Conn, min(o.conns, o.writers))
	for i := range conns {
		conn, err := pgx.Connect(ctx, o.url)
		if err != nil {
			return nil, err
		}
		defer conn.Close(context.Background())
		conns[i] = conn
	}
	bu := newBurst(o.prefix, o.writers, o.batch, o.events)
	rows := make([][][]any, len(conns))
	n := 0
	err := bu.arrival(func(w int, seq int64, post []map[string]any) error {
		for i, m := range post {
			raw, err := json.Marshal(m)
			if err != nil {
				return err
			}
			ev, err := agentscope.DecodeEvent(raw)
			if err != nil {
				return fmt.Errorf("event %d of %s: %w", seq+int64(i), bu.sessions[w], err)
			}
			ev.Seq, ev.Agent = seq+int64(i), "bench"
			body, err := ev.MarshalCanonical()
			if err != nil {
				return err
			}
			c := w % len(conns)
			rows[c] = append(rows[c], []any{agentscope.DefaultOrgID, ev.SessionID, ev.Seq, ev.EventID, string(ev.Type), ev.Agent, ev.TS.UnixMicro(), string(body)})
			n++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m, err := startMeter(o.cpuPID)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for c, conn := range conns {
		wg.Go(func() {
			n, err := conn.CopyFrom(ctx, pgx.Identifier{"events"},
				[]string{"org_id", "session_id", "seq", "event_id", "type", "agent", "ts", "body"}, pgx.CopyFromRows(rows[c]))
			if err == nil && n != int64(len(rows[c])) {
				err = fmt.Errorf("%d of %d rows", n, len(rows[c]))
			}
			if err != nil {
				errs[c] = fmt.Errorf("copy on connection %d: %w", c, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rep := &Report{}
	if err := m.stop(rep, n); err != nil {
		return nil, err
	}
	return rep, nil
}
