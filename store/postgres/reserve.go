package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// reservedStrings is a []string parameter that makes room, before it is
// encoded, for n bytes of encoded parameters: its own and those after it.
//
// pgx encodes a statement's parameters by appending to one buffer, which
// it shrinks back to 256 bytes after every statement; a group commit's
// insert (a few megabytes of event bodies in eight arrays) regrew it by a
// quarter at a time, element by element: about a tenth of batch ingest's
// CPU in copying and a quarter of its allocations. Its first parameter
// reserves the room once. Drop this if pgx keeps the buffer between
// statements or sizes it from the arguments.
type reservedStrings struct {
	v []string
	n int
}

// reservePlan is the encode plan of a reservedStrings: grow, then encode
// the strings as []string would be.
type reservePlan struct{ next pgtype.EncodePlan }

func (p *reservePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *reservePlan) Encode(value any, buf []byte) ([]byte, error) {
	r := value.(reservedStrings)
	return p.next.Encode(r.v, slices.Grow(buf, r.n))
}

// tryWrapReserve is the pgtype.TryWrapEncodePlanFunc of reservedStrings.
func tryWrapReserve(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if r, ok := value.(reservedStrings); ok {
		return &reservePlan{}, r.v, true
	}
	return nil, nil, false
}

// registerReserve makes conn's type map encode reservedStrings.
func registerReserve(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapReserve}, m.TryWrapEncodePlanFuncs...)
	return nil
}

// reserveArgs returns args with its first parameter, when it is a
// []string and the parameters are larger than pgx's starting buffer,
// wrapped to make room for all of them (argBytes is their size, encoded).
func reserveArgs(args []any) []any {
	if len(args) == 0 {
		return args
	}
	first, ok := args[0].([]string)
	if !ok {
		return args
	}
	n := argBytes(args)
	if n <= 256 {
		return args
	}
	out := slices.Clone(args)
	out[0] = reservedStrings{v: first, n: n + 64*len(args)}
	return out
}
