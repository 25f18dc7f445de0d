//go:build pprof

// Profiling build: `go build -tags pprof ./cmd/agentscope` serves
// net/http/pprof on AGENTSCOPE_PPROF_ADDR (e.g. 127.0.0.1:6060), for
// profiling `agentscope serve` under load. Release builds leave it out.

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
)

func init() {
	servePprof = func(addr string) {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
