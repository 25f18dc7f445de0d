// AgentScope patch test (see ../../PATCHED.md).

package json

import (
	"errors"
	"io"
	"testing"
)

func TestUnmarshalInPlace(t *testing.T) {
	type msg struct {
		ID     int    `json:"id"`
		Method string `json:"method"`
	}
	var m msg
	if err := Unmarshal([]byte(" \n{\"id\":7,\"method\":\"tools/call\"} trailing"), &m); err != nil || m.ID != 7 || m.Method != "tools/call" {
		t.Fatalf("got %+v, %v", m, err)
	}
	var c msg
	if err := Unmarshal([]byte(`{"ID":7,"Method":"x"}`), &c); err != nil || c.ID != 0 || c.Method != "" {
		t.Errorf("field names must match case-sensitively: %+v, %v", c, err)
	}
	if err := Unmarshal([]byte("  "), &m); !errors.Is(err, io.EOF) {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
	if err := Unmarshal([]byte(`{"id":`), &m); err == nil {
		t.Error("truncated input decoded")
	}
	if err := Unmarshal([]byte(`{"id":"x"}`), &m); err == nil {
		t.Error("ill-typed field decoded")
	}
	allocs := testing.AllocsPerRun(100, func() {
		var m msg
		_ = Unmarshal([]byte(`{"id":7,"method":"tools/call"}`), &m)
	})
	if allocs > 4 {
		t.Errorf("%v allocations per Unmarshal", allocs)
	}
}
