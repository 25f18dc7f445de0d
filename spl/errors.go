package spl

import (
	"fmt"

	"github.com/agentscope/agentscope"
)

// SyntaxError is a query the engine refuses before running it: malformed
// text, an unknown or refused command, an unknown function. Pos is the byte
// offset in the query of the offending token.
type SyntaxError struct {
	Pos int
	Msg string
}

// Error implements the error interface.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at position %d: %s", e.Pos, e.Msg)
}

// Unwrap exposes the error as an agentscope EINVALID error about the query,
// so transports report it to the caller instead of logging it as internal.
func (e *SyntaxError) Unwrap() error {
	return agentscope.FieldErrorf("query", "position %d: %s", e.Pos, e.Msg)
}

func syntaxErr(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
