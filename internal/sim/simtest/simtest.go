// Package simtest starts the Genesys simulator for tests and closes it when
// the test ends, and checks response bodies against the SDK models in
// internal/sim/testdata (Schema), for any package's tests.
package simtest

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/sim"
)

// Start starts a simulator with opts (Addr defaults to a free loopback
// port) and closes it on test cleanup. It fails the test if the server
// cannot start.
func Start(tb testing.TB, opts sim.Options) *sim.Server {
	tb.Helper()
	s, err := sim.Start(context.Background(), opts)
	if err != nil {
		tb.Fatalf("simtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("simtest: close: %v", err)
		}
	})
	return s
}
