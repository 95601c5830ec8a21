package produce

import (
	"bytes"
	"github.com/custodyhq/custody/internal/production"
	"strings"
	"testing"
	"unicode/utf8"
)

// datUnsafe reports the first character a DAT value must not hold: a
// delimiter, a line break other than the ® newline, a C0 or C1 control
// or DEL, or a byte that is not UTF-8.
func datUnsafe(v string) (string, bool) {
	if !utf8.ValidString(v) {
		return "invalid UTF-8", true
	}
	for _, r := range v {
		switch {
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029, r == 0xfe:
			return string(r), true
		}
	}
	return "", false
}

// datBreaks counts the line breaks datValue writes as ®.
func datBreaks(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				w = 2
			}
			n++
		case '\n', '\v', '\f', 0x85, 0x2028, 0x2029:
			n++
		}
		i += w
	}
	return n
}

func TestDATValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain <+31677370051>", "plain <+31677370051>"},
		// The reviewer's participant: every control is gone, each line
		// break is one ®, and the literal ® cannot be taken for one.
		{"Björn\r\nJensen þ\x14 ®\t\x00X\u2028Y", "Björn®Jensen \ufffd\ufffd (R) \ufffdX®Y"},
		{"a.ogg\x00.exe", "a.ogg\ufffd.exe"},
		{"a\rb\nc\r\n\r\nd\u2029e\u0085f\vg\fh", "a®b®c®®d®e®f®g®h"},
		{"\x7f\u0080\u009f\u00a0\ufffd", "\ufffd\ufffd\ufffd\u00a0\ufffd"},
		{"bad \xff\xfe utf-8", "bad \ufffd\ufffd utf-8"},
		{"", ""},
	} {
		if got := datValue(tc.in); got != tc.want {
			t.Errorf("datValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDATValue: whatever a value holds, the DAT field written of it
// holds no delimiter, control or stray line break, keeps one ® for each
// line break and reads back (ReadDAT) as the value with its line breaks
// as LF, its literal ® as "(R)", and its tabs as spaces.
func FuzzDATValue(f *testing.F) {
	for _, s := range []string{"Björn\r\nJensen þ\x14 ®\t\x00X\u2028Y", "a.ogg\x00.exe", "\xff\r\r\n\n", "(R)®", "\u0085\u2028\u2029\v\f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := datValue(s)
		if c, bad := datUnsafe(v); bad {
			t.Fatalf("datValue(%q) = %q holds %q", s, v, c)
		}
		if got, want := strings.Count(v, datNewline), datBreaks(s); got != want {
			t.Fatalf("datValue(%q) = %q: %d newlines for %d line breaks", s, v, got, want)
		}
		if again := datValue(strings.ReplaceAll(v, datNewline, "\n")); again != v {
			t.Fatalf("%q, its newlines read as line breaks, writes as %q, not itself", v, again)
		}
		var b bytes.Buffer
		b.WriteString(datBOM)
		writeRecord(&b, []string{"A", "B"})
		writeRecord(&b, []string{s, "x"})
		cols, rows, err := production.ReadDAT(b.Bytes())
		if err != nil || len(cols) != 2 || len(rows) != 1 || rows[0][1] != "x" {
			t.Fatalf("the record of %q does not read back: %v %q %q", s, err, cols, rows)
		}
		if want := strings.ReplaceAll(v, datNewline, "\n"); rows[0][0] != want {
			t.Fatalf("%q read back as %q, want %q", s, rows[0][0], want)
		}
	})
}
