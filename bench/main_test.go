package bench

import (
	"os"
	"testing"

	"github.com/agentscope/agentscope/internal/gctune"
)

// TestMain runs the benchmarks with the garbage collector paced as the
// agentscope binary paces it (package gctune), so the figures are the
// binary's.
func TestMain(m *testing.M) {
	gctune.Apply()
	os.Exit(m.Run())
}
