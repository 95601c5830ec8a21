package leaf

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// checkDecodeCheckedDetail holds DecodeCheckedDetail to the calls it
// stands for: DecodeChecked (entry, strictness, error) and DecodeDetail
// of the entry's detail (nil when none or it fails).
func checkDecodeCheckedDetail(t *testing.T, b []byte) {
	t.Helper()
	in := bytes.Clone(b)
	e, d, strict, err := DecodeCheckedDetail(in)
	we, wstrict, werr := DecodeChecked(b)
	if (err == nil) != (werr == nil) || strict != wstrict {
		t.Fatalf("%q: DecodeCheckedDetail strict %v, %v; DecodeChecked strict %v, %v", b, strict, err, wstrict, werr)
	}
	if err != nil {
		if d != nil {
			t.Fatalf("%q: a detail without an entry", b)
		}
		return
	}
	if !reflect.DeepEqual(e, we) {
		t.Fatalf("%q: entry %+v, DecodeChecked %+v", b, e, we)
	}
	var wd Detail
	if len(we.Detail) > 0 {
		if x, err := DecodeDetail(we.Kind, we.Detail); err == nil {
			wd = x
		}
	}
	if (d == nil) != (wd == nil) || d != nil && !reflect.DeepEqual(d, wd) {
		t.Fatalf("%q: detail %#v, DecodeDetail %#v", b, d, wd)
	}
}

func TestDecodeCheckedDetail(t *testing.T) {
	var leaves [][]byte
	for i := range 6 {
		e, _ := salted(t, "conv-01", i)
		b, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, b)
		m := message("conv-02", i)
		if b, err = m.AppendLeaf(nil); err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, b)
	}
	_, cases := strictCases(t)
	for _, tc := range cases {
		leaves = append(leaves, []byte(tc.leaf))
	}
	v3 := string(leaves[0])
	for _, edit := range [][2]string{
		{`"from_commitment":"`, `"from_commitment":"A`},                 // not lower-case hex
		{`"direction":"`, `"from":"+1555","direction":"`},               // a personal field in clear
		{`"direction":"`, `"direction":"\u0069`},                        // an escape: not canonical
		{`"direction":"`, `"media":[],"direction":"`},                   // decodeFast declines
		{`"direction":"`, `"Direction":"x","direction":"`},              // folds to a member
		{`"kind":"message"`, `"kind":"message" `},                       // white space
		{`"opening_evidence_sha256":"`, `"opening_evidence_sha256":"0`}, // 65 digits
	} {
		leaves = append(leaves, bytes.Replace([]byte(v3), []byte(edit[0]), []byte(edit[1]), 1))
	}
	fast := 0
	for _, b := range leaves {
		checkDecodeCheckedDetail(t, b)
		if _, d, strict, _ := DecodeCheckedDetail(b); strict && d != nil {
			fast++
		}
	}
	if fast < 12 {
		t.Errorf("%d leaves gave a strict entry and its detail, want at least the 12 genuine ones", fast)
	}
	// The detail of a v3 message is the strict check's (views of the leaf).
	b := bytes.Clone(leaves[0])
	_, d, _, _ := DecodeCheckedDetail(b)
	md := d.(*MessageDetail)
	before := strings.Clone(md.Direction)
	i := bytes.Index(b, []byte(`"direction":"`)) + len(`"direction":"`)
	b[i] ^= 0x20
	if md.Direction == before {
		t.Error("the detail's strings are copies: the strict check's detail was not the one returned")
	}
}

// FuzzDecodeCheckedDetail: DecodeCheckedDetail answers as DecodeChecked
// and DecodeDetail do.
func FuzzDecodeCheckedDetail(f *testing.F) {
	addLeafSeeds(f)
	for i := range 3 {
		e, _ := salted(f, "conv-01", i)
		if b, err := e.AppendLeaf(nil); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeCheckedDetail(t, b)
	})
}
