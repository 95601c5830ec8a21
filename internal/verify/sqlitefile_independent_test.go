package verify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/ledger"
)

// TestSQLiteFileRefused: a file whose SQLite application id is not
// custody's, or whose schema version (user_version) is 0 or newer than
// custody knows, is refused by custody and by the appendix's verifier
// before either checks anything (docs/ledger-format.md, "The SQLite
// file"): an error naming the value, neither OK nor a finding. The
// appendix read such a file as a ledger and said OK.
func TestSQLiteFileRefused(t *testing.T) {
	python := independentVerifier(t)
	for _, tc := range []struct {
		name, pragma string
		want         error  // custody's
		says         string // both say
	}{
		{"another application id", "PRAGMA application_id = 1", ledger.ErrNotLedger, "not a custody ledger: application id 0x1"},
		{"no application id", "PRAGMA application_id = 0", ledger.ErrNotLedger, "not a custody ledger: application id 0x0"},
		{"schema version 0", "PRAGMA user_version = 0", ledger.ErrNotLedger, "not a custody ledger: schema version 0"},
		{"a newer schema version", "PRAGMA user_version = 4", ledger.ErrNewerSchema, "schema version 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.appendN(3)
			f.checkpoint()
			key := f.l.VerifierKey()
			f.raw(tc.pragma)
			if _, err := ledger.Open(f.ctx, f.path, ledger.Options{ReadOnly: true}); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("custody opens it: %v, want %v saying %q", err, tc.want, tc.says)
			}
			if python == nil {
				return
			}
			out, err := python("ledger", f.path, key)
			if err == nil || !strings.HasPrefix(out, "cannot check "+f.path+": "+tc.says) {
				t.Fatalf("the independent verifier: %v\n%s\nwant it to refuse the file saying %q", err, out, tc.says)
			}
		})
	}
}
