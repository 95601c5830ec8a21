package hashchain

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// A key that does not parse is described, never quoted, whatever the
// note package's error says.
func TestKeyProblem(t *testing.T) {
	skey, vkey, err := GenerateKey("custody/abc")
	if err != nil {
		t.Fatal(err)
	}
	damaged := vkey[:len(vkey)-4] + "AAA="
	for _, tc := range []struct {
		key    string
		signer bool
		want   string
	}{
		{"", false, "it is empty"},
		{"secret\x00data", false, "it is not text"},
		{"a+b+c\nd", false, "it is more than one line"},
		{skey, false, "it is a signer key"},
		{"hunter2", false, "it is not of the form NAME+HASH+KEY"},
		{"hunter2+zz+c2VjcmV0", false, "its HASH is not 8 hex digits"},
		{"hunter2+01234567+!!", false, "its KEY is not base64"},
		{damaged, false, "its HASH does not match"},
		{vkey, true, "it is a verifier key"},
		{"PRIVATE+KEY+hunter2", true, "it is not of the form PRIVATE+KEY+NAME+HASH+KEY"},
	} {
		var err error
		if tc.signer {
			_, err = note.NewSigner(tc.key)
		} else {
			_, err = note.NewVerifier(tc.key)
		}
		if err == nil {
			t.Fatalf("%q parses", tc.key)
		}
		got := keyProblem(tc.key, err, tc.signer)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("keyProblem(%q) = %q, want %q…", tc.key, got, tc.want)
		}
		for _, s := range []string{"hunter2", "c2VjcmV0", "abc"} {
			if strings.Contains(got, s) {
				t.Errorf("keyProblem(%q) = %q: quotes the key", tc.key, got)
			}
		}
	}
	// An error message that is not one of the known fixed texts is not
	// passed on: it might quote the key.
	if got := VerifierKeyProblem("hunter2+01234567+c2VjcmV0", errors.New(`key "hunter2+01234567+c2VjcmV0" is bad`)); strings.Contains(got, "hunter2") {
		t.Errorf("an unknown error's text passed on: %q", got)
	}
}

func TestIsKeyText(t *testing.T) {
	skey, vkey, err := GenerateKey("custody/f7e292a6-matter")
	if err != nil {
		t.Fatal(err)
	}
	const witnessKey = "counsel.example/w1+52110d21+BKYbX3j3CcNpCGZkd/hTc7ZXjtE+Q05Uj2CxiaZ2L9Oh"
	damaged := vkey[:len(vkey)-4] + "AAA="
	for _, tt := range []struct {
		v    string
		want bool
	}{
		{vkey, true},
		{" " + vkey + "\n", true},
		{witnessKey, true},
		{skey, true},
		{damaged, false}, // its HASH no longer matches: a path, or a damaged key
		{"custody.pub", false},
		{"keys/custody+1+2.pub", false},
		{"", false},
		{vkey + " " + vkey, false},
	} {
		if got := IsKeyText(tt.v); got != tt.want {
			t.Errorf("IsKeyText(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
