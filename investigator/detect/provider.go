package detect

import (
	"fmt"

	"github.com/agentscope/agentscope"
)

// modelPair is who served a model call.
type modelPair struct{ provider, model string }

func (p modelPair) String() string { return p.provider + " " + p.model }

// allows reports whether a call to q meets the expectation p, whose empty
// parts match anything.
func (p modelPair) allows(q modelPair) bool {
	return (p.provider == "" || p.provider == q.provider) && (p.model == "" || p.model == q.model)
}

// switchDetector finds model calls served by a provider and model the
// session has not used before — or, first, other than the configured
// ones — with no ProviderSwitched event announcing them. Each pair is
// reported once, by its first call; its evidence is the previous call and
// that one. Returning to a pair already used is not a switch.
type switchDetector struct {
	expected    modelPair
	hasExpected bool
	seen        map[modelPair]bool
	current     modelPair
	currentRef  eventRef
	hasCurrent  bool
	// announced is the pair of the last ProviderSwitched not yet followed
	// by a call to it.
	announced    modelPair
	hasAnnounced bool
}

func (d *switchDetector) init(cfg Config) {
	d.seen = map[modelPair]bool{}
	d.expected = modelPair{cfg.ExpectedProvider, cfg.ExpectedModel}
	d.hasExpected = d.expected != (modelPair{})
}

func (d *switchDetector) observeSwitch(ev *agentscope.Event) {
	d.announced, d.hasAnnounced = modelPair{ev.Provider, ev.Model}, true
}

func (d *switchDetector) observe(s *session, ev *agentscope.Event) {
	p := modelPair{ev.Provider, ev.Model}
	explained := d.hasAnnounced && d.announced.allows(p)
	if explained {
		d.hasAnnounced = false
	}
	switch {
	case explained, d.hasCurrent && p == d.current, d.seen[p]:
	case !d.hasCurrent && !d.hasExpected:
		// The first call sets the expectation.
	case !d.hasCurrent:
		if !d.expected.allows(p) {
			s.emit(newFinding(KindProviderSwitch, SeverityHigh, "Unexpected model: "+p.String(),
				fmt.Sprintf("The model call at seq %d was served by %s, not the configured %s, and no ProviderSwitched event explains it.", ev.Seq, p, d.expectedText()),
				s.splModelCalls(), refOf(ev)))
		}
	default:
		sev, why := SeverityMedium, ""
		if d.hasExpected && !d.expected.allows(p) {
			sev, why = SeverityHigh, fmt.Sprintf(" (configured: %s)", d.expectedText())
		}
		s.emit(newFinding(KindProviderSwitch, sev, "Unexplained switch to "+p.String(),
			fmt.Sprintf("The model call at seq %d was served by %s after %s at seq %d%s, and no ProviderSwitched event explains it.", ev.Seq, p, d.current, d.currentRef.seq, why),
			s.splModelCalls(), d.currentRef, refOf(ev)))
	}
	d.seen[p] = true
	d.current, d.currentRef, d.hasCurrent = p, refOf(ev), true
}

func (d *switchDetector) expectedText() string {
	switch {
	case d.expected.provider == "":
		return "model " + d.expected.model
	case d.expected.model == "":
		return "provider " + d.expected.provider
	}
	return d.expected.String()
}
