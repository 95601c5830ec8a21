package evidence

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/hashchain"
)

// ReadOnly wraps s so that Put, PutFile and Delete fail with ErrReadOnly. Read-only
// commands (verify, log, prove) open their store through it, so "never
// writes" holds whatever the backend, without trusting each caller.
func ReadOnly(s Store) Store { return readOnly{s} }

type readOnly struct{ Store }

func (r readOnly) Put(context.Context, []byte) (Ref, error) {
	return Ref{}, fmt.Errorf("evidence: put in %s: %w", r.URL(), ErrReadOnly)
}

func (r readOnly) PutFile(_ context.Context, name string, _ []byte) error {
	return fmt.Errorf("evidence: put file %s in %s: %w", name, r.URL(), ErrReadOnly)
}

func (r readOnly) Delete(_ context.Context, sum hashchain.Hash) error {
	return fmt.Errorf("evidence: delete %s in %s: %w", sum, r.URL(), ErrReadOnly)
}

// Open streams an object when the wrapped store can (Opener), and reads
// it whole through Get when it cannot: readOnly hides the wrapped store's
// other methods, so it forwards this one.
func (r readOnly) Open(ctx context.Context, sum hashchain.Hash) (io.ReadCloser, error) {
	if o, ok := r.Store.(Opener); ok {
		return o.Open(ctx, sum)
	}
	b, err := r.Get(ctx, sum)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
