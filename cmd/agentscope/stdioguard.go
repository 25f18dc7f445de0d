package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"

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

// lockedWriter makes each Write whole: the transport writes one message per
// call, and the guard's error lines must not land inside one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (*lockedWriter) Close() error { return nil }

// guardStdin returns what the transport reads: the lines of in that decode
// as JSON-RPC messages (or batches). Malformed lines are answered on out.
func guardStdin(in io.Reader, out io.Writer) io.ReadCloser {
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
				} else if _, werr := pw.Write(line); werr != nil {
					return // the transport stopped reading
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
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
