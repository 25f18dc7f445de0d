package agentscope_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/agentscope/agentscope"

// TestImportsFollowArchitecture checks every package's imports of this
// module against ARCHITECTURE.md: each must be allowed by the package's line
// in the imports block or listed in the exceptions block, every package must
// have a line, and every listed exception must still exist.
func TestImportsFollowArchitecture(t *testing.T) {
	doc, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string][]string{}
	for _, line := range block(t, doc, "imports") {
		pkg, deps, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("ARCHITECTURE.md imports: %q is not \"package: imports\"", line)
		}
		rules[strings.TrimSpace(pkg)] = strings.Fields(deps)
	}
	exceptions := map[string]bool{}
	for _, line := range block(t, doc, "exceptions") {
		edge, _, _ := strings.Cut(line, ":")
		exceptions[strings.TrimSpace(edge)] = false
	}

	cmd := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := short(f[0])
		if strings.HasPrefix(pkg, "internal/") {
			for _, imp := range f[1:] {
				if strings.HasPrefix(imp, module) {
					t.Errorf("%s imports %s: internal leaf packages import nothing of ours", pkg, short(imp))
				}
			}
			continue
		}
		allowed, ok := ruleFor(rules, pkg)
		if !ok {
			t.Errorf("%s is not in ARCHITECTURE.md's imports block: add it with its job and what it may import", pkg)
			continue
		}
		for _, imp := range f[1:] {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := short(imp)
			if strings.HasPrefix(dep, "internal/") || dep == pkg || matches(allowed, dep) {
				continue
			}
			edge := pkg + " -> " + dep
			if _, ok := exceptions[edge]; ok {
				exceptions[edge] = true
				continue
			}
			t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow: move the type it needs down, or declare a small interface where it is used", pkg, dep)
		}
	}
	for edge, seen := range exceptions {
		if !seen {
			t.Errorf("ARCHITECTURE.md lists the exception %q, which no longer exists: remove its line", edge)
		}
	}
}

// short is an import path relative to the module ("agentscope" for its root).
func short(path string) string {
	if path == module {
		return "agentscope"
	}
	return strings.TrimPrefix(path, module+"/")
}

// ruleFor returns the rule of pkg: its own line or the nearest "x/..." line
// above it.
func ruleFor(rules map[string][]string, pkg string) ([]string, bool) {
	if deps, ok := rules[pkg]; ok {
		return deps, true
	}
	for p := pkg; ; {
		if deps, ok := rules[p+"/..."]; ok {
			return deps, true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return nil, false
		}
		p = p[:i]
	}
}

// matches reports whether dep is one of allowed, or under an "x/..." entry
// ("agentscope/..." is every package of the module).
func matches(allowed []string, dep string) bool {
	return slices.ContainsFunc(allowed, func(a string) bool {
		if base, ok := strings.CutSuffix(a, "/..."); ok {
			return base == "agentscope" || dep == base || strings.HasPrefix(dep, base+"/")
		}
		return a == dep
	})
}

// block returns the non-blank lines of the fenced block "```name" in doc.
func block(t *testing.T, doc []byte, name string) []string {
	t.Helper()
	_, rest, ok := bytes.Cut(doc, []byte("```"+name+"\n"))
	if !ok {
		t.Fatalf("ARCHITECTURE.md has no ```%s block", name)
	}
	body, _, ok := bytes.Cut(rest, []byte("```"))
	if !ok {
		t.Fatalf("ARCHITECTURE.md: the ```%s block is not closed", name)
	}
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
