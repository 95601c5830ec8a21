package diff

import (
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
)

func TestEmptyContentHash(t *testing.T) {
	if emptyContentHash != genesys.ContentHash("") {
		t.Error("emptyContentHash is not the hash of empty text")
	}
}
