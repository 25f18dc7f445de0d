package agentscope

// DecodeEventPaths exposes DecodeEvent's two paths to the differential
// fuzz test: the in-place one for valid events and the full one.
func DecodeEventPaths(data []byte) (fast Event, fastOK bool, full Event, fullErr error) {
	fast, fastOK = decodeEventFast(data)
	full, fullErr = decodeEventSlow(data)
	return fast, fastOK, full, fullErr
}

// BatchSlot exposes where an EventBatch keeps event i.
var BatchSlot = batchSlot
