// Package eventtest gives tests events that carry the fields of the root
// package's field table, so that each consumer of the table (validation,
// the MCP schema, the stored form's decoder, the SPL engine) can check
// that it handles every field, including one added later.
package eventtest

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/agentscope/agentscope"
)

// TS is the time Set gives a timestamp: in the past, inside the window
// validation accepts.
var TS = time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.UTC)

// Set sets field f of ev to a sample value that validation accepts on a
// type that allows f. A JSON field gets {"k":"v"} (so its nested field is
// f.Name+".k"), attributes get k=v.
func Set(ev *agentscope.Event, f *agentscope.EventField) {
	switch p := f.Ptr(ev).(type) {
	case *string:
		switch {
		case len(f.Enum) > 0:
			*p = f.Enum[0]
		case f.Name == "currency":
			*p = "USD" // the one currency CostRecorded allows
		default:
			*p = "sample-1" // matches every id pattern
		}
	case *agentscope.EventType:
		if *p == "" {
			*p = agentscope.ModelInvoked
		}
	case *int64:
		*p = 7
	case *time.Time:
		*p = TS
	case **int64:
		n := int64(7)
		*p = &n
	case **float64:
		d := 12.5
		*p = &d
	case **agentscope.USD:
		u := agentscope.USD(1234567)
		*p = &u
	case *json.RawMessage:
		*p = json.RawMessage(`{"k":"v"}`)
	case *map[string]any:
		*p = map[string]any{"k": "v"}
	default:
		panic("eventtest: no sample value for " + f.Name)
	}
}

// Of returns a valid event of type t with its session and event ids, its
// time and its required fields set.
func Of(t agentscope.EventType) agentscope.Event {
	spec, ok := agentscope.LookupEventType(t)
	if !ok {
		panic("eventtest: unknown event type " + string(t))
	}
	ev := agentscope.Event{Type: t}
	for _, name := range append([]string{"session_id", "event_id", "ts"}, spec.Required...) {
		Set(&ev, field(name))
	}
	return ev
}

// TypeWith returns a type that may carry f: one agents send when there is
// one, the first by name.
func TypeWith(f *agentscope.EventField) agentscope.EventType {
	var system agentscope.EventType
	for _, t := range agentscope.EventTypes() {
		spec, _ := agentscope.LookupEventType(t)
		if !f.Envelope && !slices.Contains(spec.Required, f.Name) && !slices.Contains(spec.Optional, f.Name) {
			continue
		}
		if !spec.System {
			return t
		}
		if system == "" {
			system = t
		}
	}
	return system
}

// With returns a valid event that carries f: of TypeWith(f), with its
// required fields and f set.
func With(f *agentscope.EventField) agentscope.Event {
	ev := Of(TypeWith(f))
	Set(&ev, f)
	return ev
}

// Every returns an event with every field of the table set: not a valid
// event of any type, but one a store and the SPL engine must read whole.
func Every() agentscope.Event {
	var ev agentscope.Event
	for _, f := range agentscope.EventFields() {
		Set(&ev, f)
	}
	return ev
}

func field(name string) *agentscope.EventField {
	f, ok := agentscope.LookupEventField(name)
	if !ok {
		panic("eventtest: unknown event field " + name)
	}
	return f
}

// Sent returns ev as a client sends it: its canonical JSON without seq,
// which AgentScope assigns, split into fields.
func Sent(ev agentscope.Event) map[string]json.RawMessage {
	b, err := ev.MarshalCanonical()
	if err != nil {
		panic("eventtest: " + err.Error())
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		panic("eventtest: " + err.Error())
	}
	delete(m, "seq")
	return m
}
