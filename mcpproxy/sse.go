package mcpproxy

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
)

// sseEvent is one server-sent event as the HTML living standard's
// event-stream format defines it (the fields MCP uses).
type sseEvent struct {
	Type  string // "event:"; "" is "message"
	ID    string // "id:"
	Data  []byte // "data:" lines joined with "\n"
	Retry int    // "retry:" in milliseconds; 0 when absent
}

// maxSSEEvent bounds one event's bytes (a JSON-RPC message): a stream that
// sends more without dispatching is broken, not waited on forever.
const maxSSEEvent = 32 << 20

// sseReader reads events from an event stream.
type sseReader struct {
	sc *bufio.Scanner
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxSSEEvent)
	sc.Split(scanSSELines)
	return &sseReader{sc: sc}
}

// scanSSELines splits at "\r\n", "\n" or "\r", the stream's line ends.
func scanSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\r' {
			if i+1 == len(data) && !atEOF {
				return 0, nil, nil // a "\n" may follow
			}
			if i+1 < len(data) && data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
		}
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// Next returns the next event with data; io.EOF at the end of the stream
// (an event not ended by a blank line is not dispatched, as the format
// says).
func (r *sseReader) Next() (sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	hasData := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if hasData {
				ev.Data = bytes.Clone(data.Bytes())
				return ev, nil
			}
			ev = sseEvent{ID: ev.ID, Retry: ev.Retry}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
			if data.Len() > maxSSEEvent {
				return sseEvent{}, bufio.ErrTooLong
			}
		case "event":
			ev.Type = value
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID = value
			}
		case "retry":
			if n, err := strconv.Atoi(value); err == nil && n >= 0 {
				ev.Retry = n
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}
