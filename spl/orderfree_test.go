package spl

import "testing"

// TestOrderFree pins which queries let the store read events in any order:
// only those whose answer cannot depend on it.
func TestOrderFree(t *testing.T) {
	for q, want := range map[string]bool{
		`type=ModelCompleted | stats count avg(duration_ms) perc95(duration_ms) by agent, model`:                                                              true,
		`* | eval x=duration_ms*2 | where x > 3 | stats sum(x) dc(model) values(tool) stdev(x) by agent`:                                                      true,
		`* | rename agent as a | fields a duration_ms | stats min(duration_ms) max(duration_ms) range(duration_ms) median(duration_ms) var(duration_ms) by a`: true,
		`* | stats count | sort -count`:                     true,
		`* | stats first(model) by agent`:                   false,
		`* | stats last(model) by agent`:                    false,
		`* | stats list(model) by agent`:                    false,
		`* | stats mode(model)`:                             false,
		`* | stats earliest(model) latest(model)`:           false,
		`* | head 10 | stats count`:                         false,
		`* | dedup session_id | stats count`:                false,
		`* | eventstats count by agent`:                     false,
		`* | table _time type`:                              false,
		`*`:                                                 false,
		`* | timechart span=1h count`:                       false,
		`* | top tool`:                                      false,
		`* | sort -duration_ms | stats count`:               false,
		`* | fillnull | stats count by model`:               false,
		`* | fillnull value=x model | stats count by model`: true,
	} {
		p, err := parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got := orderFree(p); got != want {
			t.Errorf("orderFree(%s) = %v, want %v", q, got, want)
		}
	}
}
