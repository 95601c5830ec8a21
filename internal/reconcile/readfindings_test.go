package reconcile_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestReadFindingsShape: the object custody diff --output json writes is
// read too; a file of another shape — an object with no findings member,
// a record that is not a finding (no kind, or one diff does not have) —
// is an error, not zero findings.
func TestReadFindingsShape(t *testing.T) {
	one := `{"kind":"not_captured","conversation_id":"c1","message_id":"m1"}`
	want := []diff.Finding{{Kind: finding.NotCaptured, ConversationID: "c1", MessageID: "m1"}}
	for name, tc := range map[string]struct {
		in   string
		want []diff.Finding
	}{
		"diff json":          {"{\"findings\": [\n  " + one + "\n],\n\"summary\": {\"files\": 3}}\n", want},
		"diff json recorded": {"{\"findings\": [\n  " + one + "\n],\n\"run_id\": \"diff-x\",\n\"seq\": 7,\n\"summary\": {}}\n", want},
		"diff json, none":    {"{\"findings\": [],\n\"summary\": {}}\n", []diff.Finding{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := reconcile.ReadFindings(strings.NewReader(tc.in))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for name, in := range map[string]string{
		"empty object":         `{}`,
		"unknown member":       `{"foo":1}`,
		"no kind":              `{"conversation_id":"c1"}`,
		"unknown kind":         `{"kind":"gremlins"}`,
		"no kind, 2nd line":    one + "\n{}\n",
		"no kind, in array":    `[{}]`,
		"object, then more":    `{"findings":[]}` + "\n" + one,
		"object, bad finding":  `{"findings":[{}]}`,
		"object, extra member": `{"findings":[],"foo":1}`,
		"findings not a list":  `{"findings":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := reconcile.ReadFindings(strings.NewReader(in)); err == nil {
				t.Errorf("%q: read as %+v, want an error", in, got)
			}
		})
	}
}
