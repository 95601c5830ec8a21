// Package backends is the table of evidence store backends custody is
// built with: one line per backend. It is the only package that imports
// them all, so that internal/evidence (the contract) imports none of them
// and each backend imports only the contract.
//
// Adding a backend: write internal/evidence/NAME (a type implementing
// evidence.Backend, and a test running internal/evidence/storetest against
// it), add one line to New, and describe its scheme and flags in
// docs/evidence.md.
package backends

import (
	"context"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/evidence/s3store"
)

// New returns a registry of every backend, each with its options at their
// defaults. Its AddFlags declares the backends' flags, bound to those
// options; a command builds one registry and keeps it.
func New() *evidence.Registry {
	return evidence.NewRegistry(
		folder.New(),
		s3store.New(s3store.Options{}),
	)
}

// Open opens the store at location with default backend options: for
// programs and tests that have no flags to apply.
func Open(ctx context.Context, location string, opts evidence.Options) (evidence.Store, error) {
	return New().Open(ctx, location, opts)
}
