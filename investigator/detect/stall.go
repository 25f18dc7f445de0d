package detect

import (
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// stallDetector finds silences longer than StallGap while the session is
// running: from SessionStarted, RunStarted or any agent event until
// RunQueued, RunRetried (the run waits for a worker) or an end
// (SessionCompleted, RunFailed, RunCancelled). Budget and provider events
// do not change the state. Each silence is one finding with the events
// around it as evidence; an open one (found by idle) names the last event
// and is not reported again when it ends.
type stallDetector struct {
	running bool
	last    eventRef
	lastTS  time.Time
	hasLast bool
	// idleReported: the silence after last was reported open.
	idleReported bool
}

func (d *stallDetector) observe(s *session, ev *agentscope.Event) {
	if d.hasLast && d.running && !d.idleReported {
		if gap := ev.TS.Sub(d.lastTS); gap > s.cfg.StallGap {
			s.emit(newFinding(KindStall, stallSeverity(gap, s.cfg.StallGap), "Stall: no event for "+formatDuration(gap),
				fmt.Sprintf("No event for %s between seq %d and seq %d while the session was running (limit %s).",
					formatDuration(gap), d.last.seq, ev.Seq, formatDuration(s.cfg.StallGap)),
				s.splSeqRange(d.last.seq, ev.Seq), d.last, refOf(ev)))
		}
	}
	switch ev.Type {
	case agentscope.RunQueued, agentscope.RunRetried,
		agentscope.SessionCompleted, agentscope.RunFailed, agentscope.RunCancelled:
		d.running = false
	case agentscope.BudgetWarning, agentscope.BudgetExceeded, agentscope.ProviderSwitched:
	default:
		d.running = true
	}
	d.last, d.lastTS, d.hasLast, d.idleReported = refOf(ev), ev.TS, true, false
}

// idle reports the silence from the last event until now.
func (d *stallDetector) idle(s *session, now time.Time) {
	if !d.hasLast || !d.running || d.idleReported {
		return
	}
	gap := now.Sub(d.lastTS)
	if gap <= s.cfg.StallGap {
		return
	}
	d.idleReported = true
	s.emit(newFinding(KindStall, stallSeverity(gap, s.cfg.StallGap), "Stall: no event for "+formatDuration(gap),
		fmt.Sprintf("No event for %s since seq %d, the last one, while the session is running (limit %s).",
			formatDuration(gap), d.last.seq, formatDuration(s.cfg.StallGap)),
		s.splSeqRange(d.last.seq, -1), d.last))
}

func stallSeverity(gap, limit time.Duration) Severity {
	if gap >= 3*limit {
		return SeverityHigh
	}
	return SeverityMedium
}
