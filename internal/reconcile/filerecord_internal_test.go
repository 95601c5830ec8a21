package reconcile

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestFileRecordJSON: appendJSON writes what json.Marshal writes, for
// names an export may hold (HTML characters, quotes, control characters,
// invalid UTF-8, U+2028) and any size.
func TestFileRecordJSON(t *testing.T) {
	names := []string{"", "a/b.json", `q"uo\\te`, "<&>", "tab\there\nnl\r\b\f", "\x00\x01\x1f\x7f", "bad \xff\xfe utf8",
		"line\u2028sep\u2029", "é/日本/🙂.json", "\xed\xa0\x80"}
	for _, name := range names {
		for _, size := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
			checkFileRecordJSON(t, FileRecord{Name: name, Size: size, SHA256: name})
		}
	}
}

func FuzzFileRecordJSON(f *testing.F) {
	f.Add("a/b.json", int64(12), "00ff")
	f.Add("<\xff\u2028>", int64(-3), "")
	f.Fuzz(func(t *testing.T, name string, size int64, sum string) {
		checkFileRecordJSON(t, FileRecord{Name: name, Size: size, SHA256: sum})
	})
}

func checkFileRecordJSON(t *testing.T, r FileRecord) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.appendJSON([]byte("x")); !bytes.Equal(got[1:], want) || got[0] != 'x' {
		t.Errorf("%+v:\n got %s\nwant %s", r, got[1:], want)
	}
}
