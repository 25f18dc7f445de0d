package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/agentscope/agentscope"
)

// maxCanonicalBytes bounds the JSON documents compared up to key order;
// larger ones must be byte-identical to count as the same.
const maxCanonicalBytes = 64 << 10

// jsonDoc is a JSON value kept for comparison, with its canonical form
// (keys sorted, no whitespace) computed on demand.
type jsonDoc struct {
	raw   []byte
	canon string
	done  bool
}

func newJSONDoc(raw json.RawMessage, empty string) jsonDoc {
	if len(raw) == 0 {
		return jsonDoc{raw: []byte(empty)}
	}
	return jsonDoc{raw: raw}
}

func (d *jsonDoc) canonical() string {
	if !d.done {
		d.done, d.canon = true, string(d.raw)
		dec := json.NewDecoder(bytes.NewReader(d.raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			if b, err := json.Marshal(v); err == nil {
				d.canon = string(b)
			}
		}
	}
	return d.canon
}

func sameJSON(a, b *jsonDoc) bool {
	if bytes.Equal(a.raw, b.raw) {
		return true
	}
	if len(a.raw) > maxCanonicalBytes || len(b.raw) > maxCanonicalBytes {
		return false
	}
	return a.canonical() == b.canonical()
}

// streak counts identical consecutive requests.
type streak struct {
	n        int
	refs     []eventRef // the first LoopRepeat
	reported bool
}

func (k *streak) restart(ev *agentscope.Event) {
	k.n, k.refs, k.reported = 1, append(k.refs[:0], refOf(ev)), false
}

// extend counts one more identical request and reports whether the
// streak has just become a loop.
func (k *streak) extend(ev *agentscope.Event, repeat int) bool {
	k.n++
	if k.n <= repeat {
		k.refs = append(k.refs, refOf(ev))
	}
	if k.n >= repeat && !k.reported {
		k.reported = true
		return true
	}
	return false
}

// loopDetector finds the same tool called with the same arguments, and the
// same model request, LoopRepeat times in a row. Each streak is one
// finding, raised when it reaches LoopRepeat; its evidence is the first
// LoopRepeat requests.
type loopDetector struct {
	tool     streak
	toolName string
	toolArgs jsonDoc
	hasTool  bool

	model      streak
	modelEv    modelRequest
	hasModel   bool
	modelInput jsonDoc
}

// modelRequest is what makes two model requests the same.
type modelRequest struct {
	provider, model string
	attrs           map[string]any
}

func (d *loopDetector) observeTool(s *session, ev *agentscope.Event) {
	args := newJSONDoc(ev.Arguments, "{}")
	if d.hasTool && ev.Tool == d.toolName && sameJSON(&d.toolArgs, &args) {
		if d.tool.extend(ev, s.cfg.LoopRepeat) {
			s.emit(newFinding(KindLoop, SeverityHigh,
				"Repeated tool call: "+ev.Tool,
				fmt.Sprintf("Tool %s was called %d times in a row with the same arguments (seq %s).", ev.Tool, len(d.tool.refs), seqList(d.tool.refs)),
				s.splToolCalls(ev.Tool), d.tool.refs...))
		}
		return
	}
	d.hasTool, d.toolName, d.toolArgs = true, ev.Tool, args
	d.tool.restart(ev)
}

// observeModel compares requests that say what was asked (an input or
// attributes); a request with neither cannot be compared and ends any
// streak.
func (d *loopDetector) observeModel(s *session, ev *agentscope.Event) {
	if len(ev.Input) == 0 && len(ev.Attributes) == 0 {
		d.hasModel = false
		return
	}
	input := newJSONDoc(ev.Input, "")
	req := modelRequest{provider: ev.Provider, model: ev.Model, attrs: ev.Attributes}
	if len(req.attrs) == 0 {
		req.attrs = nil // absent and empty attributes are the same
	}
	if d.hasModel && req.provider == d.modelEv.provider && req.model == d.modelEv.model &&
		sameAttributes(req.attrs, d.modelEv.attrs) && sameJSON(&d.modelInput, &input) {
		if d.model.extend(ev, s.cfg.LoopRepeat) {
			s.emit(newFinding(KindLoop, SeverityHigh,
				"Repeated model request: "+ev.Provider+" "+ev.Model,
				fmt.Sprintf("The same request (same input and attributes) was sent to %s %s %d times in a row (seq %s).", ev.Provider, ev.Model, len(d.model.refs), seqList(d.model.refs)),
				s.splModelRequests(ev.Provider, ev.Model), d.model.refs...))
		}
		return
	}
	d.hasModel, d.modelEv, d.modelInput = true, req, input
	d.model.restart(ev)
}

// sameAttributes compares attribute maps without reflection for the
// value types events carry.
func sameAttributes(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		switch va.(type) {
		case string, json.Number, bool, float64, int, int64:
			if va != vb {
				return false
			}
		default:
			if !reflect.DeepEqual(va, vb) {
				return false
			}
		}
	}
	return true
}

// seqList formats the seqs of refs as "4, 6, 8".
func seqList(refs []eventRef) string {
	var b []byte
	for i, r := range refs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%d", r.seq)
	}
	return string(b)
}
