package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agentscope/agentscope"
)

// schemaDetector compares each event's attribute keys with what its type
// carried in the baseline, for types seen in at least MinBaselineSessions
// baseline sessions. A key no baseline event of the type had is new; a key
// every baseline event of the type had is expected, and missing when an
// event lacks it. Each (type, key) is reported once, by the first event
// that shows it; the keys one event shows are one finding (new ones and
// missing ones apart).
type schemaDetector struct {
	types map[agentscope.EventType]*typeSchema
}

// typeSchema is one event type's baseline keys and what was reported.
type typeSchema struct {
	skip     bool // too few baseline sessions to judge
	known    map[string]*keyCount
	expected []string // sorted
	reported map[string]bool
}

func (d *schemaDetector) schemaOf(s *session, t agentscope.EventType) *typeSchema {
	if ts, ok := d.types[t]; ok {
		return ts
	}
	if d.types == nil {
		d.types = map[agentscope.EventType]*typeSchema{}
	}
	ts := &typeSchema{skip: true}
	tp := s.base.types[t]
	if tp != nil && s.base.sessions >= s.cfg.MinBaselineSessions && tp.sessions >= s.cfg.MinBaselineSessions {
		ts = &typeSchema{known: tp.keys, reported: map[string]bool{}}
		for k, kc := range tp.keys {
			if kc.events == tp.events {
				ts.expected = append(ts.expected, k)
			}
		}
		slices.Sort(ts.expected)
	}
	d.types[t] = ts
	return ts
}

func (d *schemaDetector) observe(s *session, ev *agentscope.Event) {
	ts := d.schemaOf(s, ev.Type)
	if ts.skip {
		return
	}
	var added, missing []string
	for k := range ev.Attributes {
		if ts.known[k] == nil && !ts.reported[k] {
			added = append(added, k)
		}
	}
	for _, k := range ts.expected {
		if _, ok := ev.Attributes[k]; !ok && !ts.reported[k] {
			missing = append(missing, k)
		}
	}
	if len(added) > 0 {
		slices.Sort(added)
		d.report(s, ts, ev, added, SeverityLow, "New attribute keys on "+string(ev.Type),
			fmt.Sprintf("%s at seq %d has attribute keys that no %s of the agent's %d recent sessions had: %s.",
				ev.Type, ev.Seq, ev.Type, s.base.sessions, strings.Join(added, ", ")))
	}
	if len(missing) > 0 {
		d.report(s, ts, ev, missing, SeverityMedium, "Missing attribute keys on "+string(ev.Type),
			fmt.Sprintf("%s at seq %d lacks attribute keys that every %s of the agent's %d recent sessions had: %s.",
				ev.Type, ev.Seq, ev.Type, s.base.sessions, strings.Join(missing, ", ")))
	}
}

func (d *schemaDetector) report(s *session, ts *typeSchema, ev *agentscope.Event, keys []string, sev Severity, title, detail string) {
	for _, k := range keys {
		ts.reported[k] = true
	}
	s.emit(newFinding(KindSchemaDrift, sev, title, detail, s.splEventsOfType(string(ev.Type)), refOf(ev)))
}
