// Package launchertest is a service.Launcher for tests of the web
// interface while the runtime is not wired in: it queues managed runs
// through the real recorder and store, with the run-state events the
// runtime writes, and moves them through their states when a test says so.
// Nothing is simulated below the seam: rows, events and the live feeds are
// the real ones.
package launchertest

import (
	"context"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/service"
)

// Launcher queues runs of managed agents.
type Launcher struct {
	rec *recorder.Recorder
	mu  sync.Mutex
	// Launched lists the session ids queued so far, in order.
	launched []string
}

// New returns a Launcher that commits through rec.
func New(rec *recorder.Recorder) *Launcher { return &Launcher{rec: rec} }

var _ service.Launcher = (*Launcher)(nil)

// Launch implements service.Launcher: the run is created queued, with its
// RunQueued event, in one commit.
func (l *Launcher) Launch(ctx context.Context, orgID string, agent agentscope.Agent, in agentscope.Run) (agentscope.Run, error) {
	sid := in.SessionID
	if sid == "" {
		sid = agentscope.NewSessionID()
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	res, err := l.rec.Commit(ctx, agentscope.AppendRequest{
		OrgID: orgID, SessionID: sid,
		Start:  &agentscope.Run{Agent: agent.Name, Status: agentscope.StatusQueued, Managed: true, Input: in.Input, Metadata: in.Metadata, CreatedAt: now},
		Events: []agentscope.Event{{EventID: agentscope.NewEventID(), Type: agentscope.RunQueued, TS: now, Input: in.Input}},
	})
	if err != nil {
		return agentscope.Run{}, err
	}
	l.mu.Lock()
	l.launched = append(l.launched, sid)
	l.mu.Unlock()
	return res.Run, nil
}

// Cancel implements service.Launcher.
func (l *Launcher) Cancel(ctx context.Context, orgID, sessionID string) (agentscope.Run, error) {
	return l.finish(ctx, orgID, sessionID, agentscope.StatusCancelled, agentscope.RunCancelled, "cancelled by request")
}

// AgentTools implements service.Launcher: the fake offers agents the
// tools the starter agents name, so they can be saved.
func (l *Launcher) AgentTools(context.Context, string) ([]string, error) {
	return []string{"splunk_context_search", "session_findings", "list_runs", "get_run", "replay_session"}, nil
}

// Launched returns the session ids queued so far.
func (l *Launcher) Launched() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.launched...)
}

// Start moves a queued run to running, with its RunStarted event.
func (l *Launcher) Start(ctx context.Context, orgID, sessionID string) (agentscope.Run, error) {
	res, err := l.rec.Commit(ctx, agentscope.AppendRequest{
		OrgID: orgID, SessionID: sessionID,
		Events: []agentscope.Event{{EventID: agentscope.NewEventID(), Type: agentscope.RunStarted, TS: time.Now().UTC(), Attributes: map[string]any{"attempt": "1"}}},
		Update: &agentscope.RunUpdate{Status: agentscope.StatusRunning, From: []agentscope.RunStatus{agentscope.StatusQueued}},
	})
	return res.Run, err
}

// Complete ends a running run as completed, with SessionCompleted.
func (l *Launcher) Complete(ctx context.Context, orgID, sessionID string) (agentscope.Run, error) {
	return l.finish(ctx, orgID, sessionID, agentscope.StatusCompleted, agentscope.SessionCompleted, "")
}

// Fail ends a run as failed, with RunFailed.
func (l *Launcher) Fail(ctx context.Context, orgID, sessionID, why string) (agentscope.Run, error) {
	return l.finish(ctx, orgID, sessionID, agentscope.StatusFailed, agentscope.RunFailed, why)
}

func (l *Launcher) finish(ctx context.Context, orgID, sessionID string, status agentscope.RunStatus, typ agentscope.EventType, why string) (agentscope.Run, error) {
	ev := agentscope.Event{EventID: agentscope.NewEventID(), Type: typ, TS: time.Now().UTC(), Error: why}
	if typ == agentscope.SessionCompleted {
		ev.Status = string(status)
	}
	res, err := l.rec.Commit(ctx, agentscope.AppendRequest{
		OrgID: orgID, SessionID: sessionID,
		Events: []agentscope.Event{ev},
		Update: &agentscope.RunUpdate{Status: status, Error: why},
	})
	return res.Run, err
}
