package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
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

// TestEveryRedirectIsOnSite: the web server's redirects all go through
// redirectOnSite, and so through safeNext, but the one to a sign-in
// provider's authorization endpoint (redirectToProvider, whose URL
// signin.Flows builds from the configuration) and the one to Stripe
// (redirectToStripe, whose URL Stripe's API answered). A new http.Redirect
// elsewhere, or a Location header set by hand, fails here.
func TestEveryRedirectIsOnSite(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && x.Name == "http" && n.Sel.Name == "Redirect" && fn.Name.Name != "redirectOnSite" && fn.Name.Name != "redirectToProvider" && fn.Name.Name != "redirectToStripe" {
						t.Errorf("%s: %s calls http.Redirect; use redirectOnSite", fset.Position(n.Pos()), fn.Name.Name)
					}
				case *ast.BasicLit:
					if n.Kind == token.STRING && strings.EqualFold(strings.Trim(n.Value, "\"`"), "Location") {
						t.Errorf("%s: %s sets a Location header; use redirectOnSite", fset.Position(n.Pos()), fn.Name.Name)
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{"/reports/s-1": "/reports/s-1", "/agents#agent-a.b": "/agents#agent-a.b", "//evil.example": "/", "/\t/evil.example": "/"} {
		w := httptest.NewRecorder()
		redirectOnSite(w, httptest.NewRequest(http.MethodPost, "/agents/x/run", nil), target)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("redirectOnSite(%q): %d to %q, want %q", target, w.Code, w.Header().Get("Location"), want)
		}
	}
}
