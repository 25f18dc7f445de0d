// Package billing is AgentScope's plans and their limits: the plans file
// (AGENTSCOPE_PLANS_FILE, or a built-in set), which plan an organisation
// is on, its usage this billing period against every limit, and the
// checks that refuse what a plan does not allow (EPLANLIMIT, HTTP 402).
//
// With no plans file and no Stripe key billing is off: there are no Plans
// (nil), every organisation is unlimited, and nothing here runs. A plans
// file without Stripe enforces its limits (an operator's quotas).
package billing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"time"

	"github.com/agentscope/agentscope"
)

// Limits are what a plan allows. A limit left out (nil) is unlimited.
type Limits struct {
	// EventsPerMonth bounds the events an organisation stores in one
	// billing period (a calendar month, UTC); every stored event counts.
	EventsPerMonth *int64 `json:"events_per_month,omitempty"`
	// Seats bounds members plus pending invitations.
	Seats *int64 `json:"seats,omitempty"`
	// RetentionDays is how long sessions are kept: the retention job
	// deletes whole sessions that started longer ago.
	RetentionDays *int64 `json:"retention_days,omitempty"`
	// ManagedRunUSDPerMonth bounds what managed runs spend in a period.
	ManagedRunUSDPerMonth *agentscope.USD `json:"managed_run_usd_per_month,omitempty"`
	// APIKeys bounds the organisation's active API keys.
	APIKeys *int64 `json:"api_keys,omitempty"`
}

// Plan is one plan of the plans file.
type Plan struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	StripePriceID string `json:"stripe_price_id,omitempty"`
	Limits        Limits `json:"limits"`
	// OveragePercent, when set, is how far past events_per_month the
	// plan may go before events are refused; nil takes the file's.
	OveragePercent *int64 `json:"overage_percent,omitempty"`
}

// Plans is a parsed plans file.
type Plans struct {
	// Default is the plan new organisations start on.
	Default string `json:"default"`
	// OveragePercent is the overage allowance of plans that set none.
	OveragePercent int64  `json:"overage_percent,omitempty"`
	Plans          []Plan `json:"plans"`
	// Stripe: organisations pay for their plans through Stripe (a hosted
	// install, AGENTSCOPE_STRIPE_SECRET_KEY), so the way past a limit is
	// the Billing page; without, the plans are an operator's quotas and
	// the way past one is to ask the operator. Not part of the file.
	Stripe bool `json:"-"`
}

// MaxOveragePercent bounds an overage allowance.
const MaxOveragePercent = 1000

var planIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Builtin returns the plans used when Stripe is configured without a
// plans file: a free plan (the default) and a team plan, without Stripe
// prices (a hosted install names its prices in its own plans file).
func Builtin() *Plans {
	n := func(v int64) *int64 { return &v }
	usd := func(v int64) *agentscope.USD { u := agentscope.USD(v * agentscope.NanosPerUSD); return &u }
	return &Plans{Default: "free", Plans: []Plan{
		{ID: "free", Name: "Free", Limits: Limits{EventsPerMonth: n(100_000), Seats: n(3), RetentionDays: n(7), ManagedRunUSDPerMonth: usd(5), APIKeys: n(5)}},
		{ID: "team", Name: "Team", Limits: Limits{EventsPerMonth: n(10_000_000), Seats: n(50), RetentionDays: n(90), ManagedRunUSDPerMonth: usd(500), APIKeys: n(100)}},
	}}
}

// Configure returns the plans billing runs with: those of plansFile when
// it is set, the built-in ones when only Stripe is configured, and nil
// (billing off, every organisation unlimited) when neither is.
func Configure(plansFile string, stripe bool) (*Plans, error) {
	switch {
	case plansFile != "":
		p, err := Load(plansFile)
		if err != nil {
			return nil, err
		}
		p.Stripe = stripe
		return p, nil
	case stripe:
		p := Builtin()
		p.Stripe = true
		return p, nil
	}
	return nil, nil
}

// Marshal returns the plans as a plans file's JSON, which Parse reads
// back to the same plans (Stripe aside, which is not part of the file):
// what is published to the database (Shared).
func (p *Plans) Marshal() ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode the plans: %w", err)
	}
	return b, nil
}

// LimitAdvice says how an organisation gets past a limit of its plan:
// the Billing page with Stripe, the operator without
// (sqlstore.LimitAdvisor; the EPLANLIMIT errors end with it). ORG_ID in
// it stands for the organisation's id, which the error fills in
// (agentscope.LimitAdviceFor).
func (p *Plans) LimitAdvice() string {
	if p.Stripe {
		return "upgrade the plan on the Billing page (owners)"
	}
	return "ask the operator of this AgentScope to move the organisation to a larger plan (agentscope billing set-plan --org ORG_ID PLAN)"
}

// Load reads and parses the plans file at path.
func Load(path string) (*Plans, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plans file (AGENTSCOPE_PLANS_FILE): %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("plans file %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes a plans file strictly: an unknown field, a value of the
// wrong type or a limit out of range is an error naming where it is
// (plans[1].limits.seats), and the default must name one of the plans.
func Parse(b []byte) (*Plans, error) {
	var top struct {
		Default        string            `json:"default"`
		OveragePercent *int64            `json:"overage_percent"`
		Plans          []json.RawMessage `json:"plans"`
	}
	if err := decodeStrict(b, &top, ""); err != nil {
		return nil, err
	}
	p := &Plans{Default: top.Default}
	if top.OveragePercent != nil {
		if err := checkOverage("overage_percent", *top.OveragePercent); err != nil {
			return nil, err
		}
		p.OveragePercent = *top.OveragePercent
	}
	if len(top.Plans) == 0 {
		return nil, agentscope.FieldErrorf("plans", "must list at least one plan")
	}
	seen := map[string]bool{}
	for i, raw := range top.Plans {
		at := fmt.Sprintf("plans[%d]", i)
		var pl struct {
			ID             string          `json:"id"`
			Name           string          `json:"name"`
			StripePriceID  string          `json:"stripe_price_id"`
			Limits         json.RawMessage `json:"limits"`
			OveragePercent *int64          `json:"overage_percent"`
		}
		if err := decodeStrict(raw, &pl, at); err != nil {
			return nil, err
		}
		if !planIDPattern.MatchString(pl.ID) {
			return nil, agentscope.FieldErrorf(at+".id", "%q is not a plan id (lower-case letters, digits, - and _, at most 64)", pl.ID)
		}
		if seen[pl.ID] {
			return nil, agentscope.FieldErrorf(at+".id", "%q is listed twice", pl.ID)
		}
		seen[pl.ID] = true
		plan := Plan{ID: pl.ID, Name: pl.Name, StripePriceID: pl.StripePriceID, OveragePercent: pl.OveragePercent}
		if plan.Name == "" {
			plan.Name = pl.ID
		}
		if pl.OveragePercent != nil {
			if err := checkOverage(at+".overage_percent", *pl.OveragePercent); err != nil {
				return nil, err
			}
		}
		if len(pl.Limits) > 0 && !bytes.Equal(bytes.TrimSpace(pl.Limits), []byte("null")) {
			if err := decodeStrict(pl.Limits, &plan.Limits, at+".limits"); err != nil {
				return nil, err
			}
		}
		for name, v := range map[string]*int64{"events_per_month": plan.Limits.EventsPerMonth, "seats": plan.Limits.Seats, "retention_days": plan.Limits.RetentionDays, "api_keys": plan.Limits.APIKeys} {
			if v != nil && *v < 0 {
				return nil, agentscope.FieldErrorf(at+".limits."+name, "must not be negative, got %d", *v)
			}
		}
		if d := plan.Limits.RetentionDays; d != nil && *d == 0 {
			return nil, agentscope.FieldErrorf(at+".limits.retention_days", "must be at least 1 (leave it out to keep sessions for ever)")
		}
		p.Plans = append(p.Plans, plan)
	}
	if top.Default == "" {
		return nil, agentscope.FieldErrorf("default", "is required: the id of the plan new organisations start on")
	}
	if !seen[top.Default] {
		return nil, agentscope.FieldErrorf("default", "%q is not one of the plans", top.Default)
	}
	return p, nil
}

func checkOverage(field string, v int64) error {
	if v < 0 || v > MaxOveragePercent {
		return agentscope.FieldErrorf(field, "must be between 0 and %d, got %d", MaxOveragePercent, v)
	}
	return nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data, with errors naming the field under at.
func decodeStrict(b []byte, v any, at string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, at)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return agentscope.Errorf(agentscope.EINVALID, "%s: unexpected data after the object", orTop(at))
	}
	return nil
}

func decodeError(err error, at string) error {
	join := func(f string) string {
		if at == "" {
			return f
		}
		if f == "" {
			return at
		}
		return at + "." + f
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return agentscope.FieldErrorf(join(typeErr.Field), "must be %s, got a JSON %s", typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return agentscope.Errorf(agentscope.EINVALID, "%s: invalid JSON at byte %d: %v", orTop(at), syntaxErr.Offset, err)
	}
	var msg string
	if _, err := fmt.Sscanf(err.Error(), "json: unknown field %q", &msg); err == nil {
		return agentscope.FieldErrorf(join(msg), "is not a known field")
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return agentscope.Errorf(agentscope.EINVALID, "%s: the JSON ends early", orTop(at))
	}
	// A value the type's own decoder refused (an amount in dollars).
	return agentscope.FieldErrorf(orTop(at), "%v", err)
}

func orTop(at string) string {
	if at == "" {
		return "plans file"
	}
	return at
}

// Lookup returns the plan id, and whether the file has it.
func (p *Plans) Lookup(id string) (Plan, bool) {
	for _, pl := range p.Plans {
		if pl.ID == id {
			return pl, true
		}
	}
	return Plan{}, false
}

// Resolve returns the plan an organisation whose stored plan is id is on:
// "" is the default, and a plan the file no longer lists is the default
// too (an operator removed it; the organisation is not left unlimited).
func (p *Plans) Resolve(id string) Plan {
	if pl, ok := p.Lookup(id); ok {
		return pl
	}
	pl, _ := p.Lookup(p.Default)
	return pl
}

// DefaultPlan is the plan new organisations start on (sqlstore.UsagePolicy).
func (p *Plans) DefaultPlan() string { return p.Default }

// Period names the billing period t falls in: its calendar month in UTC,
// "2006-01" (sqlstore.UsagePolicy).
func (p *Plans) Period(t time.Time) string { return Period(t) }

// Period names the billing period t falls in (see Plans.Period).
func Period(t time.Time) string { return t.UTC().Format("2006-01") }

// PeriodBounds returns the start (inclusive) and end (exclusive) of the
// period t falls in.
func PeriodBounds(t time.Time) (start, end time.Time) {
	t = t.UTC()
	start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// overage returns plan's overage allowance in percent.
func (p *Plans) overage(pl Plan) int64 {
	if pl.OveragePercent != nil {
		return *pl.OveragePercent
	}
	return p.OveragePercent
}

// EventLimit returns how many events an organisation on plan id may store
// in one period, its overage allowance included (sqlstore.UsagePolicy).
func (p *Plans) EventLimit(id string) (int64, bool) {
	pl := p.Resolve(id)
	if pl.Limits.EventsPerMonth == nil {
		return 0, false
	}
	return withOverage(*pl.Limits.EventsPerMonth, p.overage(pl)), true
}

// withOverage is limit raised by pct percent, rounded down.
func withOverage(limit, pct int64) int64 {
	if pct == 0 {
		return limit
	}
	// limit and pct are not negative (Parse), pct at most
	// MaxOveragePercent; a limit too large to raise without wrapping is
	// the largest count there is.
	room := math.MaxInt64 - limit
	if limit/100 > room/pct {
		return math.MaxInt64
	}
	extra := limit/100*pct + limit%100*pct/100
	if extra > room {
		return math.MaxInt64
	}
	return limit + extra
}
