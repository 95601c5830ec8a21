package ledger

import (
	"errors"
	"os"
	"testing"
)

// TestFileCutShort: a ledger file cut short inside its last page reads
// back rows whose seq goes back to 0 (SQLite zero-fills what is missing).
// Every reader reports that as damage (ErrCorrupt), never as a fault of
// entry 0, which is intact: prove of entry 0 is refused because the
// ledger cannot be read, and log stops at the damage.
func TestFileCutShort(t *testing.T) {
	f := newFixture(t)
	if _, err := f.l.Append(f.ctx, messages("conv-01", 400)...); err != nil {
		t.Fatal(err)
	}
	if _, err := f.l.Checkpoint(f.ctx, f.signer); err != nil {
		t.Fatal(err)
	}
	f.l.Close()
	f.l = nil
	st, err := os.Stat(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.path, st.Size()-5000); err != nil {
		t.Fatal(err)
	}
	f.reopen()

	n := 0
	for e, err := range f.l.Entries(f.ctx, Filter{}) {
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("entries: %v, want ErrCorrupt", err)
			}
			break
		}
		if e.Seq != uint64(n) {
			t.Fatalf("entries: row %d is seq %d", n, e.Seq)
		}
		n++
	}
	if n == 0 || n >= 400 {
		t.Fatalf("entries: read %d rows before the damage", n)
	}
	if _, err := f.l.Prove(f.ctx, 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("prove seq 0: %v, want ErrCorrupt", err)
	}
}
