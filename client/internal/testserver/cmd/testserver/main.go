// Command testserver serves package testserver's MCP server over stdio,
// or misbehaves as -mode asks: hang never answers initialize and ignores
// SIGTERM and stdin closing; exit exits at once with status 2.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/agentscope/agentscope/client/internal/testserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	var opts testserver.Options
	mode := flag.String("mode", "normal", "normal, hang or exit")
	flag.StringVar(&opts.Variant, "variant", "official", "search tool variant")
	flag.StringVar(&opts.Rows, "rows", "structured", "how rows are returned")
	flag.StringVar(&opts.StateDir, "state", "", "directory for pid files and the call counter")
	flag.IntVar(&opts.CrashOnCall, "crash-on-call", 0, "exit with status 3 on this search call")
	flag.Parse()

	if opts.StateDir != "" {
		if err := testserver.WritePIDFile(opts.StateDir); err != nil {
			fmt.Fprintln(os.Stderr, "testserver:", err)
			os.Exit(1)
		}
	}
	fmt.Fprintln(os.Stderr, "testserver: starting")
	fmt.Fprintln(os.Stderr, "testserver: warning: this server is for tests")

	switch *mode {
	case "exit":
		os.Exit(2)
	case "hang":
		signal.Ignore(syscall.SIGTERM)
		_, _ = io.Copy(io.Discard, os.Stdin)
		time.Sleep(time.Hour) // only SIGKILL ends it
		os.Exit(1)
	}

	srv, err := testserver.New(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
	if err := srv.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
	}
}
