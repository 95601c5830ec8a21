package tsa_test

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/tsa"
)

// BenchmarkVerify: checking one stored token with its chain (verify does
// this once per token).
func BenchmarkVerify(b *testing.B) {
	s, err := tsasim.Start(tsasim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	imprint := tsa.Imprint([]byte("note"))
	tok, err := (&tsa.Client{}).Timestamp(context.Background(), s.URL, imprint)
	if err != nil {
		b.Fatal(err)
	}
	roots, _ := tsa.ParseRoots(s.RootPEM)
	b.ResetTimer()
	for b.Loop() {
		if _, err := tsa.Verify(tok, imprint, roots); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyNoRoots: imprint and signature only (verify without
// --tsa-roots), beside BenchmarkVerify's full chain check.
func BenchmarkVerifyNoRoots(b *testing.B) {
	s, err := tsasim.Start(tsasim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	imprint := tsa.Imprint([]byte("note"))
	tok, err := (&tsa.Client{}).Timestamp(context.Background(), s.URL, imprint)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := tsa.Verify(tok, imprint, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckpointSignature is the baseline: the Ed25519 signature
// check verify already makes once per stored checkpoint.
func BenchmarkCheckpointSignature(b *testing.B) {
	skey, vkey, err := hashchain.GenerateKey("custody/bench")
	if err != nil {
		b.Fatal(err)
	}
	note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: "custody/bench", Size: 1, Root: hashchain.LeafHash([]byte("x"))}, skey)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := hashchain.VerifyCheckpoint(note, vkey); err != nil {
			b.Fatal(err)
		}
	}
}
