package verify_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/ledger"
)

// TestSQLiteFileRefused: a file custody refuses to open — whose SQLite
// application id is not custody's, whose schema version (user_version)
// is 0 or newer than custody knows, that is not in WAL mode, lacks the
// message index's tables, or is no SQLite database at all — is refused by
// custody and by the appendix's verifier before either checks anything
// (docs/ledger-format.md, "The SQLite file"): an error naming what is
// wrong, exit 1, neither OK nor a finding. The appendix read a file of
// another application id or schema version as a ledger and said OK; then
// it still said OK to a ledger in rollback-journal mode or without its
// message index, said "FAIL ledger: damaged" of a file that is not SQLite
// or too short to be, "application id 0x0" of an empty one, and died
// with a traceback on a folder.
func TestSQLiteFileRefused(t *testing.T) {
	python := independentVerifier(t)
	raw := func(stmts ...string) func(*fixture) string {
		return func(f *fixture) string { f.raw(stmts...); return f.path }
	}
	file := func(data []byte) func(*fixture) string {
		return func(f *fixture) string {
			p := filepath.Join(f.t.TempDir(), "custody.db")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				f.t.Fatal(err)
			}
			return p
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*fixture) string // the file to check, made from the fixture's ledger
		want error                 // custody's
		says string                // both say
	}{
		{"another application id", raw("PRAGMA application_id = 1"), ledger.ErrNotLedger, "not a custody ledger: application id 0x1"},
		{"no application id", raw("PRAGMA application_id = 0"), ledger.ErrNotLedger, "not a custody ledger: application id 0x0"},
		{"schema version 0", raw("PRAGMA user_version = 0"), ledger.ErrNotLedger, "not a custody ledger: schema version 0"},
		{"a newer schema version", raw("PRAGMA user_version = 4"), ledger.ErrNewerSchema, "schema version 4"},
		{"rollback-journal mode", raw("PRAGMA journal_mode = DELETE"), ledger.ErrNotLedger, "not a custody ledger: not in WAL mode"},
		{"no message_keys", raw("DROP TABLE message_keys"), ledger.ErrNotLedger, "not a custody ledger: no message_keys table"},
		{"no message_keys_recent", raw("DROP TABLE message_keys_recent"), ledger.ErrNotLedger, "not a custody ledger: no message_keys table"},
		{"not SQLite", file([]byte(strings.Repeat("not a database\n", 100))), ledger.ErrNotLedger, "not a custody ledger: not a SQLite database"},
		{"too short", file([]byte("SQLite format 3\x00")), ledger.ErrNotLedger, "not a custody ledger: file is too short (16 bytes) to be a SQLite database"},
		{"empty", file(nil), ledger.ErrNotLedger, "not a custody ledger: file is too short (0 bytes) to be a SQLite database"},
		{"a folder", func(f *fixture) string { return f.t.TempDir() }, ledger.ErrNotLedger, "not a custody ledger: is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.appendN(3)
			f.checkpoint()
			key := f.l.VerifierKey()
			path := tc.edit(f)
			if _, err := ledger.Open(f.ctx, path, ledger.Options{ReadOnly: true}); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("custody opens it: %v, want %v saying %q", err, tc.want, tc.says)
			}
			if python == nil {
				return
			}
			out, err := python("ledger", path, key)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasPrefix(out, "cannot check "+path+": "+tc.says) {
				t.Fatalf("the independent verifier: %v\n%s\nwant it to refuse the file saying %q, exit 1", err, out, tc.says)
			}
		})
	}
}
