package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A witness key is given inline or as a file; a name with '/' and base64
// with '/' and '+' must not be taken for a path.
func TestReadKeyArg(t *testing.T) {
	const key = "counsel.example/w1+52110d21+BKYbX3j3CcNpCGZkd/hTc7ZXjtE+Q05Uj2CxiaZ2L9Oh"
	if got, err := readKeyArg("witness", key); err != nil || got != key {
		t.Fatalf("inline: %q, %v", got, err)
	}
	f := filepath.Join(t.TempDir(), "w.pub")
	os.WriteFile(f, []byte(key+"\n"), 0o644)
	if got, err := readKeyArg("witness", f); err != nil || got != key {
		t.Fatalf("file: %q, %v", got, err)
	}
	if _, err := readKeyArg("witness", filepath.Join(t.TempDir(), "missing.pub")); err == nil {
		t.Fatal("a missing file that is not a key was accepted")
	}
	if _, err := readWitnessKey("PRIVATE+KEY+w+00000000+AQ=="); err == nil {
		t.Fatal("a signer key was accepted as a witness verifier key")
	}
}
