package agentscope_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	_ "github.com/agentscope/agentscope/alerts" // registers the Alert type
)

// TestEventsDocMatchesFieldTable: docs/events.md's table of types lists
// every registered event type once, with who writes it and exactly its
// required and optional fields, and its envelope table lists exactly the
// field table's envelope fields, so the reference cannot drift from the
// field table.
func TestEventsDocMatchesFieldTable(t *testing.T) {
	doc, err := os.ReadFile("docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	fields := func(cell string) []string {
		var out []string
		for _, f := range strings.Split(cell, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		slices.Sort(out)
		return out
	}
	sorted := func(fs []string) []string {
		fs = slices.Clone(fs)
		slices.Sort(fs)
		return fs
	}
	seen := map[agentscope.EventType]bool{}
	var envelope []string
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 4 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			// the envelope table: | `name`, `name` | meaning |
			for _, name := range strings.Split(cells[1], ",") {
				envelope = append(envelope, strings.Trim(strings.TrimSpace(name), "`"))
			}
			continue
		}
		if len(cells) != 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		typ := agentscope.EventType(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		spec, ok := agentscope.LookupEventType(typ)
		if !ok {
			continue // the envelope table's rows
		}
		if seen[typ] {
			t.Errorf("%s is listed twice", typ)
		}
		seen[typ] = true
		writer := "agent"
		if spec.System {
			writer = "AgentScope"
		}
		if got := strings.TrimSpace(cells[2]); got != writer {
			t.Errorf("%s: written by %q, want %q", typ, got, writer)
		}
		if got, want := fields(cells[3]), sorted(spec.Required); !slices.Equal(got, want) {
			t.Errorf("%s: required %v, want %v", typ, got, want)
		}
		if got, want := fields(cells[4]), sorted(spec.Optional); !slices.Equal(got, want) {
			t.Errorf("%s: optional %v, want %v", typ, got, want)
		}
	}
	for _, typ := range agentscope.EventTypes() {
		if !seen[typ] {
			t.Errorf("docs/events.md does not list %s", typ)
		}
	}
	var want []string
	for _, f := range agentscope.EventFields() {
		if f.Envelope {
			want = append(want, f.Name)
		}
	}
	slices.Sort(want)
	if slices.Sort(envelope); !slices.Equal(envelope, want) {
		t.Errorf("docs/events.md's envelope lists %v, the field table's envelope is %v", envelope, want)
	}
}
