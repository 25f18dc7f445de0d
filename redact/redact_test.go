package redact

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

func defaults(t testing.TB, rules ...Rule) *Redactor {
	t.Helper()
	r, err := New(rules, true)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	openAIKey    = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"
	anthropicKey = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123"
	agentKey     = "ask_0123456789ab_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestStringDefaults(t *testing.T) {
	r := defaults(t)
	for _, tc := range []struct{ in, want string }{
		{"key " + openAIKey + " here", "key [REDACTED:openai-key] here"},
		{anthropicKey, "[REDACTED:anthropic-key]"},
		{"aws AKIAIOSFODNN7EXAMPLE.", "aws [REDACTED:aws-access-key-id]."},
		{"ghp_" + strings.Repeat("a1", 18), "[REDACTED:github-token]"},
		{"github_pat_" + strings.Repeat("Ab_", 10), "[REDACTED:github-token]"},
		{"slack xoxb-1234567890-abcdef", "slack [REDACTED:slack-token]"},
		{"use " + agentKey, "use [REDACTED:agentscope-credential]"},
		{"asr_0123456789ab_" + strings.Repeat("f", 64), "[REDACTED:agentscope-credential]"},
		{"Authorization: Bearer abc.def-ghi_jkl~123==", "Authorization: [REDACTED:bearer-token]"},
		{"authorization: bearer abcdefghij", "authorization: [REDACTED:bearer-token]"},
		{"card 4111 1111 1111 1111 exp", "card [REDACTED:card-number] exp"},
		{"card 4111-1111-1111-1111", "card [REDACTED:card-number]"},
		{"amex 378282246310005", "amex [REDACTED:card-number]"},
		{"two 4111111111111111 and 5500005555555559", "two [REDACTED:card-number] and [REDACTED:card-number]"},
	} {
		got, changed := r.String(tc.in)
		if got != tc.want || !changed {
			t.Errorf("String(%q) = %q, %v; want %q, true", tc.in, got, changed, tc.want)
		}
	}
}

// TestLuhnNegatives: ordinary numbers, however long, are not card numbers.
func TestLuhnNegatives(t *testing.T) {
	r := defaults(t)
	for _, in := range []string{
		"4111111111111112",            // fails Luhn
		"order 1234567890123 shipped", // 13 digits, fails Luhn
		"tokens 123456789012",         // 12 digits: too short
		"id 41111111111111111111",     // 20 digits: too long
		"ts 1733305600000 ms",         // a Unix time in ms
		"phone +1 555 0100",
		"a bearer of news",
		"sk-short",
		"task_0123",
	} {
		if got, changed := r.String(in); changed {
			t.Errorf("String(%q) = %q, redacted an ordinary value", in, got)
		}
	}
}

func TestJSONPathsAndPatterns(t *testing.T) {
	r := defaults(t,
		Rule{Name: "password", Path: "input.password"},
		Rule{Name: "tool-token", Path: "arguments.*.token"},
		Rule{Name: "ticket", Pattern: `TCK-[0-9]{6}`},
	)
	for _, tc := range []struct{ root, in, want string }{
		{"input", `{"user":"a","Password":{"x":[1,2]},"n":3}`, `{"user":"a","Password":"[REDACTED:password]","n":3}`},
		{"arguments", `{"svc":{"token":"t1","url":"u"},"list":[{"token":"t2"}]}`, `{"svc":{"token":"[REDACTED:tool-token]","url":"u"},"list":[{"token":"t2"}]}`},
		{"arguments", `[{"token":"t1"},{"x":1}]`, `[{"token":"[REDACTED:tool-token]"},{"x":1}]`},
		{"result", `{"content":[{"type":"text","text":"your key is ` + openAIKey + `, ticket TCK-123456"}]}`, `{"content":[{"type":"text","text":"your key is [REDACTED:openai-key], ticket [REDACTED:ticket]"}]}`},
		{"output", `{"card":4111111111111111,"qty":12}`, `{"card":"[REDACTED:card-number]","qty":12}`},
		{"input", `"escaped s\u006b-proj-abcdefghijklmnopqrstuvwxyz"`, `"escaped [REDACTED:openai-key]"`},
		{"input", `{"a\u0020b":"<Bearer abcdefghijk>"}`, `{"a b":"\u003c[REDACTED:bearer-token]\u003e"}`},
	} {
		got, changed := r.JSON(tc.root, json.RawMessage(tc.in))
		if string(got) != tc.want || !changed {
			t.Errorf("JSON(%s, %s) = %s, %v; want %s", tc.root, tc.in, got, changed, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("JSON(%s) is not valid JSON: %s", tc.in, got)
		}
	}
	for _, in := range []string{`{"nested":{"password":"kept: the path is input.password only"}}`, `{"a":1,"b":[true,null,"x"]}`, `"plain text"`, `12`} {
		got, changed := r.JSON("input", json.RawMessage(in))
		if changed || string(got) != in {
			t.Errorf("JSON(%s) = %s, %v; want it unchanged", in, got, changed)
		}
	}
}

func TestEventDoesNotModifyCaller(t *testing.T) {
	r := defaults(t, Rule{Name: "api-key-attr", Path: "attributes.api_key"})
	in := json.RawMessage(`{"prompt":"Bearer abcdefghijkl"}`)
	attrs := map[string]any{"api_key": "anything", "note": "card 4111111111111111", "n": json.Number("4111111111111111"), "ok": true}
	ev := agentscope.Event{Type: agentscope.SessionStarted, Input: in, Attributes: attrs, Error: "failed with " + openAIKey}
	got, changed := r.Event(ev)
	if !changed {
		t.Fatal("nothing redacted")
	}
	if string(got.Input) != `{"prompt":"[REDACTED:bearer-token]"}` || got.Error != "failed with [REDACTED:openai-key]" {
		t.Errorf("input %s, error %q", got.Input, got.Error)
	}
	want := map[string]any{"api_key": "[REDACTED:api-key-attr]", "note": "card [REDACTED:card-number]", "n": "[REDACTED:card-number]", "ok": true}
	for k, v := range want {
		if got.Attributes[k] != v {
			t.Errorf("attributes[%s] = %v, want %v", k, got.Attributes[k], v)
		}
	}
	if string(in) != `{"prompt":"Bearer abcdefghijkl"}` || attrs["api_key"] != "anything" || ev.Error != "failed with "+openAIKey {
		t.Error("the caller's event was modified")
	}
}

func TestBadRulesNameTheRule(t *testing.T) {
	for _, tc := range []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{{Name: "broken", Pattern: "sk-("}}, `"broken": pattern`},
		{[]Rule{{Name: "both", Pattern: "x", Path: "input.x"}}, `"both": give exactly one`},
		{[]Rule{{Name: "neither"}}, `"neither": give exactly one`},
		{[]Rule{{Name: "empty", Pattern: "a*"}}, `"empty": pattern matches the empty string`},
		{[]Rule{{Name: "root", Path: "metadata.x"}}, `"root": path "metadata.x" must start with`},
		{[]Rule{{Name: "whole", Path: "input"}}, `"whole": path "input" names a whole field`},
		{[]Rule{{Name: "gap", Path: "input..x"}}, `"gap": path "input..x" has an empty segment`},
		{[]Rule{{Name: "openai-key", Pattern: "x"}}, `"openai-key": name used twice`},
		{[]Rule{{Name: "Upper", Pattern: "x"}}, `"Upper"): name must be`},
		{[]Rule{{Name: "eats-markers", Pattern: `REDACTED`}}, `"eats-markers": pattern matches`},
	} {
		_, err := New(tc.rules, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %s", tc.rules, err, tc.want)
		}
	}
}

func TestParseRules(t *testing.T) {
	rules, err := ParseRules([]byte(`[{"name":"a","pattern":"x+"},{"name":"b","path":"input.k"}]`))
	if err != nil || len(rules) != 2 || rules[1].Path != "input.k" {
		t.Fatalf("ParseRules = %+v, %v", rules, err)
	}
	for _, bad := range []string{`{"name":"a"}`, `[{"name":"a","regex":"x"}]`, `[] []`} {
		if _, err := ParseRules([]byte(bad)); err == nil {
			t.Errorf("ParseRules(%s) accepted", bad)
		}
	}
}

func TestDefaultsOff(t *testing.T) {
	r, err := New(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, changed := r.String(openAIKey); changed {
		t.Errorf("defaults off, yet %q", got)
	}
}

// TestNoAllocationWithoutCandidates: the ingest path pays nothing for a
// value no rule can touch.
func TestNoAllocationWithoutCandidates(t *testing.T) {
	r := defaults(t, Rule{Name: "password", Path: "input.password"})
	ev := agentscope.Event{Type: agentscope.ToolCalled, Input: json.RawMessage(`{"question":"what is the weather in Paris on 2026-12-04?","n":42}`),
		Arguments: json.RawMessage(`{"city":"Paris","units":"metric"}`), Attributes: map[string]any{"k": "v"}}
	if n := testing.AllocsPerRun(100, func() { r.Event(ev) }); n != 0 {
		t.Errorf("%v allocations for an event with nothing to redact", n)
	}
}

// TestRequest: the run's input, output, error and metadata are redacted
// with the events, and the caller's request is left as it was.
func TestRequest(t *testing.T) {
	r := defaults(t)
	in := json.RawMessage(`{"prompt":"` + openAIKey + `"}`)
	meta := map[string]string{"k": "Bearer abcdefghijkl", "plain": "x"}
	events := []agentscope.Event{{Type: agentscope.SessionStarted, Input: in}, {Type: agentscope.SessionCompleted, Status: "ok"}}
	req := agentscope.AppendRequest{
		Start:  &agentscope.Run{Input: in, Error: "card 4111111111111111", Metadata: meta},
		Events: events,
		Update: &agentscope.RunUpdate{Output: json.RawMessage(`"` + anthropicKey + `"`), Error: "x"},
	}
	got := r.Request(req)
	if string(got.Start.Input) != `{"prompt":"[REDACTED:openai-key]"}` || got.Start.Error != "card [REDACTED:card-number]" ||
		got.Start.Metadata["k"] != "[REDACTED:bearer-token]" || got.Start.Metadata["plain"] != "x" {
		t.Errorf("start %+v", got.Start)
	}
	if string(got.Update.Output) != `"[REDACTED:anthropic-key]"` || string(got.Events[0].Input) != `{"prompt":"[REDACTED:openai-key]"}` {
		t.Errorf("update %s, event input %s", got.Update.Output, got.Events[0].Input)
	}
	if req.Start.Error != "card 4111111111111111" || meta["k"] != "Bearer abcdefghijkl" || string(events[0].Input) != string(in) ||
		string(req.Update.Output) != `"`+anthropicKey+`"` {
		t.Error("the caller's request was modified")
	}
	clean := agentscope.AppendRequest{Events: events[1:], Start: &agentscope.Run{Input: json.RawMessage(`{}`)}}
	if got := r.Request(clean); got.Start != clean.Start || &got.Events[0] != &clean.Events[0] {
		t.Error("a request with nothing to redact was copied")
	}
}
