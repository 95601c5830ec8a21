package matter

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// ErrEvidenceNotThere: SetEvidence was asked to point the matter at a
// store that lacks evidence objects the ledger's entries name. The
// matter would then fail verification; the objects must be copied first.
var ErrEvidenceNotThere = errors.New("the new evidence store lacks objects the ledger names")

// Relocation is what SetEvidence found and did.
type Relocation struct {
	// From is the location recorded before, as recorded ("" if none).
	From string `json:"from,omitempty"`
	// To is the location now recorded, normalized.
	To string `json:"to"`
	// Referenced is the number of distinct evidence objects the ledger's
	// entries name; all of them are at To.
	Referenced int `json:"evidence_referenced"`
	// Changed is false when To was already the recorded store.
	Changed bool `json:"changed"`
}

// SetEvidence records loc as the matter's evidence store, for a matter
// whose recorded store is wrong: typically the first export named a store
// and then failed, before or after writing anything. The new store must
// open (so a typo fails here, not at the next export), and every evidence
// object the ledger's entries name must already be there: a matter whose
// evidence was written elsewhere is refused (ErrEvidenceNotThere) until
// that evidence has been copied. Nothing is moved or deleted, and no
// entry is appended: where the evidence lives is not part of what the
// chain vouches for (objects are addressed by their SHA-256, and verify
// re-hashes them wherever they are).
func (m *Matter) SetEvidence(ctx context.Context, loc string) (*Relocation, error) {
	if m.opts.ReadOnly {
		return nil, fmt.Errorf("matter: set evidence: %w", ErrReadOnly)
	}
	reg := m.opts.registry()
	to, err := reg.Normalize(loc)
	if err != nil {
		return nil, err
	}
	dir, err := m.dir()
	if err != nil {
		return nil, err
	}
	recorded, ok, err := m.Ledger.State(ctx, StateEvidence)
	if err != nil {
		return nil, err
	}
	form := recordForm(reg, dir, to)
	r := &Relocation{From: recorded, To: to}
	st, err := reg.Open(ctx, to, m.opts.EvidenceOptions)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	refs, err := referenced(ctx, m.Ledger)
	if err != nil {
		return nil, err
	}
	r.Referenced = len(refs)
	missing, first, err := absent(ctx, st, refs)
	if err != nil {
		return nil, err
	}
	if missing > 0 {
		from := recorded
		if !ok {
			from = "the evidence/ folder beside the ledger"
		}
		return nil, fmt.Errorf("matter: set evidence %s: %w: %d of the %d objects its entries name are not there (e.g. sha256 %s); copy the store from %s first (every file under it), then run this again",
			to, ErrEvidenceNotThere, missing, len(refs), first, from)
	}
	if ok && form == recorded {
		return r, nil
	}
	if err := m.Ledger.SetState(ctx, StateEvidence, form); err != nil {
		return nil, err
	}
	r.Changed = true
	return r, nil
}

// absent counts the objects of refs that st lacks, and names the first
// of them in address order. The store is asked about as many at once as
// it keeps requests in flight (evidence.Parallelism): on S3 or a network
// share each question is a round trip, and a matter names tens of
// thousands of objects.
func absent(ctx context.Context, st evidence.Store, refs map[hashchain.Hash]struct{}) (missing int, first string, err error) {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(evidence.Parallelism(st))
	for sum := range refs {
		g.Go(func() error {
			there, err := st.Exists(gctx, sum)
			if err != nil || there {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if missing == 0 || sum.String() < first {
				first = sum.String()
			}
			missing++
			return nil
		})
	}
	err = g.Wait()
	return missing, first, err
}

// referenced is the set of evidence objects l's entries name.
func referenced(ctx context.Context, l *ledger.Ledger) (map[hashchain.Hash]struct{}, error) {
	out := map[hashchain.Hash]struct{}{}
	for e, err := range l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			return nil, err
		}
		refs, err := e.EvidenceRefs()
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			sum, err := hashchain.ParseHash(ref.SHA256)
			if err != nil {
				return nil, fmt.Errorf("matter: entry %d names evidence %q: %w", e.Seq, ref.SHA256, err)
			}
			out[sum] = struct{}{}
		}
	}
	return out, nil
}
