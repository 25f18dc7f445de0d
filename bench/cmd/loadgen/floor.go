package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// floorResult is what the transport floor answers every POST with: a
// JSON-RPC result shaped and sized like record_event's.
const floorResult = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"accepted\":1,\"rejected\":0,\"results\":[{\"index\":0,\"session_id\":\"c0\",\"event_id\":\"c0-0\",\"accepted\":true,\"seq\":2}]}"}],"structuredContent":{"accepted":1,"rejected":0,"results":[{"index":0,"session_id":"c0","event_id":"c0-0","accepted":true,"seq":2}]}}}`

// serveFloor runs the transport floor: a net/http server that reads each
// request's body and answers with floorResult, doing nothing else. It
// prints "listening on ADDR" once it accepts connections.
func serveFloor(ctx context.Context, addr string, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	body := []byte(floorResult)
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	fmt.Fprintf(out, "listening on %s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
