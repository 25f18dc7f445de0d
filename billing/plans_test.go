package billing_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
)

const issueExample = `{"default": "free",
 "plans": [{"id": "free", "name": "Free", "stripe_price_id": "price_123",
            "limits": {"events_per_month": 100000, "seats": 3, "retention_days": 7,
                       "managed_run_usd_per_month": 5, "api_keys": 5}},
           {"id": "pro", "overage_percent": 10, "limits": {"events_per_month": 1000}},
           {"id": "unlimited"}]}`

func TestParseIssueExample(t *testing.T) {
	p, err := billing.Parse([]byte(issueExample))
	if err != nil {
		t.Fatal(err)
	}
	free, ok := p.Lookup("free")
	if !ok || free.Name != "Free" || free.StripePriceID != "price_123" || *free.Limits.Seats != 3 ||
		*free.Limits.ManagedRunUSDPerMonth != 5*agentscope.NanosPerUSD || *free.Limits.RetentionDays != 7 {
		t.Errorf("free = %+v", free)
	}
	for _, c := range []struct {
		plan  string
		limit int64
		ok    bool
	}{{"free", 100000, true}, {"pro", 1100, true}, {"unlimited", 0, false}, {"", 100000, true}, {"gone", 100000, true}} {
		if n, ok := p.EventLimit(c.plan); n != c.limit || ok != c.ok {
			t.Errorf("EventLimit(%q) = %d, %v; want %d, %v", c.plan, n, ok, c.limit, c.ok)
		}
	}
	if p.DefaultPlan() != "free" || p.Period(time.Date(2026, 12, 31, 23, 0, 0, 0, time.FixedZone("x", -3600))) != "2027-01" {
		t.Errorf("default %q, period wrong", p.DefaultPlan())
	}
}

func TestGlobalOverage(t *testing.T) {
	p, err := billing.Parse([]byte(`{"default":"a","overage_percent":25,"plans":[{"id":"a","limits":{"events_per_month":1001}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := p.EventLimit("a"); n != 1251 {
		t.Errorf("limit with 25%% overage = %d, want 1251", n)
	}
}

// TestParseErrorsNameTheField: every mistake names where it is.
func TestParseErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"default":"a","plans":[{"id":"a","limits":{"seat":3}}]}`, `plans[0].limits.seat: is not a known field`},
		{`{"default":"a","plans":[{"id":"a","limits":{"seats":"3"}}]}`, `plans[0].limits.seats: must be int64`},
		{`{"default":"a","plans":[{"id":"a","limits":{"seats":-1}}]}`, `plans[0].limits.seats: must not be negative`},
		{`{"default":"a","plans":[{"id":"a","limits":{"retention_days":0}}]}`, `plans[0].limits.retention_days: must be at least 1`},
		{`{"default":"a","plans":[{"id":"a","limits":{"managed_run_usd_per_month":-5}}]}`, `plans[0].limits`},
		{`{"default":"a","plans":[{"id":"a","price":"x"}]}`, `plans[0].price: is not a known field`},
		{`{"default":"a","plans":[{"id":"A b"}]}`, `plans[0].id: "A b" is not a plan id`},
		{`{"default":"a","plans":[{"id":"a"},{"id":"a"}]}`, `plans[1].id: "a" is listed twice`},
		{`{"default":"b","plans":[{"id":"a"}]}`, `default: "b" is not one of the plans`},
		{`{"plans":[{"id":"a"}]}`, `default: is required`},
		{`{"default":"a","plans":[]}`, `plans: must list at least one plan`},
		{`{"default":"a","plans":[{"id":"a","overage_percent":5000}]}`, `plans[0].overage_percent: must be between 0 and 1000`},
		{`{"default":"a","overage_percent":-1,"plans":[{"id":"a"}]}`, `overage_percent: must be between`},
		{`{"default":"a","plans":[{"id":"a"}]} {}`, `unexpected data after the object`},
		{`{"default":"a",`, `plans file`},
		{`{"defualt":"a"}`, `defualt: is not a known field`},
	} {
		_, err := billing.Parse([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Errorf("Parse(%s) = %v; want an invalid error containing %q", c.in, err, c.want)
		}
	}
}

func TestConfigure(t *testing.T) {
	if p, err := billing.Configure("", false); p != nil || err != nil {
		t.Errorf("no plans file, no Stripe: %v, %v; want billing off (nil)", p, err)
	}
	if p, err := billing.Configure("", true); err != nil || p.Default != "free" {
		t.Errorf("Stripe only: %+v, %v; want the built-in plans", p, err)
	}
	path := filepath.Join(t.TempDir(), "plans.json")
	if err := os.WriteFile(path, []byte(issueExample), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := billing.Configure(path, false); err != nil || len(p.Plans) != 3 {
		t.Errorf("plans file: %+v, %v", p, err)
	}
	if _, err := billing.Configure(filepath.Join(t.TempDir(), "missing.json"), false); err == nil || !strings.Contains(err.Error(), "AGENTSCOPE_PLANS_FILE") {
		t.Errorf("missing plans file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(issueExample))
	f.Add([]byte(`{"default":"a","plans":[{"id":"a","limits":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := billing.Parse(b)
		if err != nil {
			if agentscope.ErrorCode(err) != agentscope.EINVALID {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if _, ok := p.Lookup(p.Default); !ok {
			t.Fatalf("default %q is not a plan", p.Default)
		}
		for _, pl := range p.Plans {
			if n, ok := p.EventLimit(pl.ID); ok && n < 0 {
				t.Fatalf("negative limit %d", n)
			}
		}
	})
}

// TestOverageCannotWrap: an events_per_month near the largest count with
// an overage allowance stays the largest count rather than wrapping
// negative (which would refuse every event).
func TestOverageCannotWrap(t *testing.T) {
	for _, doc := range []string{
		`{"default":"x","overage_percent":10,"plans":[{"id":"x","name":"X","limits":{"events_per_month":9223372036854775807}}]}`,
		`{"default":"x","overage_percent":1000,"plans":[{"id":"x","name":"X","limits":{"events_per_month":9223372036854775000}}]}`,
		`{"default":"x","overage_percent":1000,"plans":[{"id":"x","name":"X","limits":{"events_per_month":1000000000000000000}}]}`,
	} {
		p, err := billing.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := p.EventLimit("x"); !ok || n != math.MaxInt64 {
			t.Errorf("%s: limit %d, want %d", doc, n, int64(math.MaxInt64))
		}
	}
	p, _ := billing.Parse([]byte(`{"default":"x","overage_percent":10,"plans":[{"id":"x","name":"X","limits":{"events_per_month":1005}}]}`))
	if n, _ := p.EventLimit("x"); n != 1105 {
		t.Errorf("1005 + 10%% = %d, want 1105", n)
	}
}
