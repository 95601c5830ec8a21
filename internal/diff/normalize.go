package diff

import (
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// emptyContentHash is the hash of a message without text.
var emptyContentHash = genesys.ContentHash("")

// precisionUnit is the time unit the last of digits fractional digits stands for.
func precisionUnit(digits int) time.Duration {
	u := time.Second
	for range min(digits, 9) {
		u /= 10
	}
	return u
}
