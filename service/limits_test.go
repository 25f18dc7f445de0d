package service

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestLimitsInSchemas: the page sizes the tools' inputs describe (struct
// tags, which cannot name a constant) are the ones the service applies.
func TestLimitsInSchemas(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{ListRunsInput{}, fmt.Sprintf("1 to %d (default %d)", MaxRunsPage, DefaultRunsPage)},
		{ReplayInput{}, fmt.Sprintf("1 to %d (default %d)", MaxReplayPage, DefaultReplayPage)},
	}
	for _, c := range cases {
		f, _ := reflect.TypeOf(c.in).FieldByName("Limit")
		if tag := f.Tag.Get("jsonschema"); !strings.Contains(tag, c.want) {
			t.Errorf("%T.Limit says %q, want it to say %q", c.in, tag, c.want)
		}
	}
}
