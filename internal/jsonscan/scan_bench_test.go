package jsonscan

import "testing"

// benchEvent is an event as an agent sends it: ids, a prompt and an
// answer of a few hundred bytes of text, attributes.
const benchEvent = `{"event_id":"ev-01a24727-3391-79c3-b18f-43fdcbc8b390","session_id":"sess-7f3c2a1b","type":"ModelCompleted",` +
	`"ts":"2026-12-05T12:00:00.123456Z","agent":"support-bot","provider":"openai","model":"gpt-4o-mini",` +
	`"input":"Summarise the customer's last three tickets and suggest the next action for the on-call engineer, citing ticket ids.",` +
	`"output":"Tickets 4411, 4420 and 4432 all report timeouts from the EU region after the 14:00 deploy; roll back build 7781 and page the network team.",` +
	`"duration_ms":812.5,"tokens_in":1200,"tokens_out":96,"attributes":{"region":"eu-west-1","stream":true,"retry":0}}`

// BenchmarkMembers is the split of one event into its members, the first
// step of ingest's decoding and of the HEC test server's.
func BenchmarkMembers(b *testing.B) {
	data := []byte(benchEvent)
	var buf [32]Member
	b.SetBytes(int64(len(data)))
	for range b.N {
		if _, ok := Members(data, buf[:0]); !ok {
			b.Fatal("not ok")
		}
	}
}
