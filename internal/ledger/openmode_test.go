package ledger

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/testutil/slowfs"
)

// TestReadOnlyOpenModes: how a read-only open reads is Open's rule.
// Immutable (no locks, nothing created beside the ledger) only when nobody
// can write it, or when this process could not create SQLite's index;
// otherwise mode=ro with WAL locks, whose index (-shm) appears beside it.
func TestReadOnlyOpenModes(t *testing.T) {
	tests := []struct {
		name       string
		writable   bool // this process may write
		unwritable bool // nobody may write
		wal        string
		wantLocks  bool // opened mode=ro: a -shm is beside the ledger after a read
		wantErr    error
	}{
		{name: "writable", writable: true, wantLocks: true},
		{name: "writable, empty -wal", writable: true, wal: "empty", wantLocks: true},
		{name: "nobody may write", unwritable: true},
		{name: "nobody may write, empty -wal", unwritable: true, wal: "empty"},
		{name: "nobody may write, -wal with changes", unwritable: true, wal: "changes", wantErr: ErrReadOnly},
		{name: "another user may write, no -wal", writable: false},
		{name: "another user may write, -wal", writable: false, wal: "empty", wantLocks: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.appendN(3)
			f.l.Close()
			f.l = nil
			for _, p := range []string{f.path + "-wal", f.path + "-shm"} {
				if _, err := os.Stat(p); err == nil {
					t.Fatalf("%s left by the writer", p)
				}
			}
			switch tt.wal {
			case "empty":
				if err := os.WriteFile(f.path+"-wal", nil, 0o644); err != nil {
					t.Fatal(err)
				}
			case "changes":
				if err := os.WriteFile(f.path+"-wal", []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			isWritable = func(string) bool { return tt.writable && !tt.unwritable }
			isUnwritable = func(string) bool { return tt.unwritable }
			defer func() { isWritable, isUnwritable = writable, unwritable }()
			if got := Writable(f.path); got != (tt.writable && !tt.unwritable) {
				t.Errorf("Writable = %v", got)
			}
			l, err := Open(f.ctx, f.path, Options{ReadOnly: true})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("open: err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if !l.ReadOnly() {
				t.Error("not read-only")
			}
			if rep := checkIntact(t, f.ctx, l); !rep.OK || rep.Entries != 3 {
				t.Errorf("verify: %+v", rep)
			}
			_, err = os.Stat(f.path + "-shm")
			if locks := err == nil; locks != tt.wantLocks {
				t.Errorf("opened with WAL locks (a -shm beside it) = %v, want %v", locks, tt.wantLocks)
			}
		})
	}
}

// TestOpenWhileNewLedgerInWAL: a ledger just made, its writer still open
// and its first transaction still only in the -wal (the main file's
// header says application id 0), opens for reading — the header is read
// through SQLite, which sees the WAL — and a SQLite database in WAL mode
// that is not a ledger is still refused.
func TestOpenWhileNewLedgerInWAL(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 100 || b[68]|b[69]|b[70]|b[71] != 0 {
		t.Skip("SQLite checkpointed the new ledger's header already; nothing to test") // not expected with WAL and an open writer
	}
	for _, o := range []Options{{ReadOnly: true}, {}} {
		l, err := Open(f.ctx, f.path, o)
		if err != nil {
			t.Fatalf("open %+v while the writer has not checkpointed: %v", o, err)
		}
		if l.Matter() != "acme-v-smith" {
			t.Errorf("matter %q", l.Matter())
		}
		l.Close()
	}

	// Not a ledger: a SQLite file in WAL mode, application id 0, with
	// changes in its -wal, is refused by checkOpen instead.
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open(driverName, "file:"+other+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f.ctx, other, Options{ReadOnly: true}); !errors.Is(err, ErrNotLedger) {
		t.Fatalf("open a WAL database that is not a ledger: %v, want ErrNotLedger", err)
	}
}

// TestOpenOnShare: a write-protected copy of a ledger on a network share
// (the slowfs model) opens immutable and verifies; a writable one either
// opens or fails saying what to do — SQLite's WAL locks and shared index
// are what a share may not provide (this model's FUSE mount does not).
func TestOpenOnShare(t *testing.T) {
	f := newFixture(t)
	f.appendN(3)
	f.l.Close()
	f.l = nil
	dir := filepath.Dir(f.path)
	share := slowfs.Mount(t, dir, 0)
	onShare := filepath.Join(share.Dir, filepath.Base(f.path))

	l, err := Open(f.ctx, onShare, Options{ReadOnly: true})
	if err != nil {
		var h interface{ Hint() string }
		if !errors.As(err, &h) || !strings.Contains(h.Hint(), "network file system (fuse)") || !strings.Contains(h.Hint(), "chmod -R a-w "+share.Dir) {
			t.Fatalf("writable ledger on a share: %v, with no hint naming the share and chmod", err)
		}
		t.Logf("writable ledger on the share: %v (hint given)", err)
	} else {
		l.Close()
	}
	for _, p := range []string{f.path + "-wal", f.path + "-shm"} {
		os.Remove(p) // what the failed or successful open left
	}
	if err := os.Chmod(f.path, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(f.path, 0o644) })
	l, err = Open(f.ctx, onShare, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("write-protected ledger on a share: %v", err)
	}
	defer l.Close()
	if rep := checkIntact(t, f.ctx, l); !rep.OK || rep.Entries != 3 {
		t.Errorf("verify on the share: %+v", rep)
	}
}
