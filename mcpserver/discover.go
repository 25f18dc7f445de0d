package mcpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// statelessProtocol is the first protocol version without the initialize
// handshake (SEP-2575). /mcp is a stateful Streamable HTTP endpoint, which
// go-sdk serves only at earlier versions.
const statelessProtocol = "2026-07-28"

// refuseStatelessDiscover answers a server/discover sent at protocol
// 2026-07-28 or later with UnsupportedProtocolVersion (-32022, HTTP 400)
// naming the versions /mcp takes, as the specification asks of a request
// at a version the server does not implement. go-sdk v1.8.0's stateful
// handler answers it with a DiscoverResult instead (listing only the older
// versions; go-sdk issue #1025), which a client that does not read that
// list, such as mark3labs/mcp-go v1.2.1 with its defaults, takes for a
// stateless server: its every later request was then refused. On the error
// both mcp-go and go-sdk clients fall back to the initialize handshake.
// Every other request, and a discover at an older version, passes through
// untouched; the body is read only for a POST declaring such a version.
func refuseStatelessDiscover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requested := r.Header.Get("Mcp-Protocol-Version")
		if r.Method != http.MethodPost || requested < statelessProtocol {
			next.ServeHTTP(w, r)
			return
		}
		// The go-sdk handler limits the body it reads; a discover is small,
		// so only its first 64 KiB are looked at and the rest is passed on.
		head, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			refuse(w, "Bad Request: reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(head, &msg) != nil || msg.Method != "server/discover" || len(msg.ID) == 0 {
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
			next.ServeHTTP(w, r)
			return
		}
		supported := slices.DeleteFunc(mcp.SupportedProtocolVersions(), func(v string) bool { return v >= statelessProtocol })
		resp := map[string]any{
			"jsonrpc": "2.0",
			"id":      msg.ID,
			"error": map[string]any{
				"code":    mcp.CodeUnsupportedProtocolVersion,
				"message": fmt.Sprintf("protocol version %q is not supported by this server; use the initialize handshake with one of %v", requested, supported),
				"data":    mcp.UnsupportedProtocolVersionData{Supported: supported, Requested: requested},
			},
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(resp)
	})
}
