package production_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/production"
)

func datRecord(fs ...string) string {
	return "\u00fe" + strings.Join(fs, "\u00fe\x14\u00fe") + "\u00fe\r\n"
}

// TestDATReader: records end at CR LF (a lone LF is inside a field), a
// record longer than the reader's buffer is read whole, the last may lack
// its CRLF, and ® reads as a line break.
func TestDATReader(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	dat := "\ufeff" + datRecord("BEGDOC", "TEXT") + datRecord("C1", "a\nb") + datRecord("C2", long) + datRecord("C3", "x®y") + strings.TrimSuffix(datRecord("C4", ""), "\r\n")
	cols, rows, err := production.ReadDAT([]byte(dat))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"C1", "a\nb"}, {"C2", long}, {"C3", "x\ny"}, {"C4", ""}}
	if len(cols) != 2 || cols[0] != "BEGDOC" || len(rows) != len(want) {
		t.Fatalf("cols %q, %d rows", cols, len(rows))
	}
	for i := range want {
		if rows[i][0] != want[i][0] || rows[i][1] != want[i][1] {
			t.Errorf("row %d: %.40q, want %.40q", i, rows[i], want[i])
		}
	}
}

// TestDATReaderRefuses: hostile or broken input is an error naming the
// line, never a panic nor a record held without bound.
func TestDATReaderRefuses(t *testing.T) {
	h := "\ufeff" + datRecord("BEGDOC", "TEXT")
	for _, tc := range []struct{ name, dat, want string }{
		{"empty", "", "empty"},
		{"no bom", datRecord("BEGDOC"), "line 1: no UTF-8 byte-order mark"},
		{"bom only", "\ufeff", "line 1: field 1 is not quoted"},
		{"unquoted", h + "C1\x14\u00fex\u00fe\r\n", "line 2: field 1 is not quoted with þ"},
		{"half quoted", h + "\u00feC1\x14\u00fex\u00fe\r\n", "line 2: field 1 is not quoted with þ"},
		{"quote inside", h + datRecord("C1", "a\u00feb"), "line 2: field 2 holds a þ inside its quotes"},
		{"lone quote", h + "\u00fe\r\n", "line 2: field 1 is not quoted with þ"},
		{"width", h + datRecord("C1"), "line 2: 1 fields, the header 2"},
		{"line after lf", h + datRecord("C1", "a\nb") + datRecord("C2"), "line 4: 1 fields"},
		{"blank row", h + "\r\n", "line 2: field 1 is not quoted"},
		{"column twice", "\ufeff" + datRecord("BEGDOC", "BEGDOC"), `line 1: column "BEGDOC" named twice`},
		{"too many fields", "\ufeff" + datRecord(make([]string, production.MaxDATFields+1)...), "line 1: more than"},
		{"record too long", h + datRecord("C1", strings.Repeat("x", production.MaxDATRecord)), "line 2: a record longer than"},
		{"record too long, no lf", h + "\u00fe" + strings.Repeat("x", production.MaxDATRecord+1), "line 2: a record longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := production.ReadDAT([]byte(tc.dat))
			if err == nil || !errors.Is(err, production.ErrMalformedDAT) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzDATReader: a DAT is hostile input. The reader returns an error or
// records of the header's width, never panics, and reads streaming what
// it reads whole; values built of no delimiter read back as written.
func FuzzDATReader(f *testing.F) {
	f.Add([]byte("\ufeff\u00feA\u00fe\x14\u00feB\u00fe\r\n\u00fe1\u00fe\x14\u00fe2\u00fe\r\n"), "v", "w")
	f.Add([]byte("\ufeff\u00fe"), "a\nb", "x®y")
	f.Add([]byte("\u00feA\u00fe"), "", "")
	f.Add([]byte("\ufeff\u00feA\u00fe\r\n\u00fe\u00fe\u00fe\r\n\r\n"), "\r", "\u00fe")
	f.Fuzz(func(t *testing.T, data []byte, a, b string) {
		cols, rows, err := production.ReadDAT(data)
		if err == nil {
			for _, r := range rows {
				if len(r) != len(cols) {
					t.Fatalf("row of %d fields, header %d", len(r), len(cols))
				}
			}
			// A reader that gets a byte at a time reads the same.
			d, err := production.NewDATReader(io.LimitReader(oneByte{bytes.NewReader(data)}, int64(len(data))))
			if err != nil {
				t.Fatalf("whole: read; a byte at a time: %v", err)
			}
			for i := 0; ; i++ {
				r, err := d.Next()
				if err == io.EOF {
					if i != len(rows) {
						t.Fatalf("%d rows a byte at a time, %d whole", i, len(rows))
					}
					break
				}
				if err != nil || i >= len(rows) || strings.Join(r, "\x00") != strings.Join(rows[i], "\x00") {
					t.Fatalf("row %d a byte at a time: %q %v", i, r, err)
				}
			}
		}
		// Values without a delimiter of their own read back as written,
		// ® as a line break.
		clean := func(s string) bool {
			return !strings.ContainsAny(s, "\u00fe\x14") && !strings.Contains(s, "\r\n")
		}
		if !clean(a) || !clean(b) || strings.HasSuffix(a, "\r") || strings.HasSuffix(b, "\r") {
			return
		}
		dat := "\ufeff" + datRecord("A", "B") + datRecord(a, b)
		_, rows, err = production.ReadDAT([]byte(dat))
		if err != nil {
			t.Fatalf("%q: %v", dat, err)
		}
		if got, want := rows[0], []string{strings.ReplaceAll(a, "®", "\n"), strings.ReplaceAll(b, "®", "\n")}; len(rows) != 1 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("read back %q, want %q", rows, want)
		}
	})
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
