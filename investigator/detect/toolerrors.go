package detect

import (
	"fmt"

	"github.com/agentscope/agentscope"
)

// toolErrorDetector raises one finding per tool when its error rate so
// far (failed ToolReturned over all its ToolReturned) goes above
// ToolErrorRate, once it has ToolErrorMinCalls returns; the evidence is
// its failures.
type toolErrorDetector struct {
	tools map[string]*toolStats
}

type toolStats struct {
	calls, errors int
	failures      evidenceList
	reported      bool
}

func (d *toolErrorDetector) observe(s *session, ev *agentscope.Event) {
	if d.tools == nil {
		d.tools = map[string]*toolStats{}
	}
	st := d.tools[ev.Tool]
	if st == nil {
		st = &toolStats{}
		d.tools[ev.Tool] = st
	}
	if st.reported {
		return
	}
	st.calls++
	if failed(ev) {
		st.errors++
		st.failures.add(ev)
	}
	if st.calls < s.cfg.ToolErrorMinCalls || float64(st.errors) <= s.cfg.ToolErrorRate*float64(st.calls) {
		return
	}
	st.reported = true
	sev := SeverityMedium
	if 2*st.errors >= st.calls {
		sev = SeverityHigh
	}
	s.emit(newFinding(KindToolErrorRate, sev, "High error rate: "+ev.Tool,
		fmt.Sprintf("Tool %s failed %d of its first %d calls (%d%%) by seq %d, above the %g%% threshold.",
			ev.Tool, st.errors, st.calls, 100*st.errors/st.calls, ev.Seq, 100*s.cfg.ToolErrorRate),
		s.splToolReturns(ev.Tool), st.failures.last()...))
}
