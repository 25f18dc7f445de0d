package detect

import (
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// stormDetector finds RetryStormCount failures of one tool, or of one
// provider, within RetryStormWindow. A storm is one finding, raised by the
// failure that completes the count, with the failures in the window as
// evidence; it ends when the tool or provider has not failed for a whole
// window, and the next storm is a new finding.
type stormDetector struct {
	keys map[stormKey]*stormState
}

type stormKey struct {
	provider bool // else a tool
	name     string
}

type stormState struct {
	recent   []failure // the last RetryStormCount failures
	last     time.Time
	reported bool
}

type failure struct {
	ref eventRef
	ts  time.Time
}

// failed reports whether a ToolReturned is a failure.
func failed(ev *agentscope.Event) bool { return ev.Error != "" || ev.Status == "error" }

func (d *stormDetector) observeTool(s *session, ev *agentscope.Event) {
	if failed(ev) {
		d.observe(s, stormKey{name: ev.Tool}, ev)
	}
}

func (d *stormDetector) observeProvider(s *session, ev *agentscope.Event) {
	if ev.Error != "" {
		d.observe(s, stormKey{provider: true, name: ev.Provider}, ev)
	}
}

func (d *stormDetector) observe(s *session, key stormKey, ev *agentscope.Event) {
	if d.keys == nil {
		d.keys = map[stormKey]*stormState{}
	}
	st := d.keys[key]
	if st == nil {
		st = &stormState{}
		d.keys[key] = st
	}
	window, count := s.cfg.RetryStormWindow, s.cfg.RetryStormCount
	if st.reported && ev.TS.Sub(st.last) > window {
		st.reported = false
	}
	st.last = ev.TS
	if len(st.recent) == count {
		copy(st.recent, st.recent[1:])
		st.recent = st.recent[:count-1]
	}
	st.recent = append(st.recent, failure{refOf(ev), ev.TS})
	first := st.recent[0]
	if st.reported || len(st.recent) < count || ev.TS.Sub(first.ts) > window {
		return
	}
	st.reported = true
	refs := make([]eventRef, len(st.recent))
	for i, f := range st.recent {
		refs[i] = f.ref
	}
	what, spl := "tool "+key.name, s.splToolFailures(key.name)
	if key.provider {
		what, spl = "provider "+key.name, s.splProviderFailures(key.name)
	}
	detail := fmt.Sprintf("%d calls to %s failed within %s (seq %d to %d)", count, what, formatDuration(ev.TS.Sub(first.ts)), first.ref.seq, ev.Seq)
	if ev.Error != "" {
		detail += fmt.Sprintf("; the last error: %q", clip(ev.Error, 120))
	}
	s.emit(newFinding(KindRetryStorm, SeverityHigh, "Retry storm on "+what, detail+".", spl, refs...))
}

// formatDuration rounds d for reading: to the millisecond under a second,
// to the tenth of a second under a minute, else to the second.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
