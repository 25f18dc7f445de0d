package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/agentscope/agentscope"
)

type copyOptions struct {
	url, prefix                    string
	writers, batch, events, cpuPID int
}

// runCopy is the raw floor of batch ingest into Postgres: the rows the
// ingest benchmark's burst makes (the same sessions, seqs and events,
// encoded as AgentScope stores them), in the order its writers deliver
// them, written with one COPY and no validation, seq assignment or run
// bookkeeping. The keys' order matters as much as their number: one
// session's rows in seq order append to every index's last page, which
// eight sessions' interleaved posts cannot.
func runCopy(ctx context.Context, o copyOptions) (*Report, error) {
	if o.url == "" || o.events <= 0 || o.writers <= 0 || o.batch <= 0 {
		return nil, errors.New("-database-url, -writers, -batch and -events are required")
	}
	conn, err := pgx.Connect(ctx, o.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	bu := newBurst(o.prefix, o.writers, o.batch, o.events)
	var rows [][]any
	err = bu.arrival(func(w int, seq int64, post []map[string]any) error {
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
			rows = append(rows, []any{agentscope.DefaultOrgID, ev.SessionID, ev.Seq, ev.EventID, string(ev.Type), ev.Agent, ev.TS.UnixMicro(), string(body)})
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
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"events"},
		[]string{"org_id", "session_id", "seq", "event_id", "type", "agent", "ts", "body"}, pgx.CopyFromRows(rows))
	if err != nil || n != int64(len(rows)) {
		return nil, fmt.Errorf("copy: %d rows, %v", n, err)
	}
	rep := &Report{}
	if err := m.stop(rep, len(rows)); err != nil {
		return nil, err
	}
	return rep, nil
}
