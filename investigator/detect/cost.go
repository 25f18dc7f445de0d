package detect

import (
	"fmt"
	"time"

	"github.com/agentscope/agentscope"
)

// costDetector adds up the session's CostRecorded amounts. cost_spike:
// the total goes above max(p95, CostSpikeFactor × median) of the baseline
// sessions' costs, given MinBaselineSessions of them; the finding names
// the cost events up to the one that crossed. budget_proximity: the
// agent's spend (the budget's period spend plus this session's) reaches
// BudgetRatio of a budget's limit, then the limit itself; each level is
// one finding per budget, naming the cost event that reached it.
type costDetector struct {
	total agentscope.USD
	refs  evidenceList

	spikeOn          bool
	threshold        agentscope.USD
	p95, median      agentscope.USD
	baselineSessions int
	spiked           bool

	budgets []budgetState
}

type budgetState struct {
	agentscope.BudgetStatus
	level int // 0 below the ratio, 1 at the ratio, 2 at the limit
}

func (d *costDetector) init(cfg Config, base baselineView) {
	if base.sessions >= cfg.MinBaselineSessions && len(base.costs) > 0 {
		d.spikeOn = true
		d.baselineSessions = base.sessions
		d.p95, d.median = nearestRank(base.costs, 0.95), nearestRank(base.costs, 0.5)
		d.threshold = max(d.p95, agentscope.USD(float64(d.median)*cfg.CostSpikeFactor))
	}
	for _, b := range cfg.Budgets {
		if b.LimitUSD > 0 {
			d.budgets = append(d.budgets, budgetState{BudgetStatus: b})
		}
	}
}

func (d *costDetector) observe(s *session, ev *agentscope.Event) {
	if ev.AmountUSD == nil {
		return
	}
	d.total += *ev.AmountUSD
	d.refs.add(ev)
	if d.spikeOn && !d.spiked && d.total > d.threshold {
		d.spiked = true
		sev := SeverityMedium
		if d.total >= 2*d.threshold {
			sev = SeverityHigh
		}
		s.emit(newFinding(KindCostSpike, sev, "Cost spike: $"+d.total.String(),
			fmt.Sprintf("The session's cost reached $%s at seq %d, above $%s, the higher of the p95 ($%s) and %g × the median ($%s) of the agent's %d recent sessions.",
				d.total, ev.Seq, d.threshold, d.p95, s.cfg.CostSpikeFactor, d.median, d.baselineSessions),
			s.splCosts(), d.refs.last()...))
	}
	for i := range d.budgets {
		d.checkBudget(s, &d.budgets[i], ev)
	}
}

func (d *costDetector) checkBudget(s *session, b *budgetState, ev *agentscope.Event) {
	spent := b.SpentUSD + d.total
	level := 0
	switch {
	case spent >= b.LimitUSD:
		level = 2
	case float64(spent) >= s.cfg.BudgetRatio*float64(b.LimitUSD):
		level = 1
	}
	if level <= b.level {
		return
	}
	b.level = level
	pct := int(100 * float64(spent) / float64(b.LimitUSD))
	since := ""
	if !b.PeriodStart.IsZero() {
		since = " since " + b.PeriodStart.UTC().Format(time.RFC3339)
	}
	detail := fmt.Sprintf("With this session's $%s, the agent has spent $%s of its $%s %s budget%s (%d%%), as of seq %d.",
		d.total, spent, b.LimitUSD, b.Period, since, pct, ev.Seq)
	sev, title := SeverityMedium, fmt.Sprintf("Budget at %d%%: %s", pct, b.Period)
	if level == 2 {
		sev, title = SeverityHigh, fmt.Sprintf("Budget reached: %s", b.Period)
		if b.HardCap {
			sev = SeverityCritical
			detail += " The budget is a hard cap: the agent's runs stop."
		}
	}
	s.emit(newFinding(KindBudgetProximity, sev, title, detail, s.splCosts(), refOf(ev)))
}
