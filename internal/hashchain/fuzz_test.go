package hashchain

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		rfc8785Sample, rfc8785Sorting,
		`{"a":1,"a":2}`, `"\ud83d"`, `"\ud83d\ude00"`, "\"\xed\xa0\x80\"",
		`[1e21,1e-7,-0,5e-324,1.7976931348623157e+308,333333333.33333329]`,
		`{"id":"m1","body":"hello \u003cworld\u003e","ts":"2024-01-01T00:00:00Z","n":[true,false,null]}`,
		`1e400`, `[01]`, `{"x":{}}`, ` "x" `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("error %v does not wrap ErrInvalidJSON", err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("output is not valid UTF-8 JSON: %q", out)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		// Canonicalization must not change the value.
		var a, b any
		if err := json.Unmarshal(in, &a); err != nil {
			t.Fatalf("unmarshal input: %v", err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("unmarshal output: %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("value changed: %q -> %q", in, out)
		}
	})
}

func FuzzParseCheckpointBody(f *testing.F) {
	f.Add(refCheckpoint().Body())
	f.Add(Checkpoint{Origin: "o", Size: 0, Root: EmptyRoot}.Body())
	f.Add(Checkpoint{Origin: "example.com/log", Size: ^uint64(0), Root: ZeroHash}.Body())
	f.Add([]byte("o\n08\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Add([]byte("o\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\nextra\n"))
	f.Add([]byte("o\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nerasure 7\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseCheckpointBody(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Only the canonical form parses.
		if !bytes.Equal(c.Body(), in) {
			t.Fatalf("parsed %q but Body() = %q", in, c.Body())
		}
	})
}

func FuzzVerifyCheckpoint(f *testing.F) {
	skey, vkey := fixedKey(f, testOrigin, "fuzz")
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		f.Fatal(err)
	}
	other, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: 0, Root: EmptyRoot}, skey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(other)
	f.Add(refCheckpoint().Body())
	f.Add(append(append([]byte(nil), signed...), signed...))
	f.Add(bytes.Replace(signed, []byte("\n8\n"), []byte("\n9\n"), 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := VerifyCheckpoint(in, vkey)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrBadSignature", err)
			}
			return
		}
		// Anything that verifies must be a checkpoint this key signed.
		if c.Origin != testOrigin {
			t.Fatalf("verified origin %q", c.Origin)
		}
		if !bytes.HasPrefix(in, append(c.Body(), '\n')) {
			t.Fatalf("verified checkpoint %+v is not the note text of %q", c, in)
		}
		if c != refCheckpoint() && c != (Checkpoint{Origin: testOrigin, Size: 0, Root: EmptyRoot}) {
			t.Fatalf("verified a checkpoint that was never signed: %+v", c)
		}
	})
}

// FuzzParseSignedCheckpoint: what ParseSignedCheckpoint accepts,
// VerifyCheckpoint never calls malformed, and what VerifyCheckpoint
// accepts parses to the same checkpoint.
func FuzzParseSignedCheckpoint(f *testing.F) {
	skey, vkey := fixedKey(f, testOrigin, "log")
	_, other := fixedKey(f, testOrigin, "another")
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(append(append([]byte(nil), signed...), "— other AAAAAAAAAAAA\n"...))
	f.Add(refCheckpoint().Body())
	f.Add([]byte("host\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, perr := ParseSignedCheckpoint(in)
		if perr != nil && !errors.Is(perr, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", perr)
		}
		for _, k := range []string{vkey, other} {
			v, verr := VerifyCheckpoint(in, k)
			if perr == nil && errors.Is(verr, ErrMalformed) {
				t.Fatalf("parsed, but VerifyCheckpoint says malformed: %v", verr)
			}
			if verr == nil && (perr != nil || v != c) {
				t.Fatalf("verified %+v, parsed %+v, %v", v, c, perr)
			}
		}
	})
}
