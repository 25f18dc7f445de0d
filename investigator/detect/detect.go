package detect

import (
	"sync"
	"time"

	"github.com/agentscope/agentscope"
)

// session holds every detector's state over one session's events.
type session struct {
	cfg   Config
	base  baselineView
	scope string // the SPL search for the session's events
	// lastSeq skips events seen before, when a batch is delivered again.
	lastSeq int64
	// out collects the findings raised since it was last taken.
	out []Finding

	loops    loopDetector
	storms   stormDetector
	switches switchDetector
	costs    costDetector
	latency  latencyDetector
	toolErrs toolErrorDetector
	stall    stallDetector
	schema   schemaDetector
}

func newSession(sessionID string, base Baseline, cfg Config) (*session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	scope, err := agentscope.SessionQuery(cfg.Index, sessionID)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, base: base.forSession(sessionID), scope: scope}
	s.switches.init(cfg)
	s.costs.init(cfg, s.base)
	return s, nil
}

// observe feeds one event to every detector.
func (s *session) observe(ev *agentscope.Event) {
	if ev.Seq > 0 {
		if ev.Seq <= s.lastSeq {
			return
		}
		s.lastSeq = ev.Seq
	}
	s.stall.observe(s, ev)
	s.schema.observe(s, ev)
	switch ev.Type {
	case agentscope.ToolCalled:
		s.loops.observeTool(s, ev)
	case agentscope.ToolReturned:
		s.storms.observeTool(s, ev)
		s.toolErrs.observe(s, ev)
	case agentscope.ModelInvoked:
		s.loops.observeModel(s, ev)
		s.switches.observe(s, ev)
	case agentscope.ModelCompleted:
		s.storms.observeProvider(s, ev)
		s.switches.observe(s, ev)
		s.latency.observe(s, ev)
	case agentscope.ProviderSwitched:
		s.switches.observeSwitch(ev)
	case agentscope.CostRecorded:
		s.costs.observe(s, ev)
	}
}

func (s *session) emit(f Finding) { s.out = append(s.out, f) }

// take returns the findings raised since the last call, sorted.
func (s *session) take() []Finding {
	out := s.out
	s.out = nil
	sortFindings(out)
	return out
}

// Run runs every detector over a session's events, given in seq order,
// and returns the findings sorted by severity (most severe first), then
// by their first event. base is the agent's recent sessions; the session
// itself is left out of it if present. With cfg.Running and cfg.Now set,
// a silence from the last event until Now is reported as a stall too.
// It fails only on an invalid Config, index or session id.
func Run(sessionID string, events []agentscope.Event, base Baseline, cfg Config) ([]Finding, error) {
	s, err := newSession(sessionID, base, cfg)
	if err != nil {
		return nil, err
	}
	for i := range events {
		s.observe(&events[i])
	}
	if s.cfg.Running && !s.cfg.Now.IsZero() {
		s.stall.idle(s, s.cfg.Now)
	}
	return s.take(), nil
}

// Live runs the detectors over a running session as its events are
// committed. Each finding is reported once, by the call that raised it;
// fed the same events in any batches, Live raises the same findings as
// Run. It is safe for concurrent use.
type Live struct {
	mu  sync.Mutex
	s   *session
	all []Finding
}

// NewLive returns detectors for the session sessionID. cfg.Running and
// cfg.Now are not used: call CheckIdle for the silence after the last
// event.
func NewLive(sessionID string, base Baseline, cfg Config) (*Live, error) {
	s, err := newSession(sessionID, base, cfg)
	if err != nil {
		return nil, err
	}
	return &Live{s: s}, nil
}

// Observe reads a batch of newly committed events, in seq order, and
// returns the findings they raise. Events whose seq is not above the last
// one observed are ignored, so a batch delivered twice raises nothing new.
// Live keeps references to the events' JSON values: do not modify them
// afterwards.
func (l *Live) Observe(batch []agentscope.Event) []Finding {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range batch {
		l.s.observe(&batch[i])
	}
	return l.record(l.s.take())
}

// CheckIdle reports a stall if the session is running and has been silent
// for longer than the stall gap at now. A silence is reported once: when
// the next event ends it, no second finding follows, so a session checked
// this way may differ from Run by that finding's wording and evidence.
func (l *Live) CheckIdle(now time.Time) []Finding {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.stall.idle(l.s, now)
	return l.record(l.s.take())
}

// Findings returns every finding raised so far, sorted as Run sorts them.
func (l *Live) Findings() []Finding {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]Finding(nil), l.all...)
	sortFindings(out)
	return out
}

func (l *Live) record(fs []Finding) []Finding {
	l.all = append(l.all, fs...)
	return fs
}
