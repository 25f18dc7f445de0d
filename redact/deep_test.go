package redact

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDeepNestingIsLinear: a value nested as deep as encoding/json allows,
// with a secret at the bottom, is walked in one pass (a walk that decoded
// each level anew would take seconds).
func TestDeepNestingIsLinear(t *testing.T) {
	r := defaults(t)
	const depth = 9999
	raw := strings.Repeat("[", depth) + `"\u0020` + openAIKey + `"` + strings.Repeat("]", depth)
	if !json.Valid([]byte(raw)) {
		t.Fatal("test value is not valid JSON")
	}
	start := time.Now()
	out, changed := r.JSON("input", json.RawMessage(raw))
	if want := strings.Repeat("[", depth) + `" [REDACTED:openai-key]"` + strings.Repeat("]", depth); !changed || string(out) != want {
		t.Fatalf("deep value not redacted: %.80s…", out)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("walking %d levels took %v", depth, d)
	}
}
