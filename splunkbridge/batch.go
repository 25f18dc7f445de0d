package splunkbridge

import "github.com/agentscope/agentscope"

// batch is the payload of one HEC request: claimed entries and their
// envelopes, concatenated. Envelopes are encoded once, when the batch is
// cut; any run of consecutive entries is a contiguous byte range, so a
// batch's tail (after a partial failure) or halves (to isolate a bad
// event) are resent without encoding anything again.
type batch struct {
	entries []agentscope.OutboxEntry
	data    []byte
	// offs[i] is where entries[i]'s envelope starts in data; offs has one
	// more element, the end of the last envelope.
	offs []int
}

// cutBatches encodes entries into batches of at most maxEvents events and
// maxBytes uncompressed bytes. An event larger than maxBytes on its own
// travels alone. Entries without a body are returned apart: there is
// nothing to send for them.
func cutBatches(enc *envelopeEncoder, entries []agentscope.OutboxEntry, maxEvents, maxBytes int) (batches []*batch, orphans []agentscope.OutboxEntry) {
	var cur *batch
	for i := range entries {
		e := &entries[i]
		if e.Body == nil {
			orphans = append(orphans, *e)
			continue
		}
		if cur == nil {
			cur = newBatch(enc, entries[i:], maxEvents, maxBytes)
		}
		start := len(cur.data)
		cur.data = enc.appendEnvelope(cur.data, e)
		if len(cur.entries) > 0 && len(cur.data) > maxBytes {
			// Move the envelope that overflowed into a fresh batch.
			next := &batch{offs: []int{0}, data: append(make([]byte, 0, min(maxBytes, 64<<10)), cur.data[start:]...)}
			cur.data = cur.data[:start]
			batches = append(batches, cur)
			cur = next
		}
		cur.entries = append(cur.entries, *e)
		cur.offs = append(cur.offs, len(cur.data))
		if len(cur.entries) >= maxEvents || len(cur.data) >= maxBytes {
			batches = append(batches, cur)
			cur = nil
		}
	}
	if cur != nil {
		batches = append(batches, cur)
	}
	return batches, orphans
}

// newBatch returns an empty batch with room for the envelopes of as many
// of entries as a batch takes: grown by appending instead, a batch of a
// megabyte was copied a dozen times over (a third of what forwarding
// cost the serving process's CPU, in the profile of a 200k-event burst).
func newBatch(enc *envelopeEncoder, entries []agentscope.OutboxEntry, maxEvents, maxBytes int) *batch {
	n, size := 0, 0
	for i := range entries {
		if n == maxEvents || size >= maxBytes {
			break
		}
		n++
		size += envelopeBytes(enc, &entries[i])
	}
	return &batch{entries: make([]agentscope.OutboxEntry, 0, n), offs: append(make([]int, 0, n+1), 0), data: make([]byte, 0, size)}
}

// len returns the number of events in b.
func (b *batch) len() int { return len(b.entries) }

// payload returns the concatenated envelopes of b.
func (b *batch) payload() []byte { return b.data[b.offs[0]:b.offs[len(b.entries)]] }

// slice returns entries [i, j) of b as a batch sharing b's bytes.
func (b *batch) slice(i, j int) *batch {
	return &batch{entries: b.entries[i:j], data: b.data, offs: b.offs[i : j+1]}
}

// refs returns the outbox names of b's entries.
func (b *batch) refs() []agentscope.OutboxRef {
	out := make([]agentscope.OutboxRef, len(b.entries))
	for i, e := range b.entries {
		out[i] = e.Ref()
	}
	return out
}
