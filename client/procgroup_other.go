//go:build !unix

package client

import "os/exec"

// setProcessGroup does nothing where process groups are not available.
func setProcessGroup(*exec.Cmd) {}

// killProcessGroup does nothing where process groups are not available;
// the program itself is still killed.
func killProcessGroup(int) {}
