package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/hashchain"
)

// seeds are documents near the grammar's edges, valid and not.
var seeds = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `-12.0E-07`, `true`, `false`, `null`, ` {"a" : [1, {"b":null}] } `,
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"b":1, "a" : "\u00e9\n\"\\\/\b\f\r\t\u0001\u001f\u007f"}`,
	`"\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `"\uD83D\uDE00"`, "\"\xff\"", "\"\xed\xa0\x80\"",
	"\"a\x01\"", `"\x"`, `"\u12"`, `"\u12g4"`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `[1,]`, `{"a":1,}`,
	`{"a" 1}`, `{1:2}`, `[1 2]`, `{"a":1} x`, `"é 日本語 🙂"`, "\"\u2028\u2029\"", `[[[[[[[[[[]]]]]]]]]]`,
	`{"html":"<&>"}`, "\t\n\r 1 \t\n\r", `"unterminated`, `{"a":`, `[`,
}

func TestValid(t *testing.T) {
	for _, s := range seeds {
		want := json.Valid([]byte(s)) && utf8.ValidString(s)
		if got := Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, want %v", s, got, want)
		}
	}
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if !Valid([]byte(deep)) {
		t.Error("MaxDepth levels refused")
	}
	if err := Check([]byte("["+deep+"]"), MaxDepth); !errors.Is(err, ErrDepth) {
		t.Errorf("MaxDepth+1 levels: %v, want ErrDepth", err)
	}
	if err := Check([]byte(`[[1]]`), 1); !errors.Is(err, ErrDepth) {
		t.Errorf("depth 2 with limit 1: %v", err)
	}
}

func TestAppendString(t *testing.T) {
	for s, want := range map[string]string{
		`""`: "", `"abc"`: "abc", `"\u00e9\n\"\\\/\b\f\r\t"`: "é\n\"\\/\b\f\r\t", `"\ud83d\ude00x"`: "😀x",
		`"\uD83D\uDE00"`: "😀", `"a\u0000b"`: "a\x00b", `"日本"`: "日本",
	} {
		got, end, err := AppendString([]byte("x"), []byte(s), 0)
		if err != nil || string(got) != "x"+want || end != len(s) {
			t.Errorf("AppendString(%s) = %q, %d, %v; want %q", s, got, end, err, want)
		}
	}
	for _, s := range []string{`"\ud800"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `"\ud800x"`} {
		if _, _, err := AppendString(nil, []byte(s), 0); !errors.Is(err, ErrLoneSurrogate) {
			t.Errorf("AppendString(%s): %v, want ErrLoneSurrogate", s, err)
		}
		if _, _, err := String([]byte(s), 0); err != nil {
			t.Errorf("String(%s): %v, want valid syntax", s, err)
		}
	}
	if _, esc, _ := String([]byte(`"plain"`), 0); esc {
		t.Error("plain string reported as escaped")
	}
	if _, esc, _ := String([]byte(`"a\nb"`), 0); !esc {
		t.Error("escaped string reported as plain")
	}
}

func TestObjectAndArray(t *testing.T) {
	doc := []byte(` { "a" : [1, "x", {"b":true}] , "c\u0064" : null } `)
	var keys []string
	end, err := Object(doc, Space(doc, 0), func(key []byte, v int) (int, error) {
		keys = append(keys, string(key))
		if string(key) == "a" {
			n := 0
			end, err := Array(doc, v, func(e int) (int, error) { n++; return Skip(doc, e, 10) })
			if n != 3 {
				t.Errorf("array of 3 read as %d", n)
			}
			return end, err
		}
		return Skip(doc, v, 10)
	})
	if err != nil || Space(doc, end) != len(doc) || strings.Join(keys, ",") != "a,cd" {
		t.Fatalf("Object: keys %q, end %d, %v", keys, end, err)
	}
	for s, want := range map[string]error{
		`{"a":1,"b":{"a":2}}`: nil, `[{"a":1},{"a":1}]`: nil,
		`{"a":1,"a":2}`: ErrDuplicateKey, `{"a":1,"\u0061":2}`: ErrDuplicateKey, `[{"x":{"a":1,"a":1}}]`: ErrDuplicateKey,
		`{"a":1,}`: ErrSyntax,
	} {
		if _, err := UniqueKeys([]byte(s), 0, 10); !errors.Is(err, want) && (err != nil || want != nil) {
			t.Errorf("UniqueKeys(%s) = %v, want %v", s, err, want)
		}
	}
}

// TestScan checks the eight-bytes-at-a-time string scan against the
// obvious loop, on bytes dense with the values it stops at.
func TestScan(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 'a', 'z', '0'}
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = byte(0x20 + r.IntN(0x5f))
			}
		}
		from := r.IntN(len(b) + 1)
		for _, nonASCII := range []bool{false, true} {
			want := from
			for want < len(b) && !(b[want] == '"' || b[want] == '\\' || b[want] < 0x20 || nonASCII && b[want] >= 0x80) {
				want++
			}
			if got := scan(b, from, nonASCII); got != want {
				t.Fatalf("scan(%q, %d, %v) = %d, want %d", b, from, nonASCII, got, want)
			}
		}
	}
}

// FuzzValid holds Valid to json.Valid: whatever Valid accepts,
// encoding/json accepts; whatever encoding/json accepts that is valid
// UTF-8, Valid accepts (encoding/json lets invalid UTF-8 through in
// strings, RFC 8259 §8.1 does not). UniqueKeys accepts a subset.
func FuzzValid(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Valid(b), json.Valid(b)
		if got && !want {
			t.Fatalf("Valid accepts %q, encoding/json does not", b)
		}
		if want && utf8.Valid(b) && !got {
			t.Fatalf("Valid refuses %q: %v", b, Check(b, MaxDepth))
		}
		if end, err := UniqueKeys(b, Space(b, 0), MaxDepth); err == nil && Space(b, end) == len(b) && !got {
			t.Fatalf("UniqueKeys accepts %q, Valid does not", b)
		}
	})
}

// FuzzAppendString holds string decoding to json.Unmarshal.
func FuzzAppendString(f *testing.F) {
	for _, s := range seeds {
		if strings.HasPrefix(s, `"`) {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, end, err := AppendString(nil, b, 0)
		if err != nil {
			if end, _, serr := String(b, 0); serr == nil && !errors.Is(err, ErrLoneSurrogate) {
				t.Fatalf("AppendString(%q) = %v, but String accepts it (to %d)", b, err, end)
			}
			var want string
			if json.Unmarshal(b, &want) == nil && utf8.Valid(b) && !errors.Is(err, ErrLoneSurrogate) && Space(b, 0) == 0 {
				// encoding/json reads a longer prefix only if trailing
				// whitespace follows: the string itself must be ours too.
				if e, _, serr := String(b, 0); serr != nil || Space(b, e) != len(b) {
					t.Fatalf("AppendString refuses %q (%v); encoding/json reads %q", b, err, want)
				}
			}
			return
		}
		var want string
		if err := json.Unmarshal(b[:end], &want); err != nil {
			t.Fatalf("AppendString accepts %q as %q; encoding/json: %v", b[:end], got, err)
		}
		if string(got) != want {
			t.Fatalf("%q: AppendString %q, encoding/json %q", b[:end], got, want)
		}
		if !utf8.Valid(got) {
			t.Fatalf("%q decodes to invalid UTF-8 %q", b[:end], got)
		}
	})
}

// FuzzNumber holds Number to the grammar encoding/json checks.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "1", "-12", "1.5", "1e3", "1E-3", "1.5e+30", "01", "1.", ".5", "-", "1e", "1e+", "--1", "0x1", "1_000"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end, err := Number(b, 0)
		whole := err == nil && end == len(b)
		// json.Valid allows whitespace around the number; Number does not.
		want := len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') && len(bytes.TrimRight(b, " \t\r\n")) == len(b) && json.Valid(b)
		if whole != want {
			t.Fatalf("Number(%q): whole %v (end %d, %v), encoding/json %v", b, whole, end, err, want)
		}
	})
}

// FuzzEscapers holds AppendStringEncodingJSON to json.Marshal and
// AppendStringRFC8785 to the general canonicalizer, and checks that both
// decode back to the string.
func FuzzEscapers(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and backslash \`, "tab\tnl\ncr\rff\fbs\b", "nul \x00 us \x1f del \x7f",
		"<script>&amp;</script>", "é ü ß 日本語 🙂", "\u2028\u2029", "\ufeffbom", "/slash/", "bad \xff utf-8 \xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendStringEncodingJSON(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendStringEncodingJSON(%q) = %s, json.Marshal %s", s, got, want)
		}
		if !utf8.ValidString(s) {
			return
		}
		canon, err := hashchain.Canonicalize(want)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendStringRFC8785(nil, s)
		if !bytes.Equal(got, canon) {
			t.Fatalf("AppendStringRFC8785(%q) = %s, RFC 8785 %s", s, got, canon)
		}
		for _, enc := range [][]byte{got, want} {
			back, end, err := AppendString(nil, enc, 0)
			if err != nil || end != len(enc) || string(back) != s {
				t.Fatalf("%s decodes to %q, %v; want %q", enc, back, err, s)
			}
		}
	})
}

// TestSpaceEveryByte: Space passes over exactly RFC 8259's four white
// space bytes, whatever follows them, and stops at every other byte (the
// form feed and vertical tab, NUL and the bytes above the space among
// them).
func TestSpaceEveryByte(t *testing.T) {
	for c := range 256 {
		ws := c == ' ' || c == '\t' || c == '\n' || c == '\r'
		want := 0
		if ws {
			want = 1
		}
		if got := Space([]byte{byte(c), 'x'}, 0); got != want {
			t.Errorf("Space(%q + x) = %d, want %d", byte(c), got, want)
		}
		if got := Space([]byte{' ', '\r', byte(c)}, 0); ws && got != 3 || !ws && got != 2 {
			t.Errorf("Space(\" \\r\" + %q) = %d", byte(c), got)
		}
	}
}
