package spl

import (
	"os"
	"testing"

	"github.com/agentscope/agentscope/internal/gctune"
)

// TestMain runs the tests and benchmarks with the garbage collector paced
// as the agentscope binary paces it (package gctune), so the benchmark
// figures are the binary's.
func TestMain(m *testing.M) {
	gctune.Apply()
	os.Exit(m.Run())
}
