package gateway

import (
	"encoding/json"
	"reflect"
	"testing"
)

type sseEvent struct {
	name string
	data string
}

func parseAll(chunks [][]byte) ([]sseEvent, int) {
	var got []sseEvent
	p := newSSEParser(func(name string, data []byte) { got = append(got, sseEvent{name, string(data)}) })
	for _, c := range chunks {
		p.write(c)
	}
	return got, p.dropped
}

func TestSSEParser(t *testing.T) {
	stream := "event: message_start\ndata: {\"a\":1}\n\n: a comment\r\ndata: one\r\ndata:two\r\n\r\nid: 7\nretry: 10\n\ndata: [DONE]\n\nevent: x\ndata: unended"
	want := []sseEvent{{"message_start", `{"a":1}`}, {"message", "one\ntwo"}, {"message", "[DONE]"}}
	for split := 0; split <= len(stream); split++ {
		got, _ := parseAll([][]byte{[]byte(stream[:split]), []byte(stream[split:])})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d: %q", split, got)
		}
	}
}

// FuzzSSE: the events a stream holds do not depend on how it is cut into
// pieces, and reading them as any of the APIs' streams never fails.
func FuzzSSE(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\",\"tool_calls\":[{\"index\":3,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}],\"usage\":{\"prompt_tokens\":3}}\n\ndata: [DONE]\n\n"), uint16(7))
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":2}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\n\n"), uint16(30))
	f.Add([]byte("event: response.completed\r\ndata: {\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":1},\"output\":[{\"type\":\"function_call\",\"call_id\":\"c\",\"arguments\":\"x\"}]}}\r\n\r\n"), uint16(3))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16) {
		whole, dropped := parseAll([][]byte{stream})
		at := int(cut) % (len(stream) + 1)
		cutUp, droppedCut := parseAll([][]byte{stream[:at], stream[at:]})
		if !reflect.DeepEqual(whole, cutUp) || dropped != droppedCut {
			t.Fatalf("cut at %d: %q vs %q", at, whole, cutUp)
		}
		for _, api := range []string{apiChat, apiResponses, apiMessages} {
			res := &callResult{}
			sr := &streamReader{api: api, res: res}
			for _, ev := range whole {
				sr.event(ev.name, []byte(ev.data))
			}
			sr.finish()
			checkResult(t, res)
		}
	})
}

// FuzzParse: any request or answer body is read without failing, and what
// is read is what the events can hold.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","tool_call_id":"c","content":"r"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"x"}],"is_error":true}]}],"input":[{"type":"function_call_output","call_id":"c","output":"o"}]}`))
	f.Add([]byte(`{"model":"m","choices":[{"index":0,"message":{"content":"hi","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":20}}}`))
	f.Add([]byte(`{"model":"m","content":[{"type":"tool_use","id":"t","name":"n","input":{"a":1}}],"usage":{"input_tokens":1,"cache_creation_input_tokens":2}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, api := range []string{apiChat, apiResponses, apiEmbeddings, apiMessages} {
			req := parseRequest(api, body)
			for _, r := range req.results {
				if r.callID == "" || !json.Valid(r.content) {
					t.Fatalf("%s: tool result %+v", api, r)
				}
			}
			if req.input != nil && !json.Valid(req.input) {
				t.Fatalf("%s: input %q", api, req.input)
			}
			res := &callResult{}
			parseAnswer(api, body, res)
			checkResult(t, res)
		}
	})
}

// checkResult holds a read answer to what its events need: tool
// arguments that are JSON, recorded text within its bound.
func checkResult(t *testing.T, res *callResult) {
	t.Helper()
	for _, c := range res.calls {
		if c.args != nil && !json.Valid(c.args) {
			t.Fatalf("tool call arguments %q are not JSON", c.args)
		}
	}
	if res.text.Len() > maxRecordedText {
		t.Fatalf("recorded text of %d bytes", res.text.Len())
	}
}
