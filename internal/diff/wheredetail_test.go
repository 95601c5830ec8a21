package diff

import (
	"testing"

	"github.com/custodyhq/custody/internal/exportfile"
)

// TestWhereDetail: whereDetail spells what r.Where() + ": " + detail does.
func TestWhereDetail(t *testing.T) {
	for _, r := range []exportfile.Message{
		{Pos: 0}, {Pos: 7}, {Pos: 123456}, {Pos: -1},
		{Array: "messagingTranscript", Pos: 0}, {Array: "messages", Pos: 99}, {Array: "a[b]", Pos: 100000},
	} {
		for _, detail := range []string{"", "required field absent from the export", "ü: x"} {
			if got, want := whereDetail(&r, detail), r.Where()+": "+detail; got != want {
				t.Errorf("whereDetail(%+v, %q) = %q, want %q", r, detail, got, want)
			}
		}
	}
}
