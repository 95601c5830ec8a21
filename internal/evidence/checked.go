package evidence

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/custodyhq/custody/internal/hashchain"
)

// Check says whether b is the object stored at sum: nil when it hashes
// to sum, else an error matching ErrCorrupt that names what it hashes to.
// Get does not re-hash (Verify does, once for every object); a reader
// that shows content, or decides on it, checks what it read with Check
// or reads with GetChecked, so that altered bytes are never taken for
// evidence.
func Check(sum hashchain.Hash, b []byte) error {
	if got := hashchain.Hash(sha256.Sum256(b)); got != sum {
		return fmt.Errorf("evidence %s: %w (its bytes hash to %s): altered or damaged since it was stored", Key(sum), ErrCorrupt, got)
	}
	return nil
}

// GetChecked is s.Get followed by Check: the object at sum, or an error
// (fs.ErrNotExist when absent, ErrCorrupt when its bytes are not what
// its address says, ErrTooLarge).
func GetChecked(ctx context.Context, s Store, sum hashchain.Hash) ([]byte, error) {
	b, err := s.Get(ctx, sum)
	if err != nil {
		return nil, err
	}
	if err := Check(sum, b); err != nil {
		return nil, err
	}
	return b, nil
}
