package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
)

// ProdCheckErased: a message the manifest lists as erased is produced
// all the same, or (with the ledger) the entry it names is not an
// erasure of it.
const ProdCheckErased = "erased"

// checkErased checks the manifest's erased list: no message both listed
// and produced; with the ledger, each listed message's erasure entry is
// an erasure that erased it (status erased) or deleted its response body
// (body_erased), a stored checkpoint signed by the key vouches for that
// erasure (its "erasure <seq>" line: an erasure entry alone is what
// anyone who can write the ledger file can append, and would make a
// production leave a message out), and its seq and leaf hash are its
// entry's. A production
// made before an erasure holds messages erased since: that is not a
// finding (the production is what was produced then). The error is a
// ledger that could not be read (or ctx's end), not a finding: a Ctrl-C
// must not read as a production that fails, nor as one whose erased list
// was all checked.
func (r *ProductionReport) checkErased(ctx context.Context, man *production.Manifest, o ProductionOptions) error {
	r.Erased = len(man.Erased)
	produced := make(map[string]bool, len(man.Messages))
	for _, m := range man.Messages {
		produced[m.ConversationID+"/"+m.MessageID] = true
	}
	erasures := map[uint64]*leaf.ErasureDetail{}
	var vouched map[uint64]bool     // read at the first erased message, with the ledger
	unproven := map[uint64]string{} // erasure entries no signed root holds, and why
	var prover *erasureProver       // made at the first erasure entry, with the ledger
	for _, e := range man.Erased {
		if err := ctx.Err(); err != nil {
			return err
		}
		if produced[e.ConversationID+"/"+e.MessageID] {
			r.fail(ProdCheckErased, production.ManifestFile, "message %s is listed as erased and produced", e.MessageID)
		}
		if e.Status != production.StatusErased && e.Status != production.StatusBodyErased {
			r.fail(ProdCheckErased, production.ManifestFile, "message %s: erased status %q", e.MessageID, e.Status)
			continue
		}
		if o.Ledger == nil {
			continue
		}
		me, err := o.Ledger.Entry(ctx, e.Seq)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return fmt.Errorf("verify: production: %w", err)
		}
		if err != nil || me.Kind != leaf.KindMessage || me.MessageID != e.MessageID || me.ConversationID != e.ConversationID || me.LeafHash.String() != e.LeafHash {
			r.fail(ProdCheckErased, production.ManifestFile, "message %s: entry %d is not its capture with leaf hash %s", e.MessageID, e.Seq, e.LeafHash)
			continue
		}
		d, ok := erasures[e.ErasureSeq]
		if !ok {
			ee, err := o.Ledger.Entry(ctx, e.ErasureSeq)
			if err != nil && !errors.Is(err, ledger.ErrNotFound) {
				return fmt.Errorf("verify: production: %w", err)
			}
			if err == nil && ee.Kind == leaf.KindErasure {
				if dd, err := leaf.DecodeDetail(ee.Kind, ee.Detail); err == nil {
					d = dd.(*leaf.ErasureDetail)
				}
				if prover == nil {
					if prover, err = newErasureProver(ctx, o.Ledger); err != nil {
						return err
					}
				}
				if why, err := prover.proved(ctx, o, ee); err != nil {
					return err
				} else if why != "" {
					unproven[e.ErasureSeq] = why
				}
			}
			erasures[e.ErasureSeq] = d
		}
		if d == nil {
			r.fail(ProdCheckErased, production.ManifestFile, "message %s: entry %d is not an erasure", e.MessageID, e.ErasureSeq)
			continue
		}
		if vouched == nil {
			if vouched, err = o.Ledger.VouchedErasures(ctx, o.VerifierKey); err != nil {
				return fmt.Errorf("verify: production: %w", err)
			}
		}
		if !vouched[e.ErasureSeq] {
			r.fail(ProdCheckErased, production.ManifestFile, "message %s: no signed checkpoint vouches for erasure entry %d (if it is genuine, the signer key's holder runs 'custody checkpoint --erasure %d')", e.MessageID, e.ErasureSeq, e.ErasureSeq)
		} else if why := unproven[e.ErasureSeq]; why != "" {
			r.fail(ProdCheckErased, production.ManifestFile, "message %s: erasure entry %d is not the entry the signed checkpoints hold (%s): the ledger was changed since ('custody verify' names how)", e.MessageID, e.ErasureSeq, why)
		}
		var named bool
		switch e.Status {
		case production.StatusErased:
			named = slices.Contains(d.Messages, e.MessageID) || slices.Contains(d.Conversations, e.ConversationID)
		case production.StatusBodyErased:
			named = slices.Contains(d.Collateral, e.MessageID) || (!me.EvidenceSHA256.IsZero() && slices.Contains(d.Erased, me.EvidenceSHA256.String()))
		}
		if !named {
			r.fail(ProdCheckErased, production.ManifestFile, "message %s: erasure entry %d does not name it (%s)", e.MessageID, e.ErasureSeq, e.Status)
		}
	}
	return nil
}

// erasureProver proves the erasure entries a production names over the
// leaf hashes of the ledger read once: each proof of Ledger.Prove reads
// every leaf hash again, and a production may name many erasure entries
// of a large ledger.
type erasureProver struct {
	// tree is over the leaf hashes of the latest stored checkpoint, the
	// one each erasure entry it covers is proved against; nil when there
	// is none, or its hashes could not be read (a damaged ledger: each
	// proof then reads them, and says why it fails).
	tree *hashchain.Tree
}

// newErasureProver reads the leaf hashes the proofs need; the error is a
// ledger that could not be read, or ctx's end.
func newErasureProver(ctx context.Context, l *ledger.Ledger) (*erasureProver, error) {
	cp, ok, err := l.LatestCheckpoint(ctx)
	var hashes []hashchain.Hash
	if err == nil && ok {
		hashes, err = l.LeafHashes(ctx, cp.Size)
	}
	switch {
	case errors.Is(err, ledger.ErrInconsistent), errors.Is(err, ledger.ErrNotFound), errors.Is(err, ledger.ErrCorrupt):
		return &erasureProver{}, nil // each proof says what is wrong
	case err != nil:
		return nil, fmt.Errorf("verify: production: %w", err)
	case !ok:
		return &erasureProver{}, nil // each proof: no checkpoint covers it
	}
	return &erasureProver{tree: hashchain.NewTree(hashes)}, nil
}

// proved proves the erasure entry ee, as read from the ledger, against
// the latest signed checkpoint covering it: a vouching checkpoint names
// the entry by its seq, and only a signed root pins what that entry says.
// It returns why it does not hold ("" when it does); the error is a
// ledger that could not be read, or ctx's end.
func (pr *erasureProver) proved(ctx context.Context, o ProductionOptions, ee leaf.Entry) (string, error) {
	p, err := o.Ledger.ProveIn(ctx, ee.Seq, pr.tree)
	switch {
	case errors.Is(err, ledger.ErrInconsistent), errors.Is(err, ledger.ErrNotCovered):
		return err.Error(), nil
	case err != nil:
		return "", fmt.Errorf("verify: production: %w", err)
	}
	if _, err := p.Verify(o.VerifierKey); err != nil {
		return err.Error(), nil
	}
	if !bytes.Equal(p.Leaf, ee.Leaf) {
		return "its leaf changed while it was read", nil
	}
	return "", nil
}
