package hectest

import (
	"reflect"
	"testing"
)

// parse scans envelopes in one pass where it can and decodes the rest; the
// two must read every request alike: the same events, the same refusal at
// the same envelope. Each case is a whole request body.
func TestScanReadsAsTheDecoder(t *testing.T) {
	const ev = `"event":{"session_id":"s","event_id":"e1"}`
	bodies := []string{
		`{"time":1700000000.5,"host":"h","source":"agentscope","sourcetype":"agentscope:events","index":"main","fields":{"org_id":"o"},` + ev + `}`,
		`{"time":"1700000000.5",` + ev + `}`,
		`{"time":null,` + ev + `}`,
		`{"time":"soon",` + ev + `}`,
		`{"time":true,` + ev + `}`,
		`{"time":{"a":1},` + ev + `}`,
		`{"time":-1e3,` + ev + `}`,
		`{"host":null,` + ev + `}`,
		`{"host":"a\"b",` + ev + `}`,
		`{"host":"caf\u00e9","index":"m\u0061in",` + ev + `}`,
		"{\"host\":\"\xff\"," + ev + `}`,
		`{"host":7,` + ev + `}`,
		`{"Host":"upper","SourceType":"st",` + ev + `}`,
		`{"host":"a","host":"b",` + ev + `}`,
		`{"other":[1,2],"fields":null,` + ev + `}`,
		`{"fields":{"org_id":"o","n":[1,"x"]},` + ev + `}`,
		`{"fields":{"nested":{"a":1}},` + ev + `}`,
		`{"fields":[1],` + ev + `}`,
		`{"event":null}`,
		`{"event":""}`,
		`{"host":"h"}`,
		`{"event":"text"}`,
		`{"event":"x"}{"event":"y"} {"event":"z"}` + "\n",
		`{"event":"x"} {"event":`,
		`{"event":"x"} [1]`,
		`{"event":"x"} 12`,
		`{"event":"x"}{"time":"bad","event":"y"}{"event":"z"}`,
		`{"event":"x"},{"event":"y"}`,
		`  `,
		`{"event":{"id":"a1"},"fields":{"org_id":"o"}} {"event":{"id":"a\u0031"},"fields":{"org_id":"o"}}`,
		// Metadata repeated from one envelope to the next, then changed.
		`{"host":"h","index":"main","fields":{"org_id":"o"},` + ev + `}{"host":"h","index":"main","fields":{"org_id":"o"},` + ev + `}` +
			`{"host":"h2","index":"","fields":{"org_id":"p"},` + ev + `}{"host":"","fields":{"org_id":""},` + ev + `}`,
		`{"time":5,"time":null,` + ev + `}{"time":null,"time":6,` + ev + `}{"time":7,"time":"8",` + ev + `}`,
	}
	s := New(Options{Token: "t", Indexes: []string{"main", "m\u0061in"}})
	defer s.Close()
	for _, body := range bodies {
		got, gotBad := s.parse([]byte(body), 1, "c", nil)
		var want []Event
		wantBad := decodeEnvelopes([]byte(body), 0, func(env envelope, i int) *refusal {
			e, bad := s.check(env, "", new(scratch))
			if bad != nil {
				bad.event = i
				return bad
			}
			e.Request, e.Channel = 1, "c"
			want = append(want, e)
			return nil
		})
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotBad, wantBad) {
			t.Errorf("%s:\nscanned %+v, refusal %+v\ndecoded %+v, refusal %+v", body, got, gotBad, want, wantBad)
		}
	}
}
