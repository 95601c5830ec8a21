package verify

import (
	"strings"
	"testing"
)

// TestScanDAT: the DAT is read a record at a time (never held whole):
// records end at CRLF, a lone LF is inside a field, a record longer than
// the reader's buffer is read whole, the last record may lack its CRLF,
// and a DAT without its byte-order mark, an unquoted field, a row of
// another width, a þ inside a field, a column named twice or a record
// past production.MaxDATRecord is refused (production.DATReader, which
// produce's tests read with too).
func TestScanDAT(t *testing.T) {
	q := func(fs ...string) string {
		return "\u00fe" + strings.Join(fs, "\u00fe\x14\u00fe") + "\u00fe"
	}
	long := strings.Repeat("x", 200<<10)
	dat := "\ufeff" + q("BEGDOC", "TEXT") + "\r\n" + q("C1", "a\nb") + "\r\n" + q("C2", long) + "\r\n" + q("C3", "")
	var got [][2]string
	err := scanDAT(strings.NewReader(dat), func(cols datCols, row []string) error {
		beg, _ := cols.get(row, "BEGDOC")
		text, _ := cols.get(row, "TEXT")
		got = append(got, [2]string{beg, text})
		return nil
	})
	if err != nil || len(got) != 3 || got[0] != [2]string{"C1", "a\nb"} || got[1] != [2]string{"C2", long} || got[2] != [2]string{"C3", ""} {
		t.Fatalf("err %v, %d rows", err, len(got))
	}
	for name, bad := range map[string]string{
		"no bom":    q("BEGDOC") + "\r\n" + q("C1") + "\r\n",
		"unquoted":  "\ufeff" + q("BEGDOC") + "\r\nC1\r\n",
		"width":     "\ufeff" + q("BEGDOC", "TEXT") + "\r\n" + q("C1") + "\r\n",
		"no begdoc": "\ufeff" + q("TEXT") + "\r\n",
		"empty":     "",
		"blank row": "\ufeff" + q("BEGDOC") + "\r\n\r\n",
		// A second LEDGER_SEQ column: one reader would check one, a
		// loader take the other.
		"column twice": "\ufeff" + q("BEGDOC", "LEDGER_SEQ", "LEDGER_SEQ") + "\r\n" + q("C1", "1", "2") + "\r\n",
		"quote inside": "\ufeff" + q("BEGDOC", "TEXT") + "\r\n" + q("C1", "a\u00feb") + "\r\n",
		"huge record":  "\ufeff" + q("BEGDOC", "TEXT") + "\r\n" + q("C1", strings.Repeat("x", 5<<20)) + "\r\n",
	} {
		if err := scanDAT(strings.NewReader(bad), func(datCols, []string) error { return nil }); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
