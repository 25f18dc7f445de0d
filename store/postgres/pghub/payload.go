package pghub

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/agentscope/agentscope"
)

// maxPayload keeps a notification well under PostgreSQL's limit (a payload
// must be shorter than 8000 bytes).
const maxPayload = 7000

// payload is one notification: which sessions committed events, or All when
// the sender lost track and every subscriber should re-read the store. It
// names no events: the store has them.
type payload struct {
	Node     string        `json:"node"`
	All      bool          `json:"all,omitempty"`
	Sessions []sessionNote `json:"sessions,omitempty"`
	// Hello announces a listening hub; Reply asks the others to answer
	// with their own. A hub of an earlier release reads a hello as a
	// notification of no sessions, and does nothing.
	Hello bool `json:"hello,omitempty"`
	Reply bool `json:"reply,omitempty"`
}

// sessionNote says a session committed events up to Seq.
type sessionNote struct {
	Org     string `json:"org"`
	Session string `json:"session"`
	Seq     int64  `json:"seq"`
}

// sessionNotes lists the sessions of events with each one's highest seq, in
// order of first appearance. A group commit's events come in runs of one
// session, so the index is only built when a second session appears.
func sessionNotes(orgID string, events []agentscope.Event) []sessionNote {
	var notes []sessionNote
	var index map[string]int
	for _, ev := range events {
		i := len(notes) - 1
		if i < 0 || notes[i].Session != ev.SessionID {
			var ok bool
			if i, ok = index[ev.SessionID]; !ok {
				i = len(notes)
				notes = append(notes, sessionNote{Org: orgID, Session: ev.SessionID})
				if i == 1 {
					index = map[string]int{notes[0].Session: 0}
				}
				if index != nil {
					index[ev.SessionID] = i
				}
			}
		}
		notes[i].Seq = max(notes[i].Seq, ev.Seq)
	}
	return notes
}

// coalesce merges the notes of several Publish calls, one per session with
// the highest seq, in order of first appearance.
func coalesce(lists [][]sessionNote) []sessionNote {
	if len(lists) == 1 {
		return lists[0]
	}
	type key struct{ org, session string }
	var out []sessionNote
	index := map[key]int{}
	for _, notes := range lists {
		for _, n := range notes {
			k := key{n.Org, n.Session}
			if i, ok := index[k]; ok {
				out[i].Seq = max(out[i].Seq, n.Seq)
				continue
			}
			index[k] = len(out)
			out = append(out, n)
		}
	}
	return out
}

// allPayload is the notification that pokes every subscriber.
func allPayload(node string) string {
	b, _ := json.Marshal(payload{Node: node, All: true})
	return string(b)
}

// helloPayload announces node, asking for replies when reply.
func helloPayload(node string, reply bool) string {
	b, _ := json.Marshal(payload{Node: node, Hello: true, Reply: reply})
	return string(b)
}

// encodePayloads packs notes, in order, into as few payloads as fit under
// maxPayload. Should one note not fit on its own (an absurdly long
// organisation id), the notes collapse into a single poke-everyone.
func encodePayloads(node string, notes []sessionNote) []string {
	nodeJSON, _ := json.Marshal(node)
	head := `{"node":` + string(nodeJSON) + `,"sessions":[`
	const tail = `]}`
	var out []string
	var b strings.Builder
	for _, n := range notes {
		note, _ := json.Marshal(n)
		if len(head)+len(note)+len(tail) > maxPayload {
			return []string{allPayload(node)}
		}
		if b.Len() > 0 && b.Len()+1+len(note)+len(tail) > maxPayload {
			b.WriteString(tail)
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(head)
		} else {
			b.WriteByte(',')
		}
		b.Write(note)
	}
	if b.Len() > 0 {
		b.WriteString(tail)
		out = append(out, b.String())
	}
	return out
}

// decodePayload parses a notification.
func decodePayload(s string) (payload, error) {
	var p payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return payload{}, err
	}
	if p.Node == "" {
		return payload{}, errors.New("no node")
	}
	return p, nil
}
