package detect

import (
	"slices"

	"github.com/agentscope/agentscope"
)

// Baseline is what an agent's recent sessions looked like: what each cost,
// and which attribute keys each event type carried. Build it with
// BuildBaseline; the zero value is an empty baseline, against which the
// cost and schema detectors raise nothing.
type Baseline struct {
	sessions []sessionProfile
	all      baselineView
}

// sessionProfile summarises one baseline session.
type sessionProfile struct {
	id    string
	cost  agentscope.USD
	types map[agentscope.EventType]*typeProfile
}

// typeProfile counts one event type's events and attribute keys, in one
// session or summed over several.
type typeProfile struct {
	sessions, events int
	keys             map[string]*keyCount
}

type keyCount struct{ sessions, events int }

// baselineView is the baseline as the detectors read it.
type baselineView struct {
	sessions int
	costs    []agentscope.USD // sorted
	types    map[agentscope.EventType]*typeProfile
}

// BuildBaseline summarises recent sessions of one agent, each a session's
// events. Pass completed sessions; a session that is later analysed
// against this baseline is left out of its own comparison.
func BuildBaseline(sessions [][]agentscope.Event) Baseline {
	var b Baseline
	for _, evs := range sessions {
		p := sessionProfile{types: map[agentscope.EventType]*typeProfile{}}
		for i := range evs {
			ev := &evs[i]
			if p.id == "" {
				p.id = ev.SessionID
			}
			if ev.Type == agentscope.CostRecorded && ev.AmountUSD != nil {
				p.cost += *ev.AmountUSD
			}
			tp := p.types[ev.Type]
			if tp == nil {
				tp = &typeProfile{sessions: 1, keys: map[string]*keyCount{}}
				p.types[ev.Type] = tp
			}
			tp.events++
			for k := range ev.Attributes {
				kc := tp.keys[k]
				if kc == nil {
					kc = &keyCount{sessions: 1}
					tp.keys[k] = kc
				}
				kc.events++
			}
		}
		b.sessions = append(b.sessions, p)
	}
	b.all = b.view("")
	return b
}

// Sessions returns the number of sessions in the baseline.
func (b Baseline) Sessions() int { return len(b.sessions) }

// forSession returns the baseline without the session analysed, if it is
// one of the baseline's.
func (b Baseline) forSession(sessionID string) baselineView {
	for _, p := range b.sessions {
		if p.id != "" && p.id == sessionID {
			return b.view(sessionID)
		}
	}
	if b.all.types == nil {
		return b.view("")
	}
	return b.all
}

// view sums the session profiles, leaving out the session exclude.
func (b Baseline) view(exclude string) baselineView {
	v := baselineView{types: map[agentscope.EventType]*typeProfile{}}
	for _, p := range b.sessions {
		if exclude != "" && p.id == exclude {
			continue
		}
		v.sessions++
		v.costs = append(v.costs, p.cost)
		for t, tp := range p.types {
			sum := v.types[t]
			if sum == nil {
				sum = &typeProfile{keys: map[string]*keyCount{}}
				v.types[t] = sum
			}
			sum.sessions += tp.sessions
			sum.events += tp.events
			for k, kc := range tp.keys {
				s := sum.keys[k]
				if s == nil {
					s = &keyCount{}
					sum.keys[k] = s
				}
				s.sessions += kc.sessions
				s.events += kc.events
			}
		}
	}
	slices.Sort(v.costs)
	return v
}

// nearestRank returns the p-quantile (0 < p < 1) of sorted values by
// nearest rank: the value at 0-based rank floor(p × n), as the SPL
// engine's perc and median compute it.
func nearestRank[T any](sorted []T, p float64) T {
	i := int(p * float64(len(sorted)))
	return sorted[min(i, len(sorted)-1)]
}
