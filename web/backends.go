package web

import (
	"context"
	"errors"
	"reflect"

	"github.com/agentscope/agentscope"
)

// The UI's optional backends. Each is small and defined here, where it is
// consumed (search is the root's agentscope.Searcher); the binary adapts
// the real implementations (the Splunk forwarder, the runtime's budgets) in
// its wiring. When one is nil the panel that needs it says plainly that it
// is not configured.

// HealthSource reports the Splunk forwarder's health.
type HealthSource interface {
	SplunkHealth(ctx context.Context) (agentscope.SplunkHealth, error)
}

// HealthFunc adapts a function to HealthSource.
type HealthFunc func(ctx context.Context) (agentscope.SplunkHealth, error)

// SplunkHealth implements HealthSource.
func (f HealthFunc) SplunkHealth(ctx context.Context) (agentscope.SplunkHealth, error) {
	return f(ctx)
}

// BudgetSource reports an organisation's agent budgets, each with the
// agent's spend in the budget's current period.
type BudgetSource interface {
	AgentBudgets(ctx context.Context, orgID string) ([]agentscope.BudgetStatus, error)
}

// BudgetFunc adapts a function to BudgetSource.
type BudgetFunc func(ctx context.Context, orgID string) ([]agentscope.BudgetStatus, error)

// AgentBudgets implements BudgetSource.
func (f BudgetFunc) AgentBudgets(ctx context.Context, orgID string) ([]agentscope.BudgetStatus, error) {
	return f(ctx, orgID)
}

// positioned is a query error that knows the byte offset in the query it
// is about.
type positioned interface{ Position() int }

// errorPosition finds the byte offset a query error points at: an error in
// err's chain with a Position() int method, or one that is a struct (or a
// pointer to one) with an int field Pos, as spl.SyntaxError
// has. The second form lets a search engine report positions without
// depending on this package.
func errorPosition(err error) (int, bool) {
	for err != nil {
		if p, ok := err.(positioned); ok {
			return p.Position(), true
		}
		if pos, ok := posField(err); ok {
			return pos, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if pos, ok := errorPosition(e); ok {
					return pos, true
				}
			}
			return 0, false
		default:
			err = errors.Unwrap(err)
		}
	}
	return 0, false
}

func posField(err error) (int, bool) {
	v := reflect.ValueOf(err)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, false
	}
	f := v.FieldByName("Pos")
	if !f.IsValid() || !f.CanInt() {
		return 0, false
	}
	return int(f.Int()), true
}
