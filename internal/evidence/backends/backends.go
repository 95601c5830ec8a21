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
