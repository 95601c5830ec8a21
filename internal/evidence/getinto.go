package evidence

import (
	"context"

	"github.com/custodyhq/custody/internal/hashchain"
)

// GetIntoer is implemented by stores that can read an object into the
// caller's buffer (the folder store), for a reader of many small objects
// in turn: the diff reads one v3 opening per captured message. Same
// limits and errors as Get.
type GetIntoer interface {
	GetInto(ctx context.Context, sum hashchain.Hash, buf []byte) ([]byte, error)
}

// GetInto reads through the wrapped store's GetInto when it has one
// (readOnly hides the wrapped store's other methods, so it forwards
// this one), else through Get.
func (r readOnly) GetInto(ctx context.Context, sum hashchain.Hash, buf []byte) ([]byte, error) {
	if g, ok := r.Store.(GetIntoer); ok {
		return g.GetInto(ctx, sum, buf)
	}
	return r.Get(ctx, sum)
}
