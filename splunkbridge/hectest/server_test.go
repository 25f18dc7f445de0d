package hectest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

const (
	token   = "tok-1"
	channel = "0b2ed1c4-6f1d-4b33-9a8e-2a4ed0e8c0de"
)

type reply struct {
	Status  int
	Text    string `json:"text"`
	Code    int    `json:"code"`
	Invalid *int   `json:"invalid-event-number"`
	AckID   *int64 `json:"ackId"`
	Retry   string
}

func post(t *testing.T, url string, header map[string]string, body []byte) reply {
	t.Helper()
	r, err := send(url, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func send(url string, header map[string]string, body []byte) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Retry: resp.Header.Get("Retry-After")}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("reply %q is not HEC JSON: %w", b, err)
	}
	return r, nil
}

var auth = map[string]string{"Authorization": "Splunk " + token}

func ev(event string) string {
	return `{"time":1730462400.123,"host":"h","source":"s","sourcetype":"st","fields":{"org_id":"o"},"event":` + event + `}`
}

func TestEventValidation(t *testing.T) {
	s := hectest.New(hectest.Options{Token: token, Indexes: []string{"main"}})
	defer s.Close()
	url := s.URL() + "/services/collector/event"
	good := ev(`{"session_id":"s1","event_id":"e1"}`)
	for _, tc := range []struct {
		name            string
		header          map[string]string
		body            string
		status, code    int
		invalid         int // -1: absent
		indexedAfterall int64
	}{
		{"missing token", nil, good, 401, 2, -1, 0},
		{"malformed authorization", map[string]string{"Authorization": token}, good, 401, 3, -1, 0},
		{"unknown token", map[string]string{"Authorization": "Splunk nope"}, good, 403, 4, -1, 0},
		{"no data", auth, "  \n", 400, 5, -1, 0},
		{"success", auth, good + "\n" + good, 200, 0, -1, 2},
		{"bad JSON second", auth, good + `{"event":`, 400, 6, 1, 3},
		{"event missing", auth, good + `{"time":1}`, 400, 12, 1, 4},
		{"event blank", auth, `{"event":""}`, 400, 13, 0, 4},
		{"event null", auth, `{"event":null}`, 400, 13, 0, 4},
		{"nested field", auth, `{"event":"x","fields":{"a":{"b":1}}}`, 400, 15, 0, 4},
		{"multivalue field", auth, `{"event":"x","fields":{"a":["b","c"],"n":3}}`, 200, 0, -1, 5},
		{"wrong index", auth, good + `{"event":"x","index":"secret"}`, 400, 7, 1, 6},
		{"time not a number", auth, `{"event":"x","time":"soon"}`, 400, 6, 0, 6},
		{"fields not an object", auth, `{"event":"x","fields":["a"]}`, 400, 6, 0, 6},
		{"fields a string", auth, `{"event":"x","fields":"a"}`, 400, 6, 0, 6},
		{"null field", auth, `{"event":"x","fields":{"a":null}}`, 400, 15, 0, 6},
		{"boolean field", auth, `{"event":"x","fields":{"a":true}}`, 400, 15, 0, 6},
		{"nested multivalue", auth, `{"event":"x","fields":{"a":[["b"]]}}`, 400, 15, 0, 6},
		{"object in multivalue", auth, `{"event":"x","fields":{"a":[{}]}}`, 400, 15, 0, 6},
		{"null fields", auth, `{"event":"x","fields":null}`, 200, 0, -1, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, url, tc.header, []byte(tc.body))
			if r.Status != tc.status || r.Code != tc.code {
				t.Errorf("got %d code %d (%s), want %d code %d", r.Status, r.Code, r.Text, tc.status, tc.code)
			}
			if (r.Invalid == nil) != (tc.invalid < 0) || r.Invalid != nil && *r.Invalid != tc.invalid {
				t.Errorf("invalid-event-number %v, want %d", r.Invalid, tc.invalid)
			}
			if n := s.Stats().Indexed; n != tc.indexedAfterall {
				t.Errorf("indexed %d in all, want %d", n, tc.indexedAfterall)
			}
		})
	}
	evs := s.Events()
	if len(evs) != 7 || evs[4].Fields["n"] != json.Number("3") || evs[4].Key != "/"+"/" {
		t.Errorf("multivalue event: %+v", evs[4])
	}
	if evs[0].Key != "o/s1/e1" || evs[0].Time.String() != "1730462400.123" || evs[0].Host != "h" || string(evs[0].Event) != `{"session_id":"s1","event_id":"e1"}` {
		t.Errorf("recorded %+v", evs[0])
	}
}

// TestEventKeyOrg: the key's organisation is the org_id indexed field
// however its JSON is written: escaped, repeated (the last one counts, as
// in a decoded map), or beside other fields.
func TestEventKeyOrg(t *testing.T) {
	for _, discard := range []bool{false, true} {
		s := hectest.New(hectest.Options{Token: token, DiscardEvents: discard})
		url := s.URL() + "/services/collector/event"
		body := `{"event":{"session_id":"s","event_id":"1"},"fields":{"type":"x","org_id":"a"}}
{"event":{"session_id":"s","event_id":"2"},"fields":{"org_id":"b","org_id":"c"}}
{"event":{"session_id":"s","event_id":"3"},"fields":{"org\u005fid":"d","k\u00e9":["1",2]}}
{"event":{"session_id":"s","event_id":"\u0034"},"fields":{"org_id":"\u0065"}}`
		if r := post(t, url, auth, []byte(body)); r.Status != 200 {
			t.Fatalf("discard %t: %+v", discard, r)
		}
		if discard {
			if st := s.Stats(); st.Unique != 4 || st.Indexed != 4 {
				t.Errorf("discard: %+v", st)
			}
		} else {
			var keys []string
			for _, e := range s.Events() {
				keys = append(keys, e.Key)
			}
			if strings.Join(keys, " ") != "a/s/1 c/s/2 d/s/3 e/s/4" {
				t.Errorf("keys %v", keys)
			}
		}
		s.Close()
	}
}

// TestEventKeyIDs: the key's session and event ids are the event's
// however it is written: in AgentScope's canonical order, with the ids
// escaped, empty, or named again later (the last one counts, as decoded).
func TestEventKeyIDs(t *testing.T) {
	for _, discard := range []bool{false, true} {
		s := hectest.New(hectest.Options{Token: token, DiscardEvents: discard})
		url := s.URL() + "/services/collector/event"
		body := `{"event":{"event_id":"1","session_id":"s","seq":1},"fields":{"org_id":"o"}}
{"event":{"event_id":"2","session_id":"s","attributes":{"session_id":"t"}},"fields":{"org_id":"o"}}
{"event":{"event_id":"3","session_id":"s","event_id":"4"},"fields":{"org_id":"o"}}
{"event":{"event_id":"5\"","session_id":"s"},"fields":{"org_id":"o"}}
{"event":{"event_id":"6","session_id":"s\u0031"},"fields":{"org_id":"o"}}
{"event":{"event_id":"","session_id":"s","id":"7"},"fields":{"org_id":"o"}}
{"event":{"event_id":"8","session_id":"","x":"\"event_id\""},"fields":{"org_id":"o"}}
{"event":{"event_id":"9","session_id":"s","note":"a \"session_id\": b"},"fields":{"org_id":"o"}}`
		if r := post(t, url, auth, []byte(body)); r.Status != 200 {
			t.Fatalf("discard %t: %+v", discard, r)
		}
		want := []string{"o/s/1", "o/s/2", "o/s/4", `o/s/5"`, "o/s1/6", "o/audit/7", "o//8", "o/s/9"}
		got := s.Counts()
		if len(got) != len(want) {
			t.Errorf("discard %t: keys %v, want %v", discard, got, want)
		}
		for _, k := range want {
			if got[k] != 1 {
				t.Errorf("discard %t: key %q indexed %d times; keys %v", discard, k, got[k], got)
			}
		}
		s.Close()
	}
}

func TestGzipTokenAndFaults(t *testing.T) {
	s := hectest.New(hectest.Options{Token: token})
	defer s.Close()
	url := s.URL() + "/services/collector/event"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, ev(`{"event_id":"g"}`))
	zw.Close()
	gzipped := map[string]string{"Authorization": "Splunk " + token, "Content-Encoding": "gzip"}
	if r := post(t, url, gzipped, gz.Bytes()); r.Status != 200 || s.Stats().Gzipped != 1 || s.Stats().Indexed != 1 {
		t.Fatalf("gzip: %+v %+v", r, s.Stats())
	}

	s.Inject(hectest.Busy(1), hectest.TooManyRequests(1, 3*time.Second), hectest.ServerError(1), hectest.Pass(1))
	for _, want := range []struct{ status, code int }{{503, 9}, {429, 26}, {500, 8}, {200, 0}} {
		r := post(t, url, auth, []byte(ev(`"x"`)))
		if r.Status != want.status || r.Code != want.code {
			t.Errorf("got %d/%d, want %d/%d", r.Status, r.Code, want.status, want.code)
		}
		if want.status == 429 && r.Retry != "3" {
			t.Errorf("Retry-After %q", r.Retry)
		}
	}
	s.Inject(hectest.Drop(1), hectest.CutAfterIndex(1))
	for i, wantIndexed := range []int64{2, 3} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(ev(`{"event_id":"cut"}`)))
		req.Header.Set("Authorization", "Splunk "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("fault %d: got a reply %d", i, resp.StatusCode)
		}
		if n := s.Stats().Indexed; n != wantIndexed {
			t.Errorf("fault %d: indexed %d", i, n)
		}
	}
	if !s.Ambiguous()["o//cut"] {
		t.Errorf("cut event not ambiguous: %v", s.Ambiguous())
	}

	s.DisableToken(true)
	if r := post(t, url, auth, []byte(ev(`"x"`))); r.Status != 403 || r.Code != 1 {
		t.Errorf("disabled token: %+v", r)
	}
	s.DisableToken(false)
	s.SetToken("tok-2")
	if r := post(t, url, auth, []byte(ev(`"x"`))); r.Status != 403 || r.Code != 4 {
		t.Errorf("rotated token: %+v", r)
	}
	s.Poison("BAD")
	if r := post(t, url, map[string]string{"Authorization": "Splunk tok-2"}, []byte(ev(`"ok"`)+ev(`"BAD"`)+ev(`"ok"`))); r.Status != 400 || r.Code != 6 || *r.Invalid != 1 {
		t.Errorf("poison: %+v", r)
	}
	if st := s.Stats(); st.PendingFaults != 0 || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestAckAndHealth(t *testing.T) {
	s := hectest.New(hectest.Options{Token: token, Ack: true})
	defer s.Close()
	url := s.URL() + "/services/collector/event"
	if r := post(t, url, auth, []byte(ev(`"x"`))); r.Status != 400 || r.Code != 10 {
		t.Errorf("no channel: %+v", r)
	}
	bad := map[string]string{"Authorization": "Splunk " + token, "X-Splunk-Request-Channel": "not-a-guid"}
	if r := post(t, url, bad, []byte(ev(`"x"`))); r.Status != 400 || r.Code != 11 {
		t.Errorf("bad channel: %+v", r)
	}
	ch := map[string]string{"Authorization": "Splunk " + token, "X-Splunk-Request-Channel": channel}
	s.WithholdAcks(1)
	first := post(t, url, ch, []byte(ev(`"x"`)))
	second := post(t, url, ch, []byte(ev(`"y"`)))
	if first.AckID == nil || *first.AckID != 0 || second.AckID == nil || *second.AckID != 1 {
		t.Fatalf("ackIds %+v %+v", first, second)
	}
	query := func() map[string]bool {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/services/collector/ack?channel="+channel, strings.NewReader(`{"acks":[0,1,7]}`))
		req.Header.Set("Authorization", "Splunk "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Acks map[string]bool `json:"acks"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Acks
	}
	if acks := query(); acks["0"] || !acks["1"] || acks["7"] {
		t.Errorf("acks %v: want 0 withheld, 1 acknowledged, 7 unknown", acks)
	}
	if acks := query(); acks["1"] {
		t.Errorf("ack 1 reported twice: %v", acks)
	}

	health := func() reply {
		resp, err := http.Get(s.URL() + "/services/collector/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := reply{Status: resp.StatusCode}
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return r
	}
	if r := health(); r.Status != 200 || r.Code != 17 {
		t.Errorf("healthy: %+v", r)
	}
	s.SetUnhealthy(true)
	if r := health(); r.Status != 503 || r.Code != 18 {
		t.Errorf("unhealthy: %+v", r)
	}
}

func TestOverlapDetection(t *testing.T) {
	s := hectest.New(hectest.Options{Token: token})
	defer s.Close()
	release := make(chan struct{})
	s.Inject(hectest.Stall(1, release))
	done := make(chan reply, 1)
	body := []byte(ev(`{"session_id":"s","event_id":"dup"}`))
	go func() {
		r, _ := send(s.URL()+"/services/collector/event", auth, body)
		done <- r
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, func(st hectest.Stats) bool { return st.InFlight == 1 && st.Indexed == 1 }); err != nil {
		t.Fatal(err)
	}
	if r := post(t, s.URL()+"/services/collector/event", auth, body); r.Status != 200 {
		t.Fatalf("second delivery: %+v", r)
	}
	if st := s.Stats(); st.Overlaps != 1 {
		t.Errorf("overlap not detected: %+v", st)
	}
	close(release)
	if r := <-done; r.Status != 200 {
		t.Errorf("stalled request: %+v", r)
	}
	if st := s.Stats(); st.Indexed != 2 || st.Unique != 1 || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
}
