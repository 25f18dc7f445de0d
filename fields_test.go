package agentscope_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	_ "github.com/agentscope/agentscope/alerts" // registers the Alert type
	"github.com/agentscope/agentscope/eventtest"
)

// TestFieldTableMatchesEvent: the field table names every member of Event's
// JSON form once, and each line points at the member with its JSON name.
func TestFieldTableMatchesEvent(t *testing.T) {
	var ev agentscope.Event
	v := reflect.ValueOf(&ev).Elem()
	var members []string
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		members = append(members, name)
		f, ok := agentscope.LookupEventField(name)
		if !ok {
			t.Errorf("Event's %s (%s) is not in the field table", name, v.Type().Field(i).Name)
			continue
		}
		if f.Ptr(&ev) != v.Field(i).Addr().Interface() {
			t.Errorf("field table's %s points at another member of Event than %s", name, v.Type().Field(i).Name)
		}
		if f.IsSet(&ev) {
			t.Errorf("%s is set in a zero Event", name)
		}
	}
	var names []string
	for i, f := range agentscope.EventFields() {
		names = append(names, f.Name)
		if f.Index() != i {
			t.Errorf("%s: Index %d at position %d", f.Name, f.Index(), i)
		}
		if g, ok := agentscope.LookupEventField([]byte(f.Name)); !ok || g != f {
			t.Errorf("LookupEventField(%q) = %v, %v", f.Name, g, ok)
		}
		if eventtest.Set(&ev, f); !f.IsSet(&ev) {
			t.Errorf("%s: not set after it was given a value", f.Name)
		}
	}
	slices.Sort(members)
	slices.Sort(names)
	if !slices.Equal(members, names) {
		t.Errorf("field table %v, Event's JSON members %v", names, members)
	}
	for _, name := range []string{"", "Type", "types", "temperature", "attributes.k", "seq "} {
		if f, ok := agentscope.LookupEventField(name); ok {
			t.Errorf("LookupEventField(%q) = %s", name, f.Name)
		}
	}
}

// TestValidationFollowsFieldTable: each field of the table is accepted by
// DecodeEvent and ValidateEvent on a type that allows it, with its value
// kept; it is refused on a type that does not, as is a name the table does
// not have; and the table's limits are the ones validation applies. seq is
// refused from clients.
func TestValidationFollowsFieldTable(t *testing.T) {
	decode := func(ev agentscope.Event) (agentscope.Event, error) {
		t.Helper()
		b, _ := json.Marshal(eventtest.Sent(ev))
		return agentscope.DecodeEvent(b)
	}
	refuses := func(t *testing.T, ev agentscope.Event, field, why string) {
		t.Helper()
		if err := agentscope.ValidateEvent(&ev); agentscope.ErrorCode(err) != agentscope.EINVALID || fieldOf(err) != field || !strings.Contains(err.Error(), why) {
			t.Errorf("ValidateEvent: %v (field %q), want %s refused saying %q", err, fieldOf(err), field, why)
		}
		if _, err := decode(ev); agentscope.ErrorCode(err) != agentscope.EINVALID || fieldOf(err) != field || !strings.Contains(err.Error(), why) {
			t.Errorf("DecodeEvent: %v (field %q), want %s refused saying %q", err, fieldOf(err), field, why)
		}
	}
	for _, f := range agentscope.EventFields() {
		t.Run(f.Name, func(t *testing.T) {
			if f.Kind == agentscope.KindSeq {
				ev := eventtest.Of(agentscope.ModelInvoked)
				eventtest.Set(&ev, f)
				b, _ := ev.MarshalCanonical()
				if _, err := agentscope.DecodeEvent(b); fieldOf(err) != f.Name || !strings.Contains(err.Error(), "assigned by the server") {
					t.Errorf("%s sent by a client: %v", f.Name, err)
				}
				return
			}
			ev := eventtest.With(f)
			if err := agentscope.ValidateEvent(&ev); err != nil {
				t.Fatalf("ValidateEvent(%s with %s): %v", ev.Type, f.Name, err)
			}
			got, err := decode(ev)
			if err != nil {
				t.Fatalf("DecodeEvent(%s with %s): %v", ev.Type, f.Name, err)
			}
			if !reflect.DeepEqual(reflect.ValueOf(f.Ptr(&got)).Elem().Interface(), reflect.ValueOf(f.Ptr(&ev)).Elem().Interface()) {
				t.Errorf("%s decoded as %v, sent %v", f.Name, reflect.ValueOf(f.Ptr(&got)).Elem(), reflect.ValueOf(f.Ptr(&ev)).Elem())
			}
			for _, typ := range agentscope.EventTypes() {
				spec, _ := agentscope.LookupEventType(typ)
				if f.Envelope || slices.Contains(spec.Required, f.Name) || slices.Contains(spec.Optional, f.Name) {
					continue
				}
				foreign := eventtest.Of(typ)
				eventtest.Set(&foreign, f)
				refuses(t, foreign, f.Name, "not a field of "+string(typ))
			}
			switch f.Kind {
			case agentscope.KindCount:
				at, over, neg := int64(f.Max), int64(f.Max)+1, int64(-1)
				ev := eventtest.With(f)
				// the largest count is fine where the cached tokens allow it
				*f.Ptr(&ev).(**int64) = &at
				if strings.HasPrefix(f.Name, "cache_") {
					ev.TokensIn = &at
				}
				if err := agentscope.ValidateEvent(&ev); err != nil {
					t.Errorf("%s at its Max: %v", f.Name, err)
				}
				*f.Ptr(&ev).(**int64) = &over
				refuses(t, ev, f.Name, "must be <= "+strconv.FormatInt(at, 10))
				*f.Ptr(&ev).(**int64) = &neg
				refuses(t, ev, f.Name, ">= 0")
			case agentscope.KindDuration:
				at, over, neg := f.Max, f.Max*1.5, -1.0
				ev := eventtest.With(f)
				if *f.Ptr(&ev).(**float64) = &at; agentscope.ValidateEvent(&ev) != nil {
					t.Errorf("%s at its Max refused", f.Name)
				}
				*f.Ptr(&ev).(**float64) = &over
				refuses(t, ev, f.Name, "must be <=")
				*f.Ptr(&ev).(**float64) = &neg
				refuses(t, ev, f.Name, ">= 0")
			case agentscope.KindMoney:
				at := agentscope.USD(f.Max * agentscope.NanosPerUSD)
				over := at + 1
				ev := eventtest.With(f)
				if *f.Ptr(&ev).(**agentscope.USD) = &at; agentscope.ValidateEvent(&ev) != nil {
					t.Errorf("%s at its Max refused", f.Name)
				}
				*f.Ptr(&ev).(**agentscope.USD) = &over
				refuses(t, ev, f.Name, "must be <= "+at.String())
			case agentscope.KindString:
				ev := eventtest.With(f)
				if f.Check != nil {
					*f.Ptr(&ev).(*string) = "../x"
					refuses(t, ev, f.Name, "must match")
				}
				if len(f.Enum) > 0 {
					*f.Ptr(&ev).(*string) = "not-" + f.Enum[0]
					refuses(t, ev, f.Name, "must be "+strconv.Quote(f.Enum[0]))
				}
			}
		})
	}
	// A name the table does not have is refused on every type.
	for _, typ := range agentscope.EventTypes() {
		m := eventtest.Sent(eventtest.Of(typ))
		m["temperature"] = json.RawMessage(`0.2`)
		b, _ := json.Marshal(m)
		if _, err := agentscope.DecodeEvent(b); fieldOf(err) != "temperature" || !strings.Contains(err.Error(), "put extra data in attributes") {
			t.Errorf("%s with an unknown field: %v", typ, err)
		}
	}
}
