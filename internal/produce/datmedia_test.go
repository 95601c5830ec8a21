package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
)

// TestDATSaysMediaNotStoredAndChanges: a message whose attachment the
// export could not capture says so in the DAT (MEDIA_NOT_STORED_COUNT,
// MEDIA_NOT_STORED) and in the RSMF transcript, and a message edited or
// deleted at the source has DATE_MODIFIED / DATE_DELETED, where a
// DAT-only load showed a blank message with no trace of either.
func TestDATSaysMediaNotStoredAndChanges(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 1, 13) // message 12's attachment has no url
	lost, edited, deleted := "m0000000-0012-4000-8000-000000000000", "m0000000-0003-4000-8000-000000000000", "m0000000-0005-4000-8000-000000000000"
	recaptureMessage(t, l, st, edited, func(md *genesys.MessageData) {
		md.NormalizedMessage.Text = "edited"
		md.NormalizedMessage.Channel.DateModified = "2024-03-02T11:00:00Z"
	})
	recaptureMessage(t, l, st, deleted, func(md *genesys.MessageData) {
		md.NormalizedMessage.Text = ""
		md.NormalizedMessage.Channel.DateDeleted = "2024-03-02T12:00:00.5Z"
	})
	out := filepath.Join(dir, "p")
	if _, err := produce.Run(context.Background(), produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	dat, err := os.ReadFile(filepath.Join(out, production.DATFile))
	if err != nil {
		t.Fatal(err)
	}
	cols, rows, err := production.ReadDAT(dat)
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range cols {
		col[c] = i
	}
	for _, c := range []string{"MEDIA_NOT_STORED_COUNT", "MEDIA_NOT_STORED", "DATE_MODIFIED", "DATE_DELETED"} {
		if _, ok := col[c]; !ok {
			t.Fatalf("no DAT column %s: %q", c, cols)
		}
	}
	get := func(r []string, c string) string { return r[col[c]] }
	seen := 0
	for _, r := range rows {
		if get(r, "CAPTURE") != "latest" {
			continue
		}
		id := get(r, "MESSAGE_ID")
		n, why, mod, del := get(r, "MEDIA_NOT_STORED_COUNT"), get(r, "MEDIA_NOT_STORED"), get(r, "DATE_MODIFIED"), get(r, "DATE_DELETED")
		switch id {
		case lost:
			seen++
			if n != "1" || !strings.HasPrefix(why, "nourl-") || !strings.Contains(why, "not downloaded (the API gave no url)") {
				t.Errorf("%s: MEDIA_NOT_STORED_COUNT %q MEDIA_NOT_STORED %q", id, n, why)
			}
		case edited:
			seen++
			if mod != "2024-03-02T11:00:00.000Z" || del != "" {
				t.Errorf("%s: DATE_MODIFIED %q DATE_DELETED %q", id, mod, del)
			}
		case deleted:
			seen++
			if del != "2024-03-02T12:00:00.500Z" || mod != "" {
				t.Errorf("%s: DATE_MODIFIED %q DATE_DELETED %q", id, mod, del)
			}
		default:
			if n != "0" || why != "" || mod != "" || del != "" {
				t.Errorf("%s: %q %q %q %q", id, n, why, mod, del)
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d of the 3 messages found", seen)
	}
	rf, err := os.ReadFile(filepath.Join(out, "rsmf", "c0000000-0000-4000-8000-000000000000.rsmf"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := produce.ReadRSMF(rf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Text, "    [attachment not stored: nourl-m0000000: not downloaded (the API gave no url)]\n") {
		t.Errorf("the transcript does not say the attachment was not stored:\n%s", f.Text)
	}
}
