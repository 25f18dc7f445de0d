package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentscope/agentscope"
)

type copyOptions struct {
	url            string
	events, cpuPID int
}

// runCopy is the raw floor of batch ingest into Postgres: the same events,
// encoded as AgentScope stores them, written with one COPY and no
// validation, seq assignment or run bookkeeping.
func runCopy(ctx context.Context, o copyOptions) (*Report, error) {
	if o.url == "" || o.events <= 0 {
		return nil, errors.New("-database-url and -events are required")
	}
	conn, err := pgx.Connect(ctx, o.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows := make([][]any, o.events)
	for i := range rows {
		ev := agentscope.Event{
			EventID: fmt.Sprintf("e%d", i), Type: agentscope.ModelCompleted, TS: time.Now().UTC(),
			SessionID: "raw-copy", Seq: int64(i + 1), Agent: "bench",
			Provider: "openai", Model: "gpt-4.1", DurationMS: ptr(812.5), TokensIn: ptr[int64](1200), TokensOut: ptr[int64](80),
			CacheReadTokens: ptr[int64](1000), FinishReason: "stop", SpanID: fmt.Sprintf("m%d", i),
			Attributes: map[string]any{"region": "eu-west-1", "stream": true},
		}
		body, err := ev.MarshalCanonical()
		if err != nil {
			return nil, err
		}
		rows[i] = []any{agentscope.DefaultOrgID, ev.SessionID, ev.Seq, ev.EventID, string(ev.Type), ev.Agent, ev.TS.UnixMicro(), string(body)}
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

func ptr[T any](v T) *T { return &v }
