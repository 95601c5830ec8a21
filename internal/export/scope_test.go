package export_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/export"
)

func TestReadIDs(t *testing.T) {
	ids, err := export.ReadIDs(strings.NewReader("\ufeff# matter 42\nabc-1\n\n  abc-2  \nabc-1\n"))
	if err != nil || strings.Join(ids, ",") != "abc-1,abc-2" {
		t.Fatalf("ReadIDs = %v, %v", ids, err)
	}
	for _, bad := range []string{"", "# only a comment\n", "../../etc/passwd\n", "a/b\n", "ok\nnot ok\n", strings.Repeat("x", 5000) + "\n"} {
		if _, err := export.ReadIDs(strings.NewReader(bad)); !errors.Is(err, export.ErrBadIDs) {
			t.Errorf("ReadIDs(%.20q): %v, want ErrBadIDs", bad, err)
		}
	}
}

func TestParseInterval(t *testing.T) {
	got, _, _, err := export.ParseInterval("2024-01-01/2024-02-01T12:00:00+02:00")
	if err != nil || got != "2024-01-01T00:00:00.000Z/2024-02-01T10:00:00.000Z" {
		t.Fatalf("ParseInterval = %q, %v", got, err)
	}
	for _, bad := range []string{"", "2024-01-01", "2024-02-01/2024-01-01", "yesterday/today", "2024-01-01/2024-01-01"} {
		if _, _, _, err := export.ParseInterval(bad); err == nil {
			t.Errorf("ParseInterval(%q) accepted", bad)
		}
	}
}

func FuzzReadIDs(f *testing.F) {
	f.Add("abc\n# x\n\ndef\n")
	f.Add("../x\n")
	f.Add("\ufeffa\r\nb")
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := export.ReadIDs(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, id := range ids {
			if !export.ValidID(id) || strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
				t.Fatalf("ReadIDs accepted unsafe id %q", id)
			}
		}
	})
}

// TestReadIDsUpperCaseUUID: Genesys conversation ids are lower-case UUIDs;
// an ids file from a spreadsheet may hold them in upper case (or mixed),
// which the API answers with a 404, recorded as deleted upstream. ReadIDs
// takes an id in UUID form in lower case, so the same conversation in
// both cases is one id, and the export captures it: none is recorded
// gone. An id not in UUID form is kept as it is. Before, the upper-case
// line was a second id, recorded "deleted upstream".
func TestReadIDsUpperCaseUUID(t *testing.T) {
	e := newEnv(t, 5, "")
	id := whatsApp(e.srv.Org)[0].ID
	if id != strings.ToLower(id) {
		t.Fatalf("the simulator's id %q is not lower case", id)
	}
	ids, err := export.ReadIDs(strings.NewReader("\ufeff" + id + "\r\n" + strings.ToUpper(id) + "\r\n " + strings.ToUpper(id[:8]) + id[8:] + " \r\nAbC-1\r\n"))
	if err != nil || strings.Join(ids, ",") != id+",AbC-1" {
		t.Fatalf("ReadIDs = %v, %v; want [%s AbC-1]", ids, err, id)
	}
	acct := e.run(t, export.Scope{IDs: ids[:1]})
	if acct.Exported != 1 || acct.Gone != 0 || !acct.Complete() {
		t.Fatalf("accounting %+v: want the conversation exported, none gone", acct)
	}
}
