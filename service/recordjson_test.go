package service_test

import (
	"encoding/json"
	"testing"

	"github.com/agentscope/agentscope/service"
)

// plainOutput is RecordOutput without its methods: what encoding/json
// makes of it by reflection.
type plainOutput service.RecordOutput

func checkRecordJSON(t *testing.T, o service.RecordOutput) {
	t.Helper()
	want, err := json.Marshal(plainOutput(o))
	if err != nil {
		t.Fatal(err)
	}
	if got := o.AppendJSON(nil); string(got) != string(want) {
		t.Fatalf("AppendJSON gives\n%s\nencoding/json\n%s", got, want)
	}
}

// TestRecordOutputJSON: the hand-written encoding of a recording call's
// answer is byte for byte encoding/json's, for results with every field
// set and none, text that needs escaping, and no results at all.
func TestRecordOutputJSON(t *testing.T) {
	for _, o := range []service.RecordOutput{
		{},
		{Results: []service.RecordResult{}},
		{Accepted: 1, Rejected: 2, Results: []service.RecordResult{
			{Index: 0, EventID: "ev-1", SessionID: "s", Seq: 7, Accepted: true},
			{Index: 1, EventID: "e\"<&>\u2028", SessionID: "s\\x", Duplicate: true, Accepted: true, Seq: -1},
			{Index: 2, Error: "bad \x00\n\t value \xff", Code: "invalid"},
			{Index: 1 << 40, Seq: 1<<63 - 1},
		}},
	} {
		checkRecordJSON(t, o)
	}
}

func FuzzRecordOutputJSON(f *testing.F) {
	f.Add(3, -1, "ev", "s", int64(4), true, false, "", "")
	f.Add(0, 0, "<\u2028>", "\xff", int64(-9), false, true, "a\"b\\", "conflict")
	f.Fuzz(func(t *testing.T, index, accepted int, eventID, sessionID string, seq int64, ok, dup bool, msg, code string) {
		r := service.RecordResult{Index: index, EventID: eventID, SessionID: sessionID, Seq: seq, Accepted: ok, Duplicate: dup, Error: msg, Code: code}
		checkRecordJSON(t, service.RecordOutput{Accepted: accepted, Rejected: index, Results: []service.RecordResult{r, {}, r}})
	})
}
