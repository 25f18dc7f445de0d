package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The stdio transport ends the connection on an input line it cannot decode,
// and with it the host's whole session. stdioGuard stands between stdin and
// the transport: a line that is not JSON is answered with a JSON-RPC Parse
// error (-32700, id null), and a JSON line that is not a JSON-RPC message with
// Invalid Request (-32600), as JSON-RPC 2.0 says; the server keeps serving.

const (
	parseErrorLine     = `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: the line is not valid JSON"}}` + "\n"
	invalidRequestLine = `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: the line is JSON but not a JSON-RPC 2.0 message"}}` + "\n"
)

// drainTimeout bounds how long the end of stdin waits for the answers to
// the requests already read.
const drainTimeout = time.Minute

// lockedWriter makes each Write whole: the transport writes one message per
// call, and the guard's error lines must not land inside one. It also
// keeps the ids of the requests passed to the transport that have no
// answer yet, so that the end of input waits for their answers.
type lockedWriter struct {
	mu      sync.Mutex
	w       io.Writer
	pending map[string]int // request id (its JSON) -> requests with it unanswered
	settled *sync.Cond     // signalled when an answer leaves pending
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if id, ok := responseID(p); ok && l.pending[id] > 0 {
		if l.pending[id]--; l.pending[id] == 0 {
			delete(l.pending, id)
		}
		l.cond().Broadcast()
	}
	return n, err
}

func (l *lockedWriter) cond() *sync.Cond {
	if l.settled == nil {
		l.settled = sync.NewCond(&l.mu)
	}
	return l.settled
}

// expect notes the requests of line (a message or a batch) that the
// transport will answer.
func (l *lockedWriter) expect(line []byte) {
	var msgs []json.RawMessage
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &msgs) != nil {
			return
		}
	} else {
		msgs = []json.RawMessage{trimmed}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range msgs {
		var head struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(m, &head) == nil && head.Method != "" && len(head.ID) > 0 && string(head.ID) != "null" {
			if l.pending == nil {
				l.pending = map[string]int{}
			}
			l.pending[compactID(head.ID)]++
		}
	}
}

// drained waits until every request passed on has its answer written, or
// ctx ends.
func (l *lockedWriter) drained(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond().Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.pending) > 0 && ctx.Err() == nil {
		l.cond().Wait()
	}
}

// responseID returns the id of p if it is one JSON-RPC response.
func responseID(p []byte) (string, bool) {
	var head struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(p, &head) != nil || head.Method != "" || len(head.ID) == 0 {
		return "", false
	}
	return compactID(head.ID), true
}

func compactID(id json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, id) != nil {
		return string(id)
	}
	return b.String()
}

func (*lockedWriter) Close() error { return nil }

// guardStdin returns what the transport reads: the lines of in that decode
// as JSON-RPC messages (or batches). Malformed lines are answered on out.
// At the end of in, the transport's input ends only once every request it
// was given is answered (or ctx ends): a client that writes its requests
// and closes stdin, as a shell pipe does, gets every answer, where the
// transport used to close the connection with the calls still running.
func guardStdin(ctx context.Context, in io.Reader, out *lockedWriter) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReaderSize(in, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				if reply := checkLine(line); reply != "" {
					if _, werr := io.WriteString(out, reply); werr != nil {
						pw.CloseWithError(werr)
						return
					}
				} else {
					out.expect(line)
					if _, werr := pw.Write(line); werr != nil {
						return // the transport stopped reading
					}
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
					// Bounded: a call that never answers must not keep the
					// process from exiting after its client left.
					dctx, cancel := context.WithTimeout(ctx, drainTimeout)
					out.drained(dctx)
					cancel()
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

// checkLine returns the error line to answer a malformed input line with, or
// "" to pass it on.
func checkLine(line []byte) string {
	trimmed := bytes.TrimSpace(line)
	if !json.Valid(trimmed) {
		return parseErrorLine
	}
	if trimmed[0] == '[' {
		return "" // a batch: the transport answers each element
	}
	if _, err := jsonrpc.DecodeMessage(trimmed); err != nil {
		return invalidRequestLine
	}
	return ""
}
