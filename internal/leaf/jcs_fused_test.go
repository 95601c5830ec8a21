package leaf

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// writerKeys is the key set writerWalk reads objects with: names that
// sort apart from their order here, names that share a prefix of eight
// bytes or more, one another's prefixes.
var writerKeys = NewKeys("id", "name", "type", "z", "a", "normalizedReceipts", "normalizedMessage", "normalized", "text", "A", "~", "abcdefghij", "abcdefgh")

// writerWalk reads the value at in[i] through w the way a decoder does:
// objects with ObjectKeys (or Object, by mode's bits), each member read
// again by writerWalk or, for some, written whole with Value; arrays
// element by element; strings with String; the rest with Value.
func writerWalk(w *CanonicalWriter, in []byte, i int, mode uint) (int, error) {
	if i >= len(in) {
		return i, errNotFast
	}
	switch in[i] {
	case '{':
		if mode&1 != 0 {
			return w.Object(i, func(key []byte, at int) (int, error) {
				if len(key)%3 == 0 && mode&2 != 0 {
					return w.Value(at)
				}
				return writerWalk(w, in, at, mode>>1|mode<<7)
			})
		}
		return w.ObjectKeys(i, writerKeys, func(f, at int) (int, error) {
			if f == 3 && mode&2 != 0 {
				return w.Value(at)
			}
			return writerWalk(w, in, at, mode>>1|mode<<7)
		}, func(key []byte, at int) (int, error) {
			if f := writerKeys.Index(key); f >= 0 {
				panic(fmt.Sprintf("ObjectKeys passed %q, name %d, as another member", key, f))
			}
			if len(key)%2 == 0 {
				return w.Value(at)
			}
			return writerWalk(w, in, at, mode>>2|mode<<6)
		})
	case '[':
		return w.Array(i, func(at int) (int, error) { return writerWalk(w, in, at, mode>>1|mode<<7) })
	case '"':
		s, end, err := w.String(i)
		if err == nil {
			if want, _, werr := jsonscan.AppendString(nil, in, i); werr != nil || !bytes.Equal(s, want) {
				panic(fmt.Sprintf("String(%q) = %q, want %q", in[i:end], s, want))
			}
		}
		return end, err
	}
	return w.Value(i)
}

// checkWriter holds the writer, walked by writerWalk in mode, to
// appendJCS on in: whatever it answers is appendJCS's form, hashed; and
// it answers whatever appendJCS answers.
func checkWriter(t *testing.T, in []byte, mode uint) {
	t.Helper()
	want, wok := appendJCS(nil, in)
	w := NewCanonicalWriter(in)
	defer w.Release()
	end, err := writerWalk(w, in, jsonscan.Space(in, 0), mode)
	var got []byte
	if err == nil {
		got = w.write(nil, &w.last)
	}
	ok := err == nil && jsonscan.Space(in, end) == len(in)
	if ok != wok || ok && !bytes.Equal(got, want) {
		t.Fatalf("writer on %q (mode %#x): %q, %v; appendJCS %q, %v", in, mode, got, ok, want, wok)
	}
	if ok {
		if sum, sok := w.Sum(end); !sok || sum != sha256.Sum256(want) {
			t.Fatalf("writer on %q: Sum %x, %v; want the SHA-256 of %q", in, sum, sok, want)
		}
		if ref, err := hashchain.Canonicalize(in); err == nil && !bytes.Equal(ref, got) {
			t.Fatalf("writer on %q: %q, hashchain.Canonicalize %q", in, got, ref)
		}
	}
}

var writerSeeds = []string{
	`{}`, `[]`, `""`, `1`, `-0`, `1.5e3`, `true`, `null`, ` {"id" : "x" } `,
	`{"z":1,"a":2,"id":"x","name":{"type":[1,"2",{"text":null}]},"other":{"b":1,"a":[{"y":2,"x":1}]}}`,
	`{"normalizedReceipts":1,"normalizedMessage":2,"normalized":3,"abcdefghij":4,"abcdefgh":5,"abcdefghi":6}`,
	`{"id":"a","id":"b"}`, `{"q":1,"q":2}`, `{"i\u0064":"escaped","x\u0079":"y"}`, `{"a\u0000":1}`,
	`{"é":1,"e":2,"~":3,"A":4,"a":5}`, "{\"\U0001F600\":1}", `{"id":"\u00e9\n\"\\\/\u2028\u001f"}`,
	`{"a":1e400}`, `{"a":9007199254740993,"b":1E2,"c":-0.0,"d":0.1}`, `{"a":[1,2,[3,[4,{}]]],"b":[]}`,
	`{"id":"x"} x`, `{"id":"x",}`, `{"id" "x"}`, `[1,]`, `{"id":"\ud800"}`,
	`{"deep":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	`{"deep":` + strings.Repeat(`{"a":`, 63) + `1` + strings.Repeat("}", 63) + `}`,
	`{"deep":` + strings.Repeat(`{"a":`, 66) + `1` + strings.Repeat("}", 66) + `}`,
}

func TestCanonicalWriter(t *testing.T) {
	members := func(n int, key func(i int) string) string {
		var parts []string
		for i := n - 1; i >= 0; i-- {
			parts = append(parts, fmt.Sprintf("%q:%d", key(i), i))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	seeds := append(writerSeeds,
		members(24, func(i int) string { return fmt.Sprintf("member_%02d", i) }),
		members(40, func(i int) string { return strings.Repeat("p", i%9) + fmt.Sprint(i) }),
		members(30, func(i int) string { return fmt.Sprintf("duplicated_%d", i%29) }),
	)
	for _, s := range seeds {
		for mode := range uint(8) {
			checkWriter(t, []byte(s), mode)
		}
	}
	// One pooled writer after another: the learned orders must not carry
	// an object's order to the next when its members come otherwise.
	for range 3 {
		for _, s := range []string{`{"b":1,"a":2,"c":3}`, `{"b":1,"c":3,"a":2}`, `{"b":1,"a":2,"a":3}`, `{"z":1,"type":2,"id":3}`, `{"z":1,"id":3,"type":2}`} {
			checkWriter(t, []byte(s), 0)
			checkWriter(t, []byte(s), 1)
		}
	}
}

// TestCanonicalWriterManyMembers: an object of a million members, in
// descending order (hostile evidence can hold one), is written as
// appendJCS writes it. Its members sorted by insertion, as the writer's
// few-member path does, it would take some twenty minutes (40,000 took 2 s)
// and this test the package's time-out; sorted as sortMembers sorts many
// members, a second.
func TestCanonicalWriterManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteByte('{')
	for i := 1_000_000 - 1; i >= 0; i-- {
		fmt.Fprintf(&b, `"k%07d":%d`, i, i%10)
		if i > 0 {
			b.WriteByte(',')
		}
	}
	b.WriteByte('}')
	checkWriter(t, []byte(b.String()), 0)
}

// FuzzCanonicalWriter: the writer, however a reader walks the document,
// writes appendJCS's form (and hashchain.Canonicalize's, the reference),
// and declines only what appendJCS declines.
func FuzzCanonicalWriter(f *testing.F) {
	for _, s := range writerSeeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		checkWriter(t, in, uint(mode))
	})
}

// TestKeysMatch: match finds a name spelt as it is wherever it stands
// (the document's end too), and nothing else: a name's prefix or
// extension, another case, a name with escapes (which Index finds once
// decoded).
func TestKeysMatch(t *testing.T) {
	for _, n := range writerKeys.Names() {
		for _, key := range []string{n, n[:len(n)-1], n + "x", n + "\\", strings.ToUpper(n[:1]) + n[1:], "", "\\u0041" + n[1:], n[:1] + "\\" + n[1:]} {
			for _, tail := range []string{"", ":", ":1}", `:"0123456789"}`} {
				in := []byte(`"` + key + `"` + tail)
				f, end := writerKeys.match(in, 0)
				want, wend := -1, 0
				if e, esc, err := jsonscan.String(in, 0); err == nil && !esc {
					if want = writerKeys.Index(in[1 : e-1]); want >= 0 {
						wend = e
					}
				}
				if f != want || end != wend {
					t.Errorf("match(%s) = %d, %d; want %d, %d", in, f, end, want, wend)
				}
			}
		}
	}
}
