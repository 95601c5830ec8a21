package erasure_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/erasure"
)

// TestPendingRoundTrip: the journal is written, read back, matched by
// selection in any order, and removed; none reads as nil. The command
// quotes what a shell would split or expand.
func TestPendingRoundTrip(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "custody.db")
	if p, err := erasure.ReadPending(ledger); p != nil || err != nil {
		t.Fatalf("no journal: %+v, %v", p, err)
	}
	cmd := erasure.RerunCommand(ledger, []string{"c1", "c2"}, []string{"m1"}, "DSR 1 'x'", "")
	want := "custody --ledger " + ledger + " erase --conversation c1 --conversation c2 --message m1 --reason 'DSR 1 '\\''x'\\'''"
	if cmd != want {
		t.Fatalf("command\n%s\nwant\n%s", cmd, want)
	}
	// The erase's other flags follow, each one shell word.
	withFlags := erasure.RerunCommand(ledger, []string{"c1"}, nil, "DSR-1", "", "--evidence=s3://b/m", "--s3-endpoint=http://127.0.0.1:7070", "--key=/k/my key")
	if want := "custody --ledger " + ledger + " erase --conversation c1 --reason DSR-1 --evidence=s3://b/m --s3-endpoint=http://127.0.0.1:7070 '--key=/k/my key'"; withFlags != want {
		t.Fatalf("command\n%s\nwant\n%s", withFlags, want)
	}
	p := &erasure.Pending{Version: 1, Conversations: []string{"c1", "c2"}, Messages: []string{"m1"}, Objects: []string{"ab"}, Command: cmd}
	if err := erasure.WritePending(ledger, p); err != nil {
		t.Fatal(err)
	}
	got, err := erasure.ReadPending(ledger)
	if err != nil || got == nil || got.Command != cmd {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	if !got.SameSelection([]string{"c2", "c1", "c1"}, []string{"m1"}) || got.SameSelection([]string{"c1"}, []string{"m1"}) || got.SameSelection([]string{"c1", "c2"}, nil) {
		t.Fatal("SameSelection")
	}
	if ents, _ := os.ReadDir(filepath.Dir(ledger)); len(ents) != 1 {
		t.Fatalf("files beside the ledger: %v (a temporary left?)", ents)
	}
	if err := erasure.RemovePending(ledger); err != nil {
		t.Fatal(err)
	}
	if p, err := erasure.ReadPending(ledger); p != nil || err != nil {
		t.Fatalf("removed: %+v, %v", p, err)
	}
}
