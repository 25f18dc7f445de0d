// Command loadgen is the lean load client of the end-to-end benchmarks that
// benchreport runs against a real `agentscope serve` process, and the
// do-nothing server those figures are read beside:
//
//	loadgen floor  -addr 127.0.0.1:0
//	loadgen mcp    -url http://…/mcp -token T -clients 32 -calls 20000 -cpu-pid PID
//	loadgen ingest -url http://… -token T -writers 8 -batch 500 -events 200000 -cpu-pid PID
//	loadgen copy   -database-url postgres://… -writers 8 -batch 500 -events 200000 -conns 1
//
// The clients pre-encode every request body before the clock starts and
// send them over keep-alive connections, so the client costs little CPU
// per call and the server is what is measured. The server's CPU is its
// process time (utime+stime from /proc/PID/stat) across the timed part
// only. Each mode prints one JSON object (a [Report]) on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen floor|mcp|ingest|copy [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("loadgen "+os.Args[1], flag.ExitOnError)
	var (
		rep *Report
		err error
	)
	switch os.Args[1] {
	case "floor":
		addr := fs.String("addr", "127.0.0.1:0", "listen `address`")
		_ = fs.Parse(os.Args[2:])
		err = serveFloor(ctx, *addr, os.Stdout)
	case "mcp":
		var o mcpOptions
		fs.StringVar(&o.url, "url", "", "the MCP endpoint")
		fs.StringVar(&o.token, "token", "", "bearer token")
		fs.IntVar(&o.clients, "clients", 32, "concurrent clients, each in its own MCP session and AgentScope session")
		fs.IntVar(&o.calls, "calls", 20000, "timed record_event calls in all")
		fs.IntVar(&o.warmup, "warmup", 2000, "untimed calls first")
		fs.IntVar(&o.cpuPID, "cpu-pid", 0, "the server's process id, whose CPU time is measured")
		fs.StringVar(&o.prefix, "prefix", "lg", "session id prefix")
		fs.BoolVar(&o.floor, "floor", false, "the server is the transport floor: no session to start or check")
		_ = fs.Parse(os.Args[2:])
		rep, err = runMCP(ctx, o)
	case "ingest":
		var o ingestOptions
		fs.StringVar(&o.url, "url", "", "the server's base URL")
		fs.StringVar(&o.token, "token", "", "bearer token")
		fs.IntVar(&o.writers, "writers", 8, "concurrent writers, each in its own session")
		fs.IntVar(&o.batch, "batch", 500, "events per POST")
		fs.IntVar(&o.events, "events", 200000, "events in all")
		fs.IntVar(&o.cpuPID, "cpu-pid", 0, "the server's process id, whose CPU time is measured")
		fs.StringVar(&o.prefix, "prefix", "w", "session id prefix")
		_ = fs.Parse(os.Args[2:])
		rep, err = runIngest(ctx, o)
	case "copy":
		var o copyOptions
		fs.StringVar(&o.url, "database-url", "", "Postgres URL of a migrated AgentScope database")
		fs.IntVar(&o.writers, "writers", 8, "the ingest burst's writers, each in its own session")
		fs.IntVar(&o.batch, "batch", 500, "the ingest burst's events per POST")
		fs.IntVar(&o.events, "events", 200000, "rows in all")
		fs.StringVar(&o.prefix, "prefix", "w", "session id prefix")
		fs.IntVar(&o.conns, "conns", 1, "connections: 1 copies every row in arrival order; more copy each writer's rows in seq order, at once")
		fs.IntVar(&o.cpuPID, "cpu-pid", 0, "the database server's process id, if its CPU is to be measured (0: none)")
		_ = fs.Parse(os.Args[2:])
		rep, err = runCopy(ctx, o)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if rep != nil {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	}
}

// Report is what a load run prints.
type Report struct {
	// Ops is the number of timed operations (calls or events).
	Ops     int     `json:"ops"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_s"`
	// P50 and P99 are request latencies in milliseconds.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	// ServerCPU is the server process's CPU time over the timed part, in
	// seconds; ServerCPUPerOp the same per operation in microseconds.
	ServerCPU      float64 `json:"server_cpu_s"`
	ServerCPUPerOp float64 `json:"server_cpu_us_per_op"`
	// ClientCPUPerOp is this process's own CPU per operation.
	ClientCPUPerOp float64 `json:"client_cpu_us_per_op"`
	// EndUnixNano is when the last timed request was answered.
	EndUnixNano int64 `json:"end_unix_nano"`
}
