package ui

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) + "%" }

func errClass(b bool) string {
	if b {
		return " error"
	}
	return ""
}

func openClass(b bool) string {
	if b {
		return " open"
	}
	return ""
}

func runKind(managed bool) string {
	if managed {
		return "managed (executed by AgentScope)"
	}
	return "self-reported"
}

func barTitle(b SpanBar) string {
	parts := []string{b.Label, Millis(b.DurationMS), "starts at " + b.OffsetS}
	if b.Kind == "model" {
		parts = append(parts, Tokens(b.TokensIn)+" in / "+Tokens(b.TokensOut)+" out tokens")
		if b.Cost > 0 {
			parts = append(parts, Money(b.Cost))
		}
	}
	if b.Open {
		parts = append(parts, "no end recorded yet")
	}
	if b.Error != "" {
		parts = append(parts, "error: "+b.Error)
	}
	return strings.Join(parts, " · ")
}

// computedTitle explains a cost marked computed.
const computedTitle = "Computed by AgentScope from the pricing table and the call's tokens, because the agent reported no cost for it"

// Offset formats a time since the session's start: +1.234s.
func offset(ms float64) string {
	return "+" + strconv.FormatFloat(ms/1000, 'f', 3, 64) + "s"
}

// TypeClass groups event types by colour: model, tool, cost, run or warn.
func typeClass(t string) string {
	switch {
	case strings.HasPrefix(t, "Model"):
		return "t-model"
	case strings.HasPrefix(t, "Tool"):
		return "t-tool"
	case t == "CostRecorded":
		return "t-cost"
	case strings.HasPrefix(t, "Budget") || t == "RunRetried" || t == "ProviderSwitched":
		return "t-warn"
	case t == "RunFailed":
		return "t-err"
	}
	return "t-run"
}

func eventClass(e EventRow) string {
	if e.Error {
		return "ev error"
	}
	return "ev"
}

func lastSeq(r Replay) string {
	if len(r.Events) == 0 {
		return strconv.FormatInt(r.After, 10)
	}
	return strconv.FormatInt(r.Events[len(r.Events)-1].Event.Seq, 10)
}

func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
