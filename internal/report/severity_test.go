package report

import (
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
)

// TestSeverityComplete: every kind of the finding table has a severity,
// so a kind added there cannot reach a report unranked.
func TestSeverityComplete(t *testing.T) {
	for _, in := range finding.Kinds() {
		if severity(in.Kind) == "" {
			t.Errorf("finding kind %s has no severity in the report", in.Kind)
		}
	}
	if severity("no_such_kind") != "" {
		t.Error("an unknown kind has a severity")
	}
}

// TestShownMessageMatchesGenesys: the transcript's partial decoding of a
// message reads each member as genesys.MessageData does.
func TestShownMessageMatchesGenesys(t *testing.T) {
	full := reflect.TypeFor[genesys.MessageData]()
	part := reflect.TypeFor[shownMessage]()
	for i := range part.NumField() {
		f := part.Field(i)
		g, ok := full.FieldByName(f.Name)
		tag := func(sf reflect.StructField) string { name, _, _ := strings.Cut(sf.Tag.Get("json"), ","); return name }
		if !ok || g.Type != f.Type || tag(g) != tag(f) {
			t.Errorf("shownMessage.%s (%s %q) is not genesys.MessageData's", f.Name, f.Type, tag(f))
		}
	}
}
