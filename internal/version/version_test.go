package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	cases := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
		str, announced        string
	}{
		{"nothing known", "", "", "", nil, Info{Version: "dev"}, "dev", "dev"},
		{"devel build without vcs", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Info{Version: "dev"}, "dev", "dev"},
		{"linker values win", "v1.0.0", "abc", "2026-12-03T00:00:00Z", stamped,
			Info{Version: "v1.0.0", Commit: "abc-dirty", Date: "2026-12-03T00:00:00Z"}, "v1.0.0 (commit abc-dirty, built 2026-12-03T00:00:00Z)", "v1.0.0+abc"},
		{"toolchain stamp", "", "", "", stamped,
			Info{Version: "v0.3.1", Commit: "0123456789abcdef0123-dirty", Date: "2026-12-01T10:00:00Z"}, "v0.3.1 (commit 0123456789ab-dirty, built 2026-12-01T10:00:00Z)", "v0.3.1+0123456789ab"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := resolve(c.version, c.commit, c.date, c.bi)
			if got != c.want {
				t.Fatalf("resolve = %+v, want %+v", got, c.want)
			}
			if got.Announced() != c.announced {
				t.Errorf("Announced() = %q, want %q", got.Announced(), c.announced)
			}
			if got.String() != c.str {
				t.Errorf("String() = %q, want %q", got.String(), c.str)
			}
		})
	}
}
