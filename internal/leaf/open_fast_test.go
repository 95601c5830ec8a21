package leaf

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
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
		if _, ok := parseOpeningCanonical(b); !ok {
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
