package detect

import (
	"cmp"
	"slices"

	"github.com/agentscope/agentscope"
)

// Kind names a detector and the findings it raises.
type Kind string

// Detector kinds.
const (
	KindLoop            Kind = "loop"
	KindRetryStorm      Kind = "retry_storm"
	KindProviderSwitch  Kind = "provider_switch"
	KindCostSpike       Kind = "cost_spike"
	KindLatencySLO      Kind = "latency_slo"
	KindToolErrorRate   Kind = "tool_error_rate"
	KindStall           Kind = "stall"
	KindBudgetProximity Kind = "budget_proximity"
	KindSchemaDrift     Kind = "schema_drift"
)

// Kinds returns every detector kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{KindLoop, KindRetryStorm, KindProviderSwitch, KindCostSpike, KindLatencySLO,
		KindToolErrorRate, KindStall, KindBudgetProximity, KindSchemaDrift}
}

// Severity grades a finding. It is the investigator report's risk level,
// so a report's risk_level can be the highest of its findings'.
type Severity = agentscope.RiskLevel

// Severities, from least to most severe; Rank orders them.
const (
	SeverityLow      = agentscope.RiskLow
	SeverityMedium   = agentscope.RiskMedium
	SeverityHigh     = agentscope.RiskHigh
	SeverityCritical = agentscope.RiskCritical
)

// MaxEvidence caps the events a finding lists; when more show it, the most
// recent are kept.
const MaxEvidence = 50

// Finding is one detected pattern.
type Finding struct {
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	// Title is a short label; Detail one sentence with the numbers.
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// EventIDs and Seqs are the events that show the finding, in seq order,
	// at most MaxEvidence.
	EventIDs []string `json:"event_ids"`
	Seqs     []int64  `json:"seqs"`
	// SPL lists those events (among others of the session), in Splunk and
	// in the embedded engine alike.
	SPL string `json:"spl"`
}

// DetectorFinding returns f as an investigation report lists it.
func (f Finding) DetectorFinding() agentscope.DetectorFinding {
	return agentscope.DetectorFinding{Kind: string(f.Kind), Severity: f.Severity, Title: f.Title, Detail: f.Detail,
		EventIDs: f.EventIDs, Seqs: f.Seqs, SPL: f.SPL}
}

// MaxSeverity returns the highest severity among fs, or "" when fs is
// empty.
func MaxSeverity(fs []Finding) Severity {
	var top Severity
	for _, f := range fs {
		if f.Severity.Rank() > top.Rank() {
			top = f.Severity
		}
	}
	return top
}

// sortFindings orders findings most severe first, then by their first
// event, kind and wording, so the same input always gives the same list.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(b.Severity.Rank(), a.Severity.Rank()); c != 0 {
			return c
		}
		if c := cmp.Compare(firstSeq(a), firstSeq(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return cmp.Compare(a.Detail, b.Detail)
	})
}

func firstSeq(f Finding) int64 {
	if len(f.Seqs) == 0 {
		return 0
	}
	return f.Seqs[0]
}

// eventRef is an event named as evidence.
type eventRef struct {
	id  string
	seq int64
}

func refOf(ev *agentscope.Event) eventRef { return eventRef{ev.EventID, ev.Seq} }

// evidenceList collects the most recent MaxEvidence references with
// amortised O(1) appends.
type evidenceList struct{ refs []eventRef }

func (l *evidenceList) add(ev *agentscope.Event) {
	if len(l.refs) >= 2*MaxEvidence {
		l.refs = append(l.refs[:0], l.refs[len(l.refs)-MaxEvidence+1:]...)
	}
	l.refs = append(l.refs, refOf(ev))
}

// last returns the most recent references, at most MaxEvidence.
func (l *evidenceList) last() []eventRef {
	if len(l.refs) > MaxEvidence {
		return l.refs[len(l.refs)-MaxEvidence:]
	}
	return l.refs
}

// newFinding builds a finding with its evidence in seq order.
func newFinding(kind Kind, sev Severity, title, detail, spl string, refs ...eventRef) Finding {
	if len(refs) > MaxEvidence {
		refs = refs[len(refs)-MaxEvidence:]
	}
	f := Finding{Kind: kind, Severity: sev, Title: title, Detail: detail, SPL: spl,
		EventIDs: make([]string, len(refs)), Seqs: make([]int64, len(refs))}
	for i, r := range refs {
		f.EventIDs[i], f.Seqs[i] = r.id, r.seq
	}
	return f
}
