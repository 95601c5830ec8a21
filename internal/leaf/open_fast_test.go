package leaf

import (
	"bytes"
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// openReference is what OpenStored must equal: ParseOpening, then Open.
func openReference(d *MessageDetail, b []byte) (*MessageDetail, string, error) {
	o, err := ParseOpening(b)
	if err != nil {
		return nil, "", err
	}
	od, err := d.Open(o)
	if err != nil {
		return nil, o.MessageID, err
	}
	return od, o.MessageID, nil
}

func saltedDetail(t testing.TB, i int) (*MessageDetail, []byte) {
	t.Helper()
	e, o := salted(t, "c", i)
	dd, err := DecodeDetail(KindMessage, e.Detail)
	if err != nil {
		t.Fatal(err)
	}
	return dd.(*MessageDetail), o.Encode()
}

func checkOpenStored(t *testing.T, d *MessageDetail, b []byte) {
	t.Helper()
	got, gotID, gotErr := d.OpenStored(b)
	want, wantID, wantErr := openReference(d, b)
	// Only whether: the error is the reference's own, whose wording can
	// vary between calls (it ranges over a map of fields).
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, reference %v", b, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) || gotID != wantID {
		t.Fatalf("%q: %+v %q, reference %+v %q", b, got, gotID, want, wantID)
	}
}

// TestOpenStored: the fast path takes every opening Encode writes and
// gives what the reference gives; every one-byte edit of one gives the
// reference's answer too (almost all of them its error).
func TestOpenStored(t *testing.T) {
	for i := range 5 {
		d, b := saltedDetail(t, i)
		if _, ok := parseOpeningCanonical(b, false); !ok {
			t.Fatalf("Encode's form is not taken by the fast path: %q", b)
		}
		checkOpenStored(t, d, b)
		for j := range b {
			for _, c := range []byte{0, '"', '\\', 'a', 'F', '0', '{', ' ', 0xff, b[j] + 1} {
				e := bytes.Clone(b)
				e[j] = c
				checkOpenStored(t, d, e)
			}
		}
	}
	// Another message's opening does not open this detail's commitments.
	d, _ := saltedDetail(t, 1)
	_, other := saltedDetail(t, 2)
	if _, _, err := d.OpenStored(other); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("another message's opening: %v", err)
	}
	// Escapes and characters Encode escapes go through the reference.
	o := &Opening{MessageID: "m\"1\n", Fields: map[string]string{"content_sha256": "a\\b", "from": "\u2028x\x01", "provider_message_id": "é", "to": ""}}
	d = &MessageDetail{}
	d.SetCommitments(o, [32]byte{1})
	checkOpenStored(t, d, o.Encode())
	if got, id, err := d.OpenStored(o.Encode()); err != nil || id != o.MessageID || got.From != o.Fields["from"] || got.ContentSHA256 != "a\\b" {
		t.Fatalf("escaped opening: %+v %q %v", got, id, err)
	}
}

func FuzzOpenStored(f *testing.F) {
	d, b := saltedDetail(f, 1)
	f.Add(b)
	f.Add([]byte(`{"fields":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkOpenStored(t, d, b)
	})
}

func BenchmarkOpenStored(b *testing.B) {
	d, o := saltedDetail(b, 1)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := d.OpenStored(o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := openReference(d, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// checkReadOpening: ReadOpening gives what ParseOpening gives.
func checkReadOpening(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := ReadOpening(b)
	want, wantErr := ParseOpening(b)
	if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: %+v %v, reference %+v %v", b, got, gotErr, want, wantErr)
	}
}

// TestReadOpening: every opening Encode writes, and every one-byte edit
// of one, reads as ParseOpening reads it.
func TestReadOpening(t *testing.T) {
	for i := range 3 {
		_, b := saltedDetail(t, i)
		checkReadOpening(t, b)
		for j := range b {
			for _, c := range []byte{0, '"', '\\', 'a', 'F', '0', '{', ' ', 0xff, b[j] + 1} {
				e := bytes.Clone(b)
				e[j] = c
				checkReadOpening(t, e)
			}
		}
	}
	o := &Opening{MessageID: "m\"1\n", Fields: map[string]string{"content_sha256": "a\\b", "from": "\u2028x\x01", "provider_message_id": "é", "to": ""}}
	checkReadOpening(t, o.Encode())
}

func FuzzReadOpening(f *testing.F) {
	_, b := saltedDetail(f, 1)
	f.Add(b)
	f.Add([]byte(`{"fields":{}}`))
	f.Fuzz(checkReadOpening)
}

// sealedReference is what SealedIs must answer: the opening read
// (ReadOpening) is of message id with d's field values, and raw is
// EncodeDetail of d sealed by it.
func sealedReference(d *MessageDetail, raw []byte, id string, opening []byte, sum hashchain.Hash) bool {
	o, err := ReadOpening(opening)
	if err != nil || o.MessageID != id {
		return false
	}
	for _, f := range PersonalFields {
		if o.Fields[f] != (map[string]string{"content_sha256": d.ContentSHA256, "from": d.From, "provider_message_id": d.ProviderMessageID, "to": d.To})[f] {
			return false
		}
	}
	dd := *d
	dd.SetCommitments(o, sum)
	want, err := EncodeDetail(&dd)
	return err == nil && bytes.Equal(want, raw)
}

// clearSealed is message(conv, i) in the v3 form as verify derives it:
// the detail with its personal fields in clear, the leaf's detail, the
// opening and its evidence address.
func clearSealed(t testing.TB, i int) (*MessageDetail, Entry, []byte, hashchain.Hash) {
	t.Helper()
	e, o := salted(t, "c", i)
	ob := o.Encode()
	d, _, err := func() (*MessageDetail, string, error) {
		dd, err := DecodeDetail(KindMessage, e.Detail)
		if err != nil {
			return nil, "", err
		}
		return dd.(*MessageDetail).OpenStored(ob)
	}()
	if err != nil {
		t.Fatal(err)
	}
	return d, e, ob, hashchain.Hash(sha256.Sum256(ob))
}

func checkSealedIs(t *testing.T, d *MessageDetail, raw []byte, id string, opening []byte, sum hashchain.Hash) bool {
	t.Helper()
	before := *d
	got := d.SealedIs(raw, id, opening, sum)
	want := sealedReference(d, raw, id, opening, sum)
	// False is "not sure" only for an opening the fast path leaves to the
	// reference (an escape in it): otherwise the two agree.
	if got && !want || want && !got && !bytes.Contains(opening, []byte{'\\'}) {
		t.Fatalf("SealedIs(%q, %q, %q) = %v, reference %v", raw, id, opening, got, want)
	}
	if !reflect.DeepEqual(*d, before) {
		t.Fatalf("SealedIs changed d: %+v, was %+v", *d, before)
	}
	return got
}

// TestSealedIs: the detail derivation writes is taken, and every one-byte
// edit of it, of the opening or of a field value gives the reference's
// answer.
func TestSealedIs(t *testing.T) {
	for i := range 3 {
		d, e, ob, sum := clearSealed(t, i)
		if !checkSealedIs(t, d, e.Detail, e.MessageID, ob, sum) {
			t.Fatalf("the derived detail is not taken: %s", e.Detail)
		}
		for j := range e.Detail {
			for _, c := range []byte{'"', '0', 'a', 'F', ' ', e.Detail[j] + 1} {
				r := bytes.Clone(e.Detail)
				r[j] = c
				checkSealedIs(t, d, r, e.MessageID, ob, sum)
			}
		}
		for j := range ob {
			for _, c := range []byte{'"', '\\', '0', 'a', 'F', e.Detail[j] + 1} {
				o := bytes.Clone(ob)
				o[j] = c
				checkSealedIs(t, d, e.Detail, e.MessageID, o, sum)
			}
		}
		for k := range 4 {
			dd := *d
			p := [...]*string{&dd.ContentSHA256, &dd.From, &dd.ProviderMessageID, &dd.To}[k]
			*p += "x"
			if checkSealedIs(t, &dd, e.Detail, e.MessageID, ob, sum) {
				t.Fatalf("field %s changed, still taken", PersonalFields[k])
			}
		}
		if checkSealedIs(t, d, e.Detail, e.MessageID+"x", ob, sum) || checkSealedIs(t, d, e.Detail, e.MessageID, ob, hashchain.Hash{1}) {
			t.Fatal("another message id or opening address is taken")
		}
	}
	// Escapes in the opening: the reference's.
	o := &Opening{MessageID: "m\"1\n", Fields: map[string]string{"content_sha256": "a\\b", "from": "\u2028x\x01", "provider_message_id": "é", "to": ""}}
	d := &MessageDetail{ContentSHA256: "a\\b", From: "\u2028x\x01", ProviderMessageID: "é", Direction: "inbound"}
	dd := *d
	dd.SetCommitments(o, hashchain.Hash{2})
	raw, err := EncodeDetail(&dd)
	if err != nil {
		t.Fatal(err)
	}
	checkSealedIs(t, d, raw, o.MessageID, o.Encode(), hashchain.Hash{2})
}

func FuzzSealedIs(f *testing.F) {
	d, e, ob, sum := clearSealed(f, 1)
	f.Add([]byte(e.Detail), e.MessageID, ob, d.From, false)
	f.Add([]byte(`{}`), "m", []byte(`{"fields":{}}`), "", true)
	f.Fuzz(func(t *testing.T, raw []byte, id string, opening []byte, from string, media bool) {
		dd := *d
		dd.From = from
		if media {
			dd.Media = []MediaRef{{ID: from, SHA256: id}}
		}
		checkSealedIs(t, &dd, raw, id, opening, sum)
		if got, want := dd.EncodedIs(raw), func() bool { b, err := EncodeDetail(&dd); return err == nil && bytes.Equal(b, raw) }(); got != want {
			t.Fatalf("EncodedIs(%q) = %v, reference %v", raw, got, want)
		}
	})
}

func BenchmarkSealedIs(b *testing.B) {
	d, e, ob, sum := clearSealed(b, 1)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !d.SealedIs(e.Detail, e.MessageID, ob, sum) {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !sealedReference(d, e.Detail, e.MessageID, ob, sum) {
				b.Fatal("not taken")
			}
		}
	})
}
