package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/hashchain"
)

// Check says whether b is the object stored at sum: nil when it hashes
// to sum, else an error matching ErrCorrupt that names what it hashes to.
// Get does not re-hash (Verify does, once for every object); a reader
// that shows content, or decides on it, checks what it read with Check
// or reads with GetChecked, so that altered bytes are never taken for
// evidence.
func Check(sum hashchain.Hash, b []byte) error {
	return checkSum(sum, sha256.Sum256(b))
}

// checkSum is Check for bytes already hashed to got.
func checkSum(sum, got hashchain.Hash) error {
	if got != sum {
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

// CheckStored says whether the object stored at sum still hashes to
// sum, without keeping its bytes: hashed as a stream when s is an Opener
// (an attachment need not fit in memory), else read whole with Get. It
// returns nil, an error matching ErrCorrupt, or the read's error
// (fs.ErrNotExist when absent).
func CheckStored(ctx context.Context, s Store, sum hashchain.Hash) error {
	got, err := hashObject(ctx, s, sum, make([]byte, hashBufSize))
	if err != nil {
		return err
	}
	return checkSum(sum, got)
}

// GetCheckedUpTo is GetChecked for a reader that wants an object only
// when it is at most max bytes: it checks the whole object against sum
// and returns its bytes with whole true, or, for a larger one, nil and
// false, having hashed it as a stream (a store that is an Opener; any
// other is read whole, within its size limit) rather than held it.
func GetCheckedUpTo(ctx context.Context, s Store, sum hashchain.Hash, max int64) ([]byte, bool, error) {
	o, ok := s.(Opener)
	if !ok {
		b, err := GetChecked(ctx, s, sum)
		if err != nil || int64(len(b)) > max {
			return nil, false, err
		}
		return b, true, nil
	}
	rc, err := o.Open(ctx, sum)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	d := sha256.New()
	var b bytes.Buffer
	if _, err := io.Copy(io.MultiWriter(d, &b), io.LimitReader(rc, max+1)); err != nil {
		return nil, false, fmt.Errorf("evidence: read %s: %w", Key(sum), err)
	}
	whole := int64(b.Len()) <= max
	if !whole {
		b = bytes.Buffer{}
		if _, err := io.Copy(d, rc); err != nil {
			return nil, false, fmt.Errorf("evidence: read %s: %w", Key(sum), err)
		}
	}
	if err := checkSum(sum, hashchain.Hash(d.Sum(nil))); err != nil {
		return nil, false, err
	}
	if !whole {
		return nil, false, nil
	}
	return b.Bytes(), true, nil
}
