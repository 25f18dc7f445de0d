package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The stdio transport ends the connection on an input line it cannot decode,
// and with it the host's whole session. stdioGuard stands between stdin and
// the transport: a line that is not JSON is answered with a JSON-RPC Parse
// error (-32700, id null), and a JSON line that is not a JSON-RPC message with
// Invalid Request (-32600), as JSON-RPC 2.0 says; the server keeps serving.
// The same goes for a batch once the session has negotiated 2025-06-18 or
// later, which has no batches: the transport would end the session on it,
// so each of its requests is answered with Invalid Request instead.

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
	initID  string         // the id of the initialize request awaiting its answer
	version string         // the protocol version the last initialize answer chose
}

// batchesUntil is the first protocol version without JSON-RPC batches.
const batchesUntil = "2025-06-18"

// negotiated returns the protocol version the session chose, waiting (at
// most until ctx ends) for the answer to an initialize request already
// passed on, so that a batch written right after it is judged by it.
func (l *lockedWriter) negotiated(ctx context.Context) string {
	l.waitLocked(ctx, func() bool { return l.initID == "" || l.pending[l.initID] == 0 })
	defer l.mu.Unlock()
	return l.version
}

// waitLocked waits until done (called with l.mu held) or ctx ends, and
// returns with l.mu held: answers written signal the condition.
func (l *lockedWriter) waitLocked(ctx context.Context, done func() bool) {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond().Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	for !done() && ctx.Err() == nil {
		l.cond().Wait()
	}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if id, ok := responseID(p); ok && id == l.initID {
		var init struct {
			Result struct {
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"result"`
		}
		if json.Unmarshal(p, &init) == nil && init.Result.ProtocolVersion != "" {
			l.version = init.Result.ProtocolVersion
		}
	}
	for _, id := range responseIDs(p) {
		if l.pending[id] > 0 {
			if l.pending[id]--; l.pending[id] == 0 {
				delete(l.pending, id)
			}
			l.cond().Broadcast()
		}
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
			if head.Method == "initialize" {
				l.initID = compactID(head.ID)
			}
		}
	}
}

// drained waits until every request passed on has its answer written, or
// ctx ends.
func (l *lockedWriter) drained(ctx context.Context) {
	l.waitLocked(ctx, func() bool { return len(l.pending) == 0 })
	l.mu.Unlock()
}

// responseIDs returns the ids of the JSON-RPC responses in p: one
// response, or a batch's array of them.
func responseIDs(p []byte) []string {
	if !isBatch(p) {
		if id, ok := responseID(p); ok {
			return []string{id}
		}
		return nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(p, &elems) != nil {
		return nil
	}
	var ids []string
	for _, e := range elems {
		if id, ok := responseID(e); ok {
			ids = append(ids, id)
		}
	}
	return ids
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
				reply := checkLine(line)
				if reply == "" && isBatch(line) {
					if v := out.negotiated(ctx); v >= batchesUntil {
						reply = refuseBatch(line, v)
					}
				}
				if reply != "" {
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

func isBatch(line []byte) bool {
	trimmed := bytes.TrimSpace(line)
	return len(trimmed) > 0 && trimmed[0] == '['
}

// refuseBatch answers a batch sent at a protocol version without batches:
// an Invalid Request error for each request in it, with its id, so the
// client's calls fail instead of waiting; a batch with no requests in it
// (only notifications or responses) gets one error with id null.
func refuseBatch(line []byte, version string) string {
	msg := fmt.Sprintf("Invalid Request: protocol version %s has no JSON-RPC batches (none since %s); send each message on a line of its own", version, batchesUntil)
	var elems []json.RawMessage
	_ = json.Unmarshal(bytes.TrimSpace(line), &elems) // checkLine saw valid JSON
	var b strings.Builder
	for _, e := range elems {
		var head struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(e, &head) != nil || head.Method == "" || len(head.ID) == 0 || string(head.ID) == "null" {
			continue
		}
		writeErrorLine(&b, json.RawMessage(compactID(head.ID)), msg)
	}
	if b.Len() == 0 {
		writeErrorLine(&b, json.RawMessage("null"), msg)
	}
	return b.String()
}

func writeErrorLine(b *strings.Builder, id json.RawMessage, msg string) {
	line, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{-32600, msg}})
	b.Write(line)
	b.WriteByte('\n')
}
