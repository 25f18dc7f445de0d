package gateway

import "bytes"

// sseParser splits a server-sent event stream (the WHATWG event stream
// format) into events as its bytes arrive, in pieces of any size. It reads
// a copy of what the client is sent and never changes the stream; it keeps
// at most maxEventBytes of one event's data, and drops (counts) a larger
// event instead of growing without bound.
type sseParser struct {
	line    []byte // the current line, not yet ended
	event   []byte // the current event's type
	data    []byte // the current event's data lines, joined by \n
	hasData bool
	skipLF  bool // the last byte was a \r: a \n right after it ends nothing
	tooBig  bool // the current event passed maxEventBytes
	dropped int  // events dropped for size
	emit    func(event string, data []byte)
}

// maxEventBytes bounds one event's data the parser keeps.
const maxEventBytes = 4 << 20

func newSSEParser(emit func(event string, data []byte)) *sseParser {
	return &sseParser{emit: emit}
}

// write feeds the next bytes of the stream.
func (p *sseParser) write(b []byte) {
	for len(b) > 0 {
		if p.skipLF {
			p.skipLF = false
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			p.appendLine(b)
			return
		}
		p.appendLine(b[:i])
		if b[i] == '\r' {
			p.skipLF = true
		}
		b = b[i+1:]
		p.endLine()
	}
}

func (p *sseParser) appendLine(b []byte) {
	if len(p.line)+len(b) > maxEventBytes {
		p.tooBig = true
		return
	}
	p.line = append(p.line, b...)
}

// endLine interprets the line just ended.
func (p *sseParser) endLine() {
	line := p.line
	p.line = p.line[:0]
	if len(line) == 0 {
		p.dispatch()
		return
	}
	if line[0] == ':' {
		return // a comment
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		p.event = append(p.event[:0], value...)
	case "data":
		if p.hasData {
			p.data = append(p.data, '\n')
		}
		if len(p.data)+len(value) > maxEventBytes {
			p.tooBig = true
			return
		}
		p.data = append(p.data, value...)
		p.hasData = true
	}
}

// dispatch emits the event the blank line ended, if it has data.
func (p *sseParser) dispatch() {
	switch {
	case p.tooBig:
		p.dropped++
	case p.hasData:
		ev := string(p.event)
		if ev == "" {
			ev = "message"
		}
		p.emit(ev, p.data)
	}
	p.event, p.data, p.hasData, p.tooBig = p.event[:0], p.data[:0], false, false
}
