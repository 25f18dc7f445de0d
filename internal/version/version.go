// Package version is the one source of AgentScope's release version, commit
// and build date: `agentscope version` prints it and the MCP server announces
// it in the initialize handshake.
//
// The Makefile sets the three with -ldflags; a `go install …@vX` or a plain
// `go build` falls back to what the Go toolchain stamped into the binary
// (debug.ReadBuildInfo).
package version

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Set by the linker: -X github.com/agentscope/agentscope/internal/version.version=v0.2.0
// (and .commit, .date).
var (
	version string
	commit  string
	date    string
)

// Info is what a binary knows of its own build.
type Info struct {
	// Version is the release version ("v0.2.0"), or "dev" for a build
	// outside a release.
	Version string `json:"version"`
	// Commit is the source revision, with "-dirty" when the tree had
	// uncommitted changes; empty when unknown.
	Commit string `json:"commit,omitempty"`
	// Date is the build (or, from the toolchain, the commit) time in RFC
	// 3339; empty when unknown.
	Date string `json:"date,omitempty"`
}

var current = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, date, bi)
})

// Get returns this binary's build information.
func Get() Info { return current() }

// resolve prefers the linker's values and fills the gaps from the build info.
func resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	in := Info{Version: version, Commit: commit, Date: date}
	if bi != nil {
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && in.Commit != "" && !strings.HasSuffix(in.Commit, "-dirty") {
			in.Commit += "-dirty"
		}
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	return in
}

// String is the one-line form: "v0.2.0 (commit 1a2b3c4d5e6f, built 2026-12-03T17:00:00Z)".
func (i Info) String() string {
	var extra []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 && !strings.HasSuffix(c, "-dirty") {
			c = c[:12]
		} else if base, ok := strings.CutSuffix(c, "-dirty"); ok && len(base) > 12 {
			c = base[:12] + "-dirty"
		}
		extra = append(extra, "commit "+c)
	}
	if i.Date != "" {
		extra = append(extra, "built "+i.Date)
	}
	if len(extra) == 0 {
		return i.Version
	}
	return i.Version + " (" + strings.Join(extra, ", ") + ")"
}

// Announced is the version a server gives its peers (the MCP initialize
// handshake): the release version, with the short commit as semver build
// metadata when it is known ("dev+0123456789ab").
func (i Info) Announced() string {
	if i.Commit == "" {
		return i.Version
	}
	c, _ := strings.CutSuffix(i.Commit, "-dirty")
	if len(c) > 12 {
		c = c[:12]
	}
	return i.Version + "+" + c
}
