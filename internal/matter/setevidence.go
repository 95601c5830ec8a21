package matter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// ErrEvidenceNotThere: SetEvidence was asked to point the matter at a
// store that lacks evidence objects the ledger's entries name, other than
// those an erasure deleted. The
// matter would then fail verification; the objects must be copied first.
var ErrEvidenceNotThere = errors.New("the new evidence store lacks objects the ledger names")

// Relocation is what SetEvidence found and did.
type Relocation struct {
	// From is the location recorded before, as recorded ("" if none).
	From string `json:"from,omitempty"`
	// To is the location now recorded, normalized.
	To string `json:"to"`
	// Referenced is the number of distinct evidence objects the ledger's
	// entries name; all of them are at To but the Erased.
	Referenced int `json:"evidence_referenced"`
	// Erased is the number of those that are not at To because an
	// erasure deleted them: absent, and excused as verify --evidence
	// excuses them (erasure.Excuses).
	Erased int `json:"evidence_erased"`
	// Changed is false when To was already the recorded store.
	Changed bool `json:"changed"`
}

// SetEvidence records loc as the matter's evidence store, for a matter
// whose recorded store is wrong: typically the first export named a store
// and then failed, before or after writing anything. The new store must
// open (so a typo fails here, not at the next export), and every evidence
// object the ledger's entries name must already be there but those an
// erasure deleted (as verify --evidence counts them erased: notErased): a
// matter whose evidence was written elsewhere is refused
// (ErrEvidenceNotThere) until that evidence has been copied, and a
// matter with erasures can still move, since verify finds the objects it
// deleted absent everywhere without fault. Nothing is moved or deleted, and no
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
	gone, err := absent(ctx, st, refs)
	if err != nil {
		return nil, err
	}
	missing, erased, err := m.notErased(ctx, gone)
	if err != nil {
		return nil, err
	}
	r.Erased = erased
	if len(missing) > 0 {
		from := recorded
		if !ok {
			from = "the evidence/ folder beside the ledger"
		}
		eg := missing[0].Sum.String()
		if missing[0].Why != "" {
			eg += ": " + missing[0].Why
		}
		besides := ""
		if erased > 0 {
			besides = fmt.Sprintf(" (besides the %d an erasure deleted)", erased)
		}
		return nil, fmt.Errorf("matter: set evidence %s: %w: %d of the %d objects its entries name are not there%s (e.g. sha256 %s); copy the store from %s first (every file under it), then run this again",
			to, ErrEvidenceNotThere, len(missing), len(refs), besides, eg, from)
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

// absent returns, in address order, the objects of refs that st lacks.
// The store is asked about as many at once as it keeps requests in
// flight (evidence.Parallelism): on S3 or a network share each question
// is a round trip, and a matter names tens of thousands of objects.
func absent(ctx context.Context, st evidence.Store, refs map[hashchain.Hash]struct{}) ([]hashchain.Hash, error) {
	var mu sync.Mutex
	var out []hashchain.Hash
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
			out = append(out, sum)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) })
	return out, nil
}

// notErased returns the objects of gone, absent from a store, that are
// missing from it: those no erasure excuses, by the rule verify
// --evidence counts an object as erased by (erasure.Excuses), and how
// many it excuses. An erasure entry vouches for itself only through a
// checkpoint signed for it with the key the ledger was created with (as
// erase asks); whether that checkpoint's root holds is verify's to say.
func (m *Matter) notErased(ctx context.Context, gone []hashchain.Hash) ([]erasure.Missing, int, error) {
	if len(gone) == 0 {
		return nil, 0, nil
	}
	controls, err := m.Ledger.Controls(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("matter: set evidence: %w", err)
	}
	var x erasure.Excuses
	for i := range controls {
		x.Add(&controls[i])
	}
	vouched, err := m.Ledger.VouchedErasures(ctx, m.Ledger.VerifierKey())
	if err != nil {
		return nil, 0, fmt.Errorf("matter: set evidence: %w", err)
	}
	return x.Split(gone, vouched, func(want map[hashchain.Hash]bool) (map[hashchain.Hash][]erasure.Ref, error) {
		snap, err := m.Ledger.Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		defer snap.Close()
		refs := erasure.NewReferences(want)
		for row, err := range snap.Entries(ctx) {
			if err != nil {
				return nil, fmt.Errorf("matter: set evidence: %w", err)
			}
			refs.Add(row.Seq, row.Leaf)
		}
		return refs.Refs(), nil
	})
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
