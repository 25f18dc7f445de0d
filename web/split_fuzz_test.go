package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/agentscope/agentscope"
)

// FuzzSplitEvents: any body is refused with a client error or split into
// events that are exactly its array elements (as encoding/json splits
// them) or its non-blank NDJSON lines, none altered or lost.
func FuzzSplitEvents(f *testing.F) {
	for _, s := range []string{
		`[{"type":"ModelInvoked"},{"a":[1,2]}]`, " [ ] ", "[1,2,]", `[{"a":"\u00e9"}] x`,
		"{\"a\":1}\n\n{\"b\":2}\r\n", "{\"a\":1}\n{", "\n\n", "", "[", `{"a":"line\nbreak"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		batch, err := splitEvents(body)
		raws := batch.Raw
		if err != nil {
			if c := agentscope.ErrorCode(err); c != agentscope.EINVALID && c != agentscope.ETOOLARGE {
				t.Fatalf("splitEvents(%q): code %s: %v", body, c, err)
			}
			return
		}
		trimmed := bytes.TrimSpace(body)
		if trimmed[0] == '[' {
			var want []json.RawMessage
			if err := json.Unmarshal(trimmed, &want); err != nil {
				t.Fatalf("splitEvents(%q) split what encoding/json refuses: %v", body, err)
			}
			if len(raws) != len(want) {
				t.Fatalf("splitEvents(%q): %d events, encoding/json %d", body, len(raws), len(want))
			}
			for i := range want {
				if !bytes.Equal(bytes.TrimSpace(raws[i]), bytes.TrimSpace(want[i])) {
					t.Fatalf("splitEvents(%q)[%d] = %q, want %q", body, i, raws[i], want[i])
				}
				// Decoded in the split or not, as DecodeEvent decodes it.
				got, gotErr := batch.Decode(i)
				ev, evErr := agentscope.DecodeEvent(raws[i])
				if !reflect.DeepEqual(got, ev) || fmt.Sprint(gotErr) != fmt.Sprint(evErr) {
					t.Fatalf("splitEvents(%q)[%d] decodes to %+v, %v; DecodeEvent %+v, %v", body, i, got, gotErr, ev, evErr)
				}
			}
			return
		}
		var lines [][]byte
		for _, l := range bytes.Split(trimmed, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				lines = append(lines, l)
			}
		}
		if len(raws) != len(lines) {
			t.Fatalf("splitEvents(%q): %d events from %d lines", body, len(raws), len(lines))
		}
		for i := range lines {
			if !bytes.Equal(raws[i], lines[i]) {
				t.Fatalf("splitEvents(%q)[%d] = %q, want line %q", body, i, raws[i], lines[i])
			}
		}
	})
}
