package leaf

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// TestAppendJCSMemberOrder holds appendJCS's member sort (an 8-byte key
// prefix compared first, then the rest; an insertion sort for small
// objects, slices.SortFunc for large ones) to the reference: keys that
// share their first eight bytes or more, keys that are prefixes of
// others, non-ASCII keys, objects either side of the insertion sort's
// limit, and duplicates that only the bytes past the prefix reveal.
func TestAppendJCSMemberOrder(t *testing.T) {
	members := func(n int, key func(i int) string) string {
		var parts []string
		for i := n - 1; i >= 0; i-- { // reverse order: every member moves
			parts = append(parts, fmt.Sprintf("%q:%d", key(i), i))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	cases := []string{
		`{"abcdefghij":1,"abcdefghi":2,"abcdefgh":3,"abcdefg":4,"b":5,"a":6,"":7}`,
		`{"normalizedReceipts":1,"normalizedMessage":2,"normalized":3,"normalize":4}`,
		`{"z":1,"é":2,"e":3,"ÿ":4,"~":5,"E":6}`,
		`{"x":{"d":1,"c":{"b":2,"a":3}},"w":[{"q":1,"p":2}]}`,
		members(24, func(i int) string { return fmt.Sprintf("member_%02d", i) }),
		members(25, func(i int) string { return fmt.Sprintf("member_%02d", i) }),
		members(40, func(i int) string { return fmt.Sprintf("k%d", i) }),
		members(40, func(i int) string { return strings.Repeat("p", i%9) + fmt.Sprint(i) }),
	}
	for _, s := range cases {
		want, err := hashchain.Canonicalize([]byte(s))
		if err != nil {
			t.Fatalf("reference refuses %s: %v", s, err)
		}
		got, ok := appendJCS(nil, []byte(s))
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("appendJCS(%s) = %s, %v; want %s", s, got, ok, want)
		}
	}
	for _, s := range []string{
		`{"abcdefghijk":1,"x":0,"abcdefghijk":2}`,
		`{"abcdefgh":1,"abcdefgh":2}`,
		`{"ab":1,"b":0,"ab":2}`,
		members(30, func(i int) string { return fmt.Sprintf("duplicated_%d", i%29) }),
	} {
		if got, ok := appendJCS(nil, []byte(s)); ok {
			t.Errorf("appendJCS(%s) = %s, want a refusal (duplicate key)", s, got)
		}
	}
}

// TestAppendJCSOrderReuse: one state writing object after object (as a
// pooled writer does) tries the order the last object of that shape had,
// and must not keep it when the next object's members come otherwise,
// nor take a repeated key for sorted.
func TestAppendJCSOrderReuse(t *testing.T) {
	docs := []string{
		`{"b":1,"a":2,"c":3}`,
		`{"b":1,"a":2,"c":3}`, // the order kept
		`{"b":1,"c":2,"a":3}`, // same size and first key, another order
		`{"b":1,"a":2,"a":3}`, // the kept order would read a, b, a
		`{"b":1,"a":2,"c":3}`,
		`{"b":1,"a":2,"b":3}`,
		`{"b":{"y":1,"x":2},"a":[{"y":1,"x":2},{"x":1,"y":2},{"y":1,"y":2}]}`,
		`{"b":{"y":1,"x":2},"a":[{"y":1,"x":2},{"x":1,"y":2},{"y":3,"x":4}]}`,
	}
	var st jcsState
	for round := range 2 {
		for _, s := range docs {
			want, err := hashchain.Canonicalize([]byte(s))
			got, ok := st.appendJCS(nil, []byte(s))
			if ok != (err == nil) || ok && !bytes.Equal(got, want) {
				t.Errorf("round %d: appendJCS(%s) = %s, %v; want %s, %v", round, s, got, ok, want, err)
			}
		}
	}
}

// TestAppendJCSNumbers: numbers beyond safe integers (a Location's
// latitude and longitude, exponents, -0, integers past 2^53) are written
// by the fast paths exactly as the reference writes them, and a number
// beyond the double range is still refused, as the reference refuses it.
func TestAppendJCSNumbers(t *testing.T) {
	for _, s := range []string{
		`{"latitude":-33.857199,"longitude":151.21488}`,
		`{"a":1.5,"b":-0,"c":-0.0,"d":1e3,"e":2E-3,"f":1e21,"g":1e-7,"h":0.000001,"i":123456789012345678901234}`,
		`[9007199254740993,-9007199254740993,9007199254740992,1.0,10.50,5e-324,1.7976931348623157e308]`,
		`{"x":[0.1,0.2,0.30000000000000004,100E+2,-1.25e-10]}`,
	} {
		want, err := hashchain.Canonicalize([]byte(s))
		if err != nil {
			t.Fatalf("reference refuses %s: %v", s, err)
		}
		if got, ok := appendJCS(nil, []byte(s)); !ok || !bytes.Equal(got, want) {
			t.Errorf("appendJCS(%s) = %s, %v; want %s", s, got, ok, want)
		}
		if v, ok := parseJCS([]byte(s)); !ok || !bytes.Equal(v.appendTo(nil), want) {
			t.Errorf("parseJCS(%s) = %s, %v; want %s", s, v.appendTo(nil), ok, want)
		}
	}
	for _, s := range []string{`{"a":1e400}`, `[-1e309]`, `{"a":1.}`, `{"a":01.5}`} {
		if got, ok := appendJCS(nil, []byte(s)); ok {
			t.Errorf("appendJCS(%s) = %s, want a refusal", s, got)
		}
		if _, err := CanonicalDetail([]byte(s)); err == nil {
			t.Errorf("CanonicalDetail(%s) accepted", s)
		}
	}
}
