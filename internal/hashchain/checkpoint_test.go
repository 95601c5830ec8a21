package hashchain

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

const testOrigin = "custody.example/ledger/test"

// fixedKey returns a deterministic key pair named name: Ed25519 signatures
// are deterministic, so notes signed with it are reproducible byte for byte.
func fixedKey(t testing.TB, name, seed string) (skey, vkey string) {
	t.Helper()
	s := sha256.Sum256([]byte(seed))
	skey, vkey, err := note.GenerateKey(bytes.NewReader(s[:]), name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

func refCheckpoint() Checkpoint {
	return Checkpoint{Origin: testOrigin, Size: 8, Root: MustParseHash(refRoots[8])}
}

func TestCheckpointBodyFormat(t *testing.T) {
	got := string(refCheckpoint().Body())
	want := testOrigin + "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
	if got != want {
		t.Fatalf("Body() = %q, want %q", got, want)
	}
	c, err := ParseCheckpointBody([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if c != refCheckpoint() {
		t.Fatalf("ParseCheckpointBody = %+v, want %+v", c, refCheckpoint())
	}
	zero := Checkpoint{Origin: "o", Size: 0, Root: EmptyRoot}
	if c, err := ParseCheckpointBody(zero.Body()); err != nil || c != zero {
		t.Fatalf("round trip of size 0: %+v, %v", c, err)
	}
	maxSize := Checkpoint{Origin: "o", Size: ^uint64(0), Root: ZeroHash}
	if c, err := ParseCheckpointBody(maxSize.Body()); err != nil || c != maxSize {
		t.Fatalf("round trip of max size: %+v, %v", c, err)
	}
	// A checkpoint vouching for an erasure: one extension line.
	er := refCheckpoint()
	er.HasErasure, er.Erasure = true, 7
	if got := string(er.Body()); got != want+"erasure 7\n" {
		t.Fatalf("Body() = %q, want the erasure line after %q", got, want)
	}
	for _, seq := range []uint64{0, 3, 7} {
		er.Erasure = seq
		if c, err := ParseCheckpointBody(er.Body()); err != nil || c != er {
			t.Fatalf("round trip of erasure %d: %+v, %v", seq, c, err)
		}
	}
}

func TestParseCheckpointBodyRejects(t *testing.T) {
	root := "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
	zeroRoot := strings.Repeat("A", 43) + "="
	cases := map[string]string{
		"empty":                ``,
		"no final newline":     "o\n8\n" + root,
		"two lines":            "o\n8\n",
		"extension line":       "o\n8\n" + root + "\nextra\n",
		"blank extension":      "o\n8\n" + root + "\n\n",
		"crlf":                 "o\r\n8\r\n" + root + "\r\n",
		"empty origin":         "\n8\n" + root + "\n",
		"control in origin":    "o\x01\n8\n" + root + "\n",
		"invalid utf-8 origin": "o\xff\n8\n" + root + "\n",
		"leading zero size":    "o\n08\n" + root + "\n",
		"plus size":            "o\n+8\n" + root + "\n",
		"negative size":        "o\n-1\n" + root + "\n",
		"empty size":           "o\n\n" + root + "\n",
		"spaced size":          "o\n 8\n" + root + "\n",
		"overflow size":        "o\n18446744073709551616\n" + root + "\n",
		"hex size":             "o\n0x8\n" + root + "\n",
		"short root":           "o\n8\n" + root[:40] + "\n",
		"unpadded root":        "o\n8\n" + strings.TrimRight(root, "=") + "\n",
		"url base64 root":      "o\n8\n" + strings.NewReplacer("+", "-", "/", "_").Replace(root) + "\n",
		"31-byte root":         "o\n8\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" + "\n",
		"33-byte root":         "o\n8\n" + strings.Repeat("A", 44) + "\n",
		"non-canonical bits":   "o\n8\n" + strings.Repeat("A", 42) + "B=\n",
		"cr inside root":       "o\n8\n" + zeroRoot[:10] + "\r" + zeroRoot[10:] + "\n",
		"hex root":             "o\n8\n" + refRoots[8] + "\n",
		"erasure at size":      "o\n8\n" + root + "\nerasure 8\n",
		"erasure beyond size":  "o\n8\n" + root + "\nerasure 9\n",
		"erasure leading zero": "o\n8\n" + root + "\nerasure 07\n",
		"erasure plus":         "o\n8\n" + root + "\nerasure +7\n",
		"erasure no seq":       "o\n8\n" + root + "\nerasure \n",
		"erasure two spaces":   "o\n8\n" + root + "\nerasure  7\n",
		"erasure no newline":   "o\n8\n" + root + "\nerasure 7",
		"erasure twice":        "o\n8\n" + root + "\nerasure 6\nerasure 7\n",
		"erasure then other":   "o\n8\n" + root + "\nerasure 7\nextra\n",
		"other then erasure":   "o\n8\n" + root + "\nextra\nerasure 7\n",
		"erasure upper case":   "o\n8\n" + root + "\nErasure 7\n",
		"erasure on size 0":    "o\n0\n" + root + "\nerasure 0\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := ParseCheckpointBody([]byte(in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCheckpointBody(%q) = %+v, %v; want ErrMalformed", in, c, err)
			}
		})
	}
}

func TestSignVerifyCheckpointRoundTrip(t *testing.T) {
	skey, vkey, err := GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(vkey, testOrigin+"+") || !strings.HasPrefix(skey, "PRIVATE+KEY+"+testOrigin+"+") {
		t.Fatalf("unexpected key shapes %q / (secret)", vkey)
	}
	for _, c := range []Checkpoint{
		refCheckpoint(),
		{Origin: testOrigin, Size: 0, Root: EmptyRoot},
		{Origin: testOrigin, Size: 1 << 40, Root: LeafHash([]byte("x"))},
		{Origin: testOrigin, Size: 1 << 40, Root: LeafHash([]byte("x")), HasErasure: true, Erasure: 1<<40 - 1},
	} {
		signed, err := SignCheckpoint(c, skey)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(signed, append(c.Body(), '\n')) {
			t.Fatalf("signed note does not start with body and blank line:\n%s", signed)
		}
		got, err := VerifyCheckpoint(signed, vkey)
		if err != nil {
			t.Fatalf("VerifyCheckpoint: %v\n%s", err, signed)
		}
		if got != c {
			t.Fatalf("VerifyCheckpoint = %+v, want %+v", got, c)
		}
	}
}

func TestVerifyCheckpointWrongKey(t *testing.T) {
	skey, _ := fixedKey(t, testOrigin, "log")
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		t.Fatal(err)
	}
	_, sameNameOtherKey := fixedKey(t, testOrigin, "impostor")
	_, otherName := fixedKey(t, "other.example/log", "log")
	for name, vkey := range map[string]string{"same name, other key": sameNameOtherKey, "other name": otherName} {
		t.Run(name, func(t *testing.T) {
			if _, err := VerifyCheckpoint(signed, vkey); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("error = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerifyCheckpointEditedBody(t *testing.T) {
	skey, vkey := fixedKey(t, testOrigin, "log")
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]func([]byte) []byte{
		"size": func(b []byte) []byte { return bytes.Replace(b, []byte("\n8\n"), []byte("\n9\n"), 1) },
		"root": func(b []byte) []byte { return bytes.Replace(b, []byte("Xcna"), []byte("Ycna"), 1) },
		"signature": func(b []byte) []byte {
			// Change one base64 character in the middle of the signature.
			i := bytes.LastIndexByte(b[:len(b)-1], ' ') + 20
			c := append([]byte(nil), b...)
			if c[i] == 'A' {
				c[i] = 'B'
			} else {
				c[i] = 'A'
			}
			return c
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			edited := edit(signed)
			if bytes.Equal(edited, signed) {
				t.Fatal("edit did not change the note")
			}
			if _, err := VerifyCheckpoint(edited, vkey); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("error = %v, want ErrBadSignature", err)
			}
		})
	}
	// Renaming the origin edits the signed text too.
	renamed := bytes.Replace(signed, []byte(testOrigin+"\n"), []byte("evil.example/log\n"), 1)
	if _, err := VerifyCheckpoint(renamed, vkey); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("renamed origin: error = %v, want ErrBadSignature", err)
	}
}

// A validly signed note whose body names another origin must not verify:
// the key is authoritative only for the log it is named after.
func TestVerifyCheckpointOriginMustMatchKeyName(t *testing.T) {
	skey, vkey := fixedKey(t, testOrigin, "log")
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	other := Checkpoint{Origin: "other.example/log", Size: 1, Root: LeafHash(nil)}
	signed, err := note.Sign(&note.Note{Text: string(other.Body())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCheckpoint(signed, vkey); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("error = %v, want ErrBadSignature", err)
	}
	if _, err := SignCheckpoint(other, skey); !errors.Is(err, ErrBadKey) {
		t.Fatalf("SignCheckpoint with mismatched origin: error = %v, want ErrBadKey", err)
	}
}

func TestVerifyCheckpointIgnoresCosignatures(t *testing.T) {
	skey, vkey := fixedKey(t, testOrigin, "log")
	wkey, _ := fixedKey(t, "witness.example", "witness")
	s1, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := note.NewSigner(wkey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: string(refCheckpoint().Body())}, s2, s1)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := VerifyCheckpoint(signed, vkey); err != nil || c != refCheckpoint() {
		t.Fatalf("VerifyCheckpoint with cosignature = %+v, %v", c, err)
	}
}

func TestVerifyCheckpointMalformed(t *testing.T) {
	skey, vkey := fixedKey(t, testOrigin, "log")
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	extended, err := note.Sign(&note.Note{Text: string(refCheckpoint().Body()) + "extension\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":               nil,
		"body only":           refCheckpoint().Body(),
		"no blank line":       bytes.Replace(signed, []byte("\n\n"), []byte("\n"), 1),
		"control character":   append([]byte{0x07}, signed...),
		"bad signature line":  append(append([]byte(nil), signed...), "not a signature\n"...),
		"truncated":           signed[:len(signed)-1],
		"signed extension":    extended,
		"invalid utf-8":       append([]byte("\xff"), signed...),
		"signature not b64":   []byte(string(refCheckpoint().Body()) + "\n— " + testOrigin + " !!!!\n"),
		"signature too short": []byte(string(refCheckpoint().Body()) + "\n— " + testOrigin + " AAAA\n"),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := VerifyCheckpoint(in, vkey); !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestVerifyCheckpointSaysWhatIsMalformed: note.Open says only "malformed
// note"; an auditor handed a checkpoint file is told what is wrong with it.
func TestVerifyCheckpointSaysWhatIsMalformed(t *testing.T) {
	skey, vkey := fixedKey(t, testOrigin, "log")
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		strings.ReplaceAll(string(signed), "\n", "\r\n"):         "a carriage return (CR) at byte",
		string(signed[:len(signed)-1]):                           "its last signature line does not end with a newline",
		string(signed) + "- foo AAAAAAAA\n":                      "signature line 2 does not start with an em dash",
		string(signed) + "— a+b AAAAAAAA\n":                      "signature line 2: its key name is empty or holds white space or '+'",
		string(signed) + "— foo AAAA\n":                          "signature line 2: its signature is under 5 bytes",
		string(signed) + strings.Repeat("— foo AAAAAAAA\n", 100): "101 signature lines, more than 100",
		"\t" + string(signed):                                    "a control character (U+0009) at byte 0",
	} {
		_, err := VerifyCheckpoint([]byte(in), vkey)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q in it", err, want)
		}
	}
}

func TestCheckpointKeyErrors(t *testing.T) {
	for _, name := range []string{"", "a b", "a+b", "a\nb", "a\x01b", "tab\there"} {
		if _, _, err := GenerateKey(name); !errors.Is(err, ErrBadKey) {
			t.Errorf("GenerateKey(%q) error = %v, want ErrBadKey", name, err)
		}
	}
	skey, vkey := fixedKey(t, testOrigin, "log")
	if _, err := VerifyCheckpoint([]byte("x"), "not a key"); !errors.Is(err, ErrBadKey) {
		t.Errorf("VerifyCheckpoint(bad key) error = %v, want ErrBadKey", err)
	}
	if _, err := VerifyCheckpoint([]byte("x"), skey); !errors.Is(err, ErrBadKey) {
		t.Errorf("VerifyCheckpoint(signer key as verifier) error = %v, want ErrBadKey", err)
	}
	broken := skey[:len(skey)-4] + "!!!!"
	_, err := SignCheckpoint(refCheckpoint(), broken)
	if !errors.Is(err, ErrBadKey) {
		t.Fatalf("SignCheckpoint(bad key) error = %v, want ErrBadKey", err)
	}
	secret := skey[strings.LastIndexByte(skey, '+')+1:]
	if strings.Contains(err.Error(), secret[:8]) || strings.Contains(err.Error(), broken) {
		t.Fatalf("error leaks key material: %v", err)
	}
	if _, err := SignCheckpoint(refCheckpoint(), vkey); !errors.Is(err, ErrBadKey) {
		t.Fatalf("SignCheckpoint(verifier key) error = %v, want ErrBadKey", err)
	}
	bad := refCheckpoint()
	bad.Origin = testOrigin + "\n"
	if _, err := SignCheckpoint(bad, skey); err == nil {
		t.Fatal("SignCheckpoint with newline in origin succeeded")
	}
}

// TestCheckpointGolden pins the complete signed-note bytes for a fixed key,
// so any change to the checkpoint or note format shows up as a diff.
// Regenerate with go test -run TestCheckpointGolden -update.
func TestCheckpointGolden(t *testing.T) {
	skey, vkey := fixedKey(t, testOrigin, "golden")
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		t.Fatal(err)
	}
	got := append([]byte("verifier key: "+vkey+"\n\n"), signed...)
	path := filepath.Join("testdata", "checkpoint.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("signed checkpoint changed:\n got:\n%s\nwant:\n%s", got, want)
	}
	// The golden note must verify as stored.
	stored := want[bytes.Index(want, []byte("\n\n"))+2:]
	if c, err := VerifyCheckpoint(stored, vkey); err != nil || c != refCheckpoint() {
		t.Fatalf("golden note: %+v, %v", c, err)
	}
}

// TestParseSignedCheckpoint: a signed checkpoint parses whoever signed it;
// a file that is no signed note, or a note whose text is no checkpoint,
// is ErrMalformed saying which; VerifyCheckpoint then fails on what
// parses only for its signature.
func TestParseSignedCheckpoint(t *testing.T) {
	skey, _ := fixedKey(t, testOrigin, "log")
	_, otherKey := fixedKey(t, testOrigin, "another")
	signed, err := SignCheckpoint(refCheckpoint(), skey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := note.Sign(&note.Note{Text: "hello\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseSignedCheckpoint(signed)
	if err != nil || c != refCheckpoint() {
		t.Fatalf("ParseSignedCheckpoint(signed) = %+v, %v; want %+v", c, err, refCheckpoint())
	}
	if _, err := VerifyCheckpoint(signed, otherKey); errors.Is(err, ErrMalformed) || !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyCheckpoint with another key: %v, want ErrBadSignature", err)
	}
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"a host name":      {[]byte("host\n"), "not a signed note: no blank line between its text and its signatures"},
		"a verifier key":   {[]byte(testOrigin + "+01234567+AQ==\n"), "not a signed note"},
		"empty":            {nil, "not a signed note"},
		"body only":        {refCheckpoint().Body(), "not a signed note"},
		"CRLF":             {bytes.ReplaceAll(signed, []byte("\n"), []byte("\r\n")), "a carriage return"},
		"a note of hello":  {hello, "a signed note, but not a checkpoint"},
		"bad signature ln": {append(append([]byte(nil), signed...), "not a signature\n"...), "signature line 2 does not start with an em dash"},
	} {
		if _, err := ParseSignedCheckpoint(tc.in); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrMalformed saying %q", name, err, tc.want)
		}
	}
}
