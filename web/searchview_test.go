package web

import (
	"errors"
	"fmt"
	"testing"

	"github.com/agentscope/agentscope"
)

type positionMethod struct{}

func (positionMethod) Error() string { return "bad" }
func (positionMethod) Position() int { return 7 }

type withPos struct{ Pos int }

func (e *withPos) Error() string { return "bad" }
func (e *withPos) Unwrap() error { return agentscope.FieldErrorf("query", "position %d", e.Pos) }

func TestErrorPosition(t *testing.T) {
	cases := []struct {
		err  error
		pos  int
		want bool
	}{
		{positionMethod{}, 7, true},
		{fmt.Errorf("search: %w", &withPos{Pos: 12}), 12, true},
		{errors.Join(errors.New("x"), &withPos{Pos: 3}), 3, true},
		{errors.New("plain"), 0, false},
		{agentscope.Errorf(agentscope.EINVALID, "no position"), 0, false},
	}
	for _, c := range cases {
		if pos, ok := errorPosition(c.err); pos != c.pos || ok != c.want {
			t.Errorf("%v: %d %v", c.err, pos, ok)
		}
	}
}

func TestCaretAt(t *testing.T) {
	q := "type=ToolReturned\n| stäts count"
	for _, c := range []struct {
		pos        int
		line       int
		text, want string
	}{
		{20, 2, "| stäts count", "  ^"},
		{24, 2, "| stäts count", "     ^"}, // after the two-byte ä
		{0, 1, "type=ToolReturned", "^"},
		{999, 2, "| stäts count", "             ^"},
	} {
		line, text, caret := caretAt(q, c.pos)
		if line != c.line || text != c.text || caret != c.want {
			t.Errorf("pos %d: line %d %q %q", c.pos, line, text, caret)
		}
	}
}

func TestSessionQuery(t *testing.T) {
	if got := sessionQuery("", "s-1"); got != `index="agentscope" sourcetype="agentscope:events" session_id="s-1"` {
		t.Errorf("default: %s", got)
	}
	if got := sessionQuery(`we"ird\idx`, `a"b`); got != `index="we\"ird\\idx" sourcetype="agentscope:events" session_id="a\"b"` {
		t.Errorf("escaped: %s", got)
	}
}
