package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// Recall is a later erasure entry that lists a recorded report or
// production among the outputs to recall (custody erase; its detail's
// outputs): the file's bytes still verify, but it holds, or may hold,
// content erased since, and is not to be relied on as it is.
type Recall struct {
	Erasure uint64 `json:"erasure_seq"`
	At      string `json:"erased_at"` // the erasure entry's time (RFC 3339)
	Reason  string `json:"reason"`
	Why     string `json:"why"` // what of the erasure the output holds, as the entry says
	// Signed: a signed checkpoint covers the erasure entry. One that none
	// covers is what anyone who can write the ledger file can append: it
	// is said, and does not make the output recalled.
	Signed bool `json:"signed"`
}

func (r Recall) String() string {
	s := fmt.Sprintf("erasure entry %d of %s (reason %q) lists it for recall: %s", r.Erasure, r.At, r.Reason, r.Why)
	if !r.Signed {
		s += "; no signed checkpoint covers that erasure entry, so nothing vouches for it"
	}
	return s
}

// recalls returns the erasure entries after the output entry seq, of
// kind (leaf.KindReport or leaf.KindProduction), that list it for
// recall. signed is how many entries a signed checkpoint covers: an
// erasure entry below it is Signed. An erasure entry whose detail does
// not decode lists nothing (verify's strict-leaf check reports it).
func recalls(ctx context.Context, l *ledger.Ledger, kind string, seq, signed uint64) ([]Recall, error) {
	var out []Recall
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindErasure, FromSeq: seq + 1}) {
		if err != nil {
			return nil, fmt.Errorf("verify: erasure entries: %w", err)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			continue
		}
		for _, o := range d.(*leaf.ErasureDetail).Outputs {
			if o.Seq == seq && o.Kind == kind {
				out = append(out, Recall{Erasure: e.Seq, At: e.At.UTC().Format(time.RFC3339), Reason: d.(*leaf.ErasureDetail).Reason,
					Why: o.Why, Signed: e.Seq < signed})
				break
			}
		}
	}
	return out, nil
}

// signedSize is the size of the latest stored checkpoint whose signature
// verifies with key (0: none), for a check that does not walk the whole
// ledger (verify --production): its root is Ledger's to check.
func signedSize(ctx context.Context, l *ledger.Ledger, key string) (uint64, error) {
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if cp, err := hashchain.VerifyCheckpoint(cps[i].Note, key); err == nil {
			return cp.Size, nil
		}
	}
	return 0, nil
}

// recalled reports whether a signed erasure entry is among rs.
func recalled(rs []Recall) bool {
	for _, r := range rs {
		if r.Signed {
			return true
		}
	}
	return false
}
