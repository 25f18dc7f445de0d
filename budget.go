package agentscope

import "time"

// BudgetPeriod is the calendar window an agent's cost budget covers. Periods
// are in UTC: a day starts at 00:00, a week on Monday 00:00, a month on its
// first day at 00:00.
type BudgetPeriod string

// Budget periods.
const (
	PeriodDay   BudgetPeriod = "day"
	PeriodWeek  BudgetPeriod = "week"
	PeriodMonth BudgetPeriod = "month"
)

// Valid reports whether p is a known period.
func (p BudgetPeriod) Valid() bool { return p == PeriodDay || p == PeriodWeek || p == PeriodMonth }

// Start returns the beginning of the period that contains t.
func (p BudgetPeriod) Start(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch p {
	case PeriodWeek:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case PeriodMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// AgentCostBudget limits what one agent of an organisation may spend per
// period. Once the period's spend reaches the limit, a hard cap refuses the
// agent's new runs and LLM gateway calls and stops its managed runs in
// flight (a self-reported run already under way is recorded, not stopped:
// AgentScope does not run it); a soft cap only records BudgetWarning
// events. An agent has at most one budget per period.
type AgentCostBudget struct {
	OrgID     string       `json:"-"`
	Agent     string       `json:"agent"`
	Period    BudgetPeriod `json:"period"`
	LimitUSD  USD          `json:"limit_usd"`
	HardCap   bool         `json:"hard_cap"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// BudgetStatus is a budget with the agent's spend in the current period.
type BudgetStatus struct {
	AgentCostBudget
	PeriodStart time.Time `json:"period_start"`
	SpentUSD    USD       `json:"spent_usd"`
	// Exceeded reports SpentUSD >= LimitUSD.
	Exceeded bool `json:"exceeded"`
}
