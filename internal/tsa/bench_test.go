package tsa_test

import (
	"context"
	"testing"

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
