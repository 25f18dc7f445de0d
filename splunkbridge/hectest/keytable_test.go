package hectest

import (
	"math/rand/v2"
	"testing"
)

// TestKeyTable: the key index finds every key put, at its place, across
// growth, and no key not put, however the hashes cluster; it agrees with a
// map of the same keys.
func TestKeyTable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var kt keyTable
	want := map[[2]uint64]int32{}
	for i := range 100000 {
		h := [2]uint64{r.Uint64(), r.Uint64()}
		if i%3 == 0 {
			h[0] &^= 0xf // many share the low bits that pick a slot
		}
		if i%500 == 0 {
			h[0] = 42 // and a few share the whole first word
		}
		if _, ok := want[h]; ok {
			continue
		}
		if _, ok := kt.get(h); ok {
			t.Fatalf("found %v before it was put", h)
		}
		kt.put(h, int32(len(want)))
		want[h] = int32(len(want))
	}
	for h, place := range want {
		if got, ok := kt.get(h); !ok || got != place {
			t.Fatalf("get(%v) = %d, %t; want %d", h, got, ok, place)
		}
	}
	for range 1000 {
		h := [2]uint64{42, r.Uint64()}
		if _, in := want[h]; in {
			continue
		}
		if _, ok := kt.get(h); ok {
			t.Fatalf("found %v, never put", h)
		}
	}
	if kt.n != len(want) || 2*kt.n > len(kt.slots) {
		t.Errorf("%d keys in %d slots", kt.n, len(kt.slots))
	}
}
