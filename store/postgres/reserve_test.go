package postgres

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/agentscope/agentscope/store/pgtest"
)

// TestReservedStringsEncode: a reservedStrings parameter encodes to the
// same bytes as its []string, into a buffer grown once to the room asked
// (one allocation, where the plain []string regrew the buffer dozens of
// times), and the database reads it as the same array.
func TestReservedStringsEncode(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := registerReserve(ctx, conn); err != nil {
		t.Fatal(err)
	}
	m := conn.TypeMap()
	v := make([]string, 2000)
	for i := range v {
		v[i] = strings.Repeat("x", 1000)
	}
	args := reserveArgs([]any{v, []int64{1}})
	r, ok := args[0].(reservedStrings)
	if !ok || r.n < 2000*1004 {
		t.Fatalf("reserveArgs: %T %+v", args[0], r.n)
	}
	plain, err := m.Encode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Encode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, r, make([]byte, 0, 256))
	if err != nil || !bytes.Equal(got, plain) || cap(got) < r.n {
		t.Fatalf("reserved encoding: %d bytes (cap %d), %v; want the %d bytes of the plain one in a buffer of %d", len(got), cap(got), err, len(plain), r.n)
	}
	// Bytes allocated per encoding, in encoded sizes: the reserved one
	// allocates its buffer once (and pgx about as much again of its own,
	// measured at 2.0 here); the plain one regrew it (5.3).
	allocated := func(value any) float64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 5 {
			if _, err := m.Encode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, value, make([]byte, 0, 256)); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / 5 / float64(len(plain))
	}
	if a, p := allocated(r), allocated(v); a > 2.5 || p-a < 2 {
		t.Errorf("bytes allocated per encoding, in encoded sizes: reserved %.2f, plain %.2f; want at most 2.5, and two less than the plain one", a, p)
	}
	var same bool
	if err := conn.QueryRow(ctx, `SELECT $1::text[] = $2::text[]`, r, v).Scan(&same); err != nil || !same {
		t.Fatalf("the database read the reserved array as another: %v %v", same, err)
	}
	if small := reserveArgs([]any{[]string{"a"}, "b"}); small[0] == nil || func() bool { _, w := small[0].(reservedStrings); return w }() {
		t.Errorf("small parameters wrapped: %T", small[0])
	}
}
