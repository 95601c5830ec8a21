package leaf

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// checkCanonMessageDetail holds canonMessageDetail, on the detail at b[i],
// to the passes it stands for: canonValue (the strict reader's RFC 8785
// check, and where the detail ends), decodeFast with views (the v3
// rule's decode) and clearDetailPlain (the v1 rule's fast path). When it
// answers, they must give exactly its answers; it reports whether it
// answered.
func checkCanonMessageDetail(t *testing.T, b []byte, i int) bool {
	t.Helper()
	var d MessageDetail
	end, plain, ok := canonMessageDetail(b, i, &d)
	if !ok {
		return false
	}
	wend, wok := canonValue(b, i, 0)
	if !wok || wend != end {
		t.Fatalf("%q at %d: one pass ends at %d; canonValue %d, %v", b, i, end, wend, wok)
	}
	raw := b[i:end]
	var want MessageDetail
	if !want.decodeFast(raw, true) {
		t.Fatalf("%q: one pass decoded it; decodeFast declines", raw)
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("%q:\n one pass   %+v\n decodeFast %+v", raw, d, want)
	}
	if wplain := clearDetailPlain(raw); plain != wplain {
		t.Fatalf("%q: one pass says plain %v, clearDetailPlain %v", raw, plain, wplain)
	}
	// And so the rules' answers, which are what the strict check uses.
	sd, serr := checkedSaltedDetail(raw, true)
	if err := saltedRule(&d); (err == nil) != (serr == nil) || serr == nil && !reflect.DeepEqual(*sd, d) {
		t.Fatalf("%q: v3 rule on the one pass's detail %v; checkedSaltedDetail %v, %+v", raw, err, serr, sd)
	}
	if plain && checkedClearDetailAll(raw) != nil {
		t.Fatalf("%q: plain, but the v1 rule says %v", raw, checkedClearDetailAll(raw))
	}
	return true
}

// canonDetailSeeds are details of every form the strict reader meets:
// v3 and v1 details as exports write them, and the near misses the one
// pass must leave to the two (escapes, order, duplicates, numbers,
// nesting, media, lone surrogates, bytes after the object).
func canonDetailSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for i := range 4 {
		e, _ := salted(t, "conv-01", i)
		seeds = append(seeds, e.Detail)
		m := message("conv-02", i)
		raw, _ := CanonicalDetail(m.Detail)
		seeds = append(seeds, raw)
	}
	v3 := string(seeds[0])
	for _, edit := range [][2]string{
		{`"direction":"`, `"date_modified":"2024-03-01T10:00:00.123Z","direction":"`},
		{`"direction":"`, `"date_deleted":"2024-03-02T10:00:00.000Z","date_modified":"2024-03-01T10:00:00.123Z","direction":"`},
		{`"direction":"`, `"direction":"\u0069`},                                                   // an escape that is not minimal
		{`"direction":"inbound"`, `"direction":"in\"bound"`},                                       // a minimal escape
		{`"direction":"inbound"`, `"direction":"in\\bound"`},                                       // another
		{`"direction":"inbound"`, `"direction":"\ud800"`},                                          // a lone surrogate
		{`"direction":"inbound"`, `"direction":"\ud83d\ude00"`},                                    // a pair, escaped
		{`"direction":"inbound"`, `"direction":"😀é"`},                                              // the same, raw
		{`"direction":"`, `"media":[{"evidence_sha256":"e","id":"i","sha256":"s"}],"direction":"`}, // out of order
		{`"from_commitment":"`, `"media":[{"evidence_sha256":"e","id":"i","sha256":"s"}],"from_commitment":"`},
		{`"from_commitment":"`, `"media":[],"from_commitment":"`},
		{`"from_commitment":"`, `"media":"x","from_commitment":"`},
		{`"direction":"`, `"direction":"x","direction":"`},         // a duplicate
		{`"direction":"inbound",`, ``},                             // a member fewer
		{`"direction":"`, `"Direction":"x","direction":"`},         // folds to a member
		{`"direction":"`, `"d":1,"direction":"`},                   // a number
		{`"direction":"`, `"d":1.5,"direction":"`},                 // not an integer
		{`"direction":"`, `"d":null,"direction":"`},                // a literal
		{`"direction":"`, `"d":{"e":"f"},"direction":"`},           // nested
		{`"direction":"`, `"d":["e"],"direction":"`},               // an array
		{`"direction":"inbound"`, `"direction":null`},              // a member of the format, not a string
		{`"direction":"inbound"`, `"direction":7`},                 // the same
		{`"messenger_type":"`, `"messenger_type" :"`},              // white space
		{`"messenger_type":"`, `"messenger_type": "`},              // again
		{`,"messenger_type"`, ` ,"messenger_type"`},                // again
		{`"to_commitment":"`, `"to_commitment":"A`},                // upper case: the rule's, not the pass's
		{`"to_commitment":"`, `"from":"+1","to_commitment":"`},     // a personal field in clear, out of order
		{`"direction":"`, `"content_sha256":"ab","direction":"`},   // a personal field in clear
		{`"direction":"`, `"x_commitment":"1","direction":"`},      // not plain, out of order
		{`"direction":"`, `"\u0064":"x","direction":"`},            // an escaped key
		{`"direction":"`, `"𝔡":"x","direction":"`},                 // a key beyond U+FFFF
		{`"direction":"`, `"ÿ":"x","direction":"`},                 // a key out of byte order
		{`"direction":"inbound"`, "\"direction\":\"in\xffbound\""}, // invalid UTF-8
		{`"direction":"inbound"`, "\"direction\":\"in\x01bound\""}, // a control character
	} {
		seeds = append(seeds, []byte(strings.Replace(v3, edit[0], edit[1], 1)))
	}
	for _, s := range []string{
		v3 + "x", v3 + `}`, v3 + `,"a":"b"}`, v3[:len(v3)-1], v3[:len(v3)-1] + `,}`, v3[:len(v3)-1] + `,"zz":"x"}`,
		v3[:len(v3)-1] + `,"zz":""}`, `{}`, `{"":""}`, `{"":"","":""}`, `{"a":"b"}`, `{"a":"b",}`, `{"a""b"}`, `{"a":}`, `{`, ``,
		`[]`, `"x"`, `{"from":"a","to":"b"}`, `{"to":"b","from":"a"}`, `{"opening_evidence_sha256":"x"}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	for _, s := range messageDetailSeeds {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// TestCanonMessageDetail: the one pass answers for the details exports
// write, and its answers are the two passes'.
func TestCanonMessageDetail(t *testing.T) {
	seeds := canonDetailSeeds(t)
	for k, b := range seeds {
		alone := checkCanonMessageDetail(t, b, 0)
		// Inside a leaf: at an offset, with the rest after it.
		in := append(append([]byte(`{"detail":`), b...), `,"kind":"message"}`...)
		inLeaf := checkCanonMessageDetail(t, in, len(`{"detail":`))
		if k < 8 && !(alone && inLeaf) {
			t.Errorf("%s: an exported detail, but the one pass did not answer (alone %v, in a leaf %v)", b, alone, inLeaf)
		}
	}
	// The v3 details are v3's, the v1 ones plain.
	for k := 0; k < 8; k++ {
		var d MessageDetail
		_, plain, _ := canonMessageDetail(seeds[k], 0, &d)
		if v3 := k%2 == 0; plain == v3 || d.Salted() != v3 {
			t.Errorf("%s: plain %v, salted %v", seeds[k], plain, d.Salted())
		}
	}
	// Views of the bytes, as decodeFast's.
	b := bytes.Clone(seeds[0])
	var d MessageDetail
	canonMessageDetail(b, 0, &d)
	before := strings.Clone(d.Direction)
	b[bytes.Index(b, []byte(`"direction":"`))+len(`"direction":"`)] ^= 0x20
	if d.Direction == before {
		t.Error("the one pass copied the strings")
	}
}

// FuzzCanonMessageDetail holds canonMessageDetail to canonValue,
// decodeFast and clearDetailPlain (checkCanonMessageDetail), alone and
// inside a leaf.
func FuzzCanonMessageDetail(f *testing.F) {
	for _, b := range canonDetailSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCanonMessageDetail(t, b, 0)
		in := append(append([]byte(`{"detail":`), b...), `,"kind":"message"}`...)
		checkCanonMessageDetail(t, in, len(`{"detail":`))
	})
}
