package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"sync"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/otlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

// IngestTraces records an OTLP trace export (POST /v1/traces): the GenAI
// spans become events of their sessions (otlp.Map), a session that does not
// exist yet is started for its agent as start_run would, and every span that
// is not recorded — not a GenAI span, malformed, or refused by the store —
// is counted in the response's partial_success, never dropped silently.
// The caller needs the record action, as for record_event.
func (s *Service) IngestTraces(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRecord)
	if err != nil {
		return nil, err
	}
	b := otlp.Map(req)
	if len(b.Sessions) > 0 {
		if err := s.PrepareOrg(ctx, org); err != nil {
			return nil, err
		}
	}
	// The sessions commit concurrently, as record's do; their outcomes are
	// applied in order.
	errs := make([]error, len(b.Sessions))
	var wg sync.WaitGroup
	table := s.pricing()
	for i, sess := range b.Sessions {
		var evs []agentscope.Event
		for j := range sess.Spans {
			// A span fitting rejects is left without events, so a failed
			// commit below does not count it twice.
			sess.Spans[j].Events = s.fitting(b, sess.Spans[j])
			evs = append(evs, sess.Spans[j].Events...)
			// Each model call is priced as it arrives (spans carry no
			// cost of their own), as end_run would price it: the cost's
			// id is derived from the call's, so an exporter's retry and
			// the session's end find it recorded.
			for _, ev := range sess.Spans[j].Events {
				if c, ok := computedCost(table, ev); ok {
					evs = append(evs, c)
				}
			}
		}
		if len(evs) == 0 {
			continue
		}
		wg.Go(func() { errs[i] = s.commitOTLP(ctx, org, sess, evs) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		if agentscope.ErrorCode(err) == agentscope.EINTERNAL || ctx.Err() != nil {
			return nil, err
		}
		for _, sp := range b.Sessions[i].Spans {
			if len(sp.Events) > 0 {
				b.Reject(sp.Name + ": " + agentscope.ErrorMessage(err))
			}
		}
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if b.Rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: b.Rejected, ErrorMessage: b.Message()}
	}
	return resp, nil
}

// fitting returns sp's events if each is within MaxEventBytes, and
// otherwise rejects the span.
func (s *Service) fitting(b *otlp.Batch, sp otlp.Span) []agentscope.Event {
	for _, ev := range sp.Events {
		raw, err := json.Marshal(ev)
		if err != nil || len(raw) > s.MaxEventBytes {
			b.Reject(sp.Name + ": its " + string(ev.Type) + " event is larger than the event size limit")
			return nil
		}
	}
	return sp.Events
}

// commitOTLP appends evs to sess, starting the session (as an external
// agent's run) when it does not exist.
func (s *Service) commitOTLP(ctx context.Context, org string, sess *otlp.Session, evs []agentscope.Event) error {
	var meta map[string]string
	if sess.Conversation != "" {
		meta = map[string]string{"conversation_id": sess.Conversation}
	}
	return s.commitExternal(ctx, org, sess.ID, sess.Agent, "otlp", otlp.EventIDPrefix, meta, evs)
}

// commitExternal appends evs to a session that an external capture path
// (OTLP ingest, the LLM gateway) records, starting it as an external
// agent's run, with metadata source (and meta), when it does not exist. The
// SessionStarted's event id is startPrefix, the session id and
// ":started", the same for every racing start, so that two captures
// starting the same session record one start.
//
// A session this capture path started and that has ended as completed
// (ended for idleness, see EndIdleSessions) is resumed by events that
// arrive late: the agent paused longer than the idle timeout, and its
// spans are recorded rather than refused. A retry of events the session
// holds is answered as duplicates and reopens nothing.
//
// A session that has ended and is not this path's to resume (an SDK's
// session named by a gateway header, one that failed or was cancelled)
// does not lose the events: they go to a session of their own, derived
// from the one named, whose metadata continues_session names it.
func (s *Service) commitExternal(ctx context.Context, org, sessionID, agentName, source, startPrefix string, meta map[string]string, evs []agentscope.Event) error {
	_, err := s.rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sessionID, Events: evs})
	if agentscope.ErrorCode(err) == agentscope.ECONFLICT {
		run, gerr := s.store.GetRun(ctx, org, sessionID)
		switch {
		case gerr != nil || !run.Status.Terminal():
		case run.Status == agentscope.StatusCompleted && run.Metadata["source"] == source:
			_, err = s.rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sessionID, Events: evs, Resume: true})
		case meta["continues_session"] == "":
			m := maps.Clone(meta)
			if m == nil {
				m = map[string]string{}
			}
			m["continues_session"] = sessionID
			sum := sha256.Sum256([]byte("continues:" + sessionID))
			alt := startPrefix[:len(startPrefix)-1] + "-" + hex.EncodeToString(sum[:12])
			return s.commitExternal(ctx, org, alt, agentName, source, startPrefix, m, evs)
		}
	}
	if agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		return err
	}
	agent, err := s.store.GetAgent(ctx, org, agentName)
	if err == nil && agent.Kind == agentscope.AgentManaged {
		return agentscope.Errorf(agentscope.ECONFLICT, "agent %q is managed by AgentScope; its runs are not recorded from %s", agentName, source)
	}
	if err != nil && agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		return err
	}
	ts := evs[0].TS
	for _, ev := range evs {
		if !ev.TS.IsZero() && ev.TS.Before(ts) {
			ts = ev.TS
		}
	}
	now := s.now().UTC()
	if ts.IsZero() {
		ts = now
	}
	start := agentscope.Event{EventID: startPrefix + sessionID + ":started", Type: agentscope.SessionStarted, TS: ts, Agent: agentName}
	runMeta := map[string]string{"source": source}
	for k, v := range meta {
		runMeta[k] = v
	}
	_, err = s.rec.Commit(ctx, agentscope.AppendRequest{
		OrgID: org, SessionID: sessionID,
		Start:  &agentscope.Run{Agent: agentName, Status: agentscope.StatusRunning, Metadata: runMeta, CreatedAt: now, StartedAt: &ts},
		Events: append([]agentscope.Event{start}, evs...),
	})
	if agentscope.ErrorCode(err) == agentscope.ECONFLICT {
		// Another capture started it in between: append to it.
		_, err = s.rec.Commit(ctx, agentscope.AppendRequest{OrgID: org, SessionID: sessionID, Events: evs})
	}
	return err
}

// MaxOTLPExportEvents bounds the model and tool events ExportSessionOTLP
// reads of one session.
const MaxOTLPExportEvents = 100_000

// ExportSessionOTLP returns a session as one OTLP trace following the GenAI
// conventions (GET /api/v1/sessions/{id}/otlp): otlp.FromEvents over its
// model and tool events. It needs the read action; another organisation's
// session is not found.
func (s *Service) ExportSessionOTLP(ctx context.Context, sessionID string) (*coltracepb.ExportTraceServiceRequest, error) {
	run, err := s.GetRun(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	evs, err := s.ListEvents(ctx, sessionID, agentscope.EventFilter{
		Types: []agentscope.EventType{agentscope.ModelInvoked, agentscope.ModelCompleted, agentscope.ToolCalled, agentscope.ToolReturned},
		Limit: MaxOTLPExportEvents + 1,
	})
	if err != nil {
		return nil, err
	}
	if len(evs) > MaxOTLPExportEvents {
		return nil, agentscope.Errorf(agentscope.ETOOLARGE, "session %q has more than %d model and tool events, more than one OTLP export holds", sessionID, MaxOTLPExportEvents)
	}
	return otlp.FromEvents(run, evs), nil
}
