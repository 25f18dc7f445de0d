package web

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeNextRefusesOffSiteRedirects(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/sessions?q=1", "/sessions?q=1"},
		{"/agents/a%20b", "/agents/a%20b"},
		{"//evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/%2Fevil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{"/x\x00y", "/"},
		{"/x\x7fy", "/"},
		{"https://evil.example", "/"},
		{"evil.example", "/"},
		{"/%zz", "/"},
	}
	for _, c := range cases {
		if got := safeNext(c.in); got != c.want {
			t.Errorf("safeNext(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzSafeNext checks that whatever comes in, a browser following the
// result stays on this site: after dropping tab/CR/LF and reading
// backslashes as slashes, the URL has no scheme and no host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "//evil", "/\t/evil", "/\\evil", "/%2F%2Fevil", "/a?b=//c", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		browser := strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(out)
		if !strings.HasPrefix(browser, "/") || strings.HasPrefix(browser, "//") {
			t.Fatalf("safeNext(%q) = %q leaves the site", in, out)
		}
		u, err := url.Parse(browser)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q does not parse: %v", in, out, err)
		}
		if u.Scheme != "" || u.Host != "" {
			t.Fatalf("safeNext(%q) = %q has scheme %q host %q", in, out, u.Scheme, u.Host)
		}
		if dec, err := url.PathUnescape(out); err == nil && strings.HasPrefix(strings.ReplaceAll(dec, "\\", "/"), "//") {
			t.Fatalf("safeNext(%q) = %q decodes to %q", in, out, dec)
		}
	})
}
