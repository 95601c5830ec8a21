package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// Checks a Finding can name. The names are stable: scripts and the JSON
// report rely on them.
const (
	CheckSequence           = "sequence"             // an entry is missing
	CheckRow                = "row"                  // a stored hash has the wrong length, or a leaf is not an entry
	CheckLeafHash           = "leaf_hash"            // leaf bytes do not hash to the stored leaf hash
	CheckChain              = "chain"                // stored chain link does not follow from the previous one
	CheckCheckpointSig      = "checkpoint_signature" // signature missing or invalid for the verifier key
	CheckCheckpointRow      = "checkpoint_row"       // stored size/root columns differ from the signed note
	CheckCheckpointRoot     = "checkpoint_root"      // recomputed root differs from the signed root
	CheckTruncated          = "truncated"            // a checkpoint has more entries than the ledger
	CheckCoverage           = "coverage"             // (warning) entries no checkpoint covers
	CheckEvidence           = "evidence"             // an evidence object is missing, altered or misnamed
	CheckExternalCheckpoint = "external_checkpoint"  // a checkpoint file given to verify is unusable
)

// Finding is one thing verification found wrong (or, with Warning, worth
// knowing but not a failure).
type Finding struct {
	Check      string  `json:"check"`
	Seq        *uint64 `json:"seq,omitempty"`        // the entry it concerns
	Checkpoint string  `json:"checkpoint,omitempty"` // "stored #3" or the file name
	Message    string  `json:"message"`
	Warning    bool    `json:"warning,omitempty"`

	pos int64 // ledger position for ordering: 2*seq for entries, 2*size-1 for checkpoints
}

// String renders the finding as one line: "seq 41: leaf_hash: …".
func (f Finding) String() string {
	var b strings.Builder
	if f.Seq != nil {
		fmt.Fprintf(&b, "seq %d: ", *f.Seq)
	}
	if f.Checkpoint != "" {
		fmt.Fprintf(&b, "checkpoint %s: ", f.Checkpoint)
	}
	b.WriteString(f.Check)
	b.WriteString(": ")
	b.WriteString(f.Message)
	return b.String()
}

// ExternalCheckpoint is a signed checkpoint kept outside the ledger (by
// counsel, beside the evidence, in a production), which the ledger must
// still agree with.
type ExternalCheckpoint struct {
	Name string // for messages, e.g. the file name
	Note []byte // the signed note
}

// Options configures Ledger.
type Options struct {
	// VerifierKey checks checkpoint signatures. Required when the ledger
	// has checkpoints or External is not empty; it must be the ledger's
	// key (named after its origin). Take it from somewhere the ledger's
	// custodian cannot rewrite.
	VerifierKey string
	// External checkpoints the ledger must be consistent with.
	External []ExternalCheckpoint
	// Evidence, when set, is the store whose objects are re-hashed: every
	// object an entry references must be there with the bytes it names.
	Evidence evidence.Store
	// Progress, if set, is called every ProgressEvery entries (default
	// 65,536) and once at the end with the entries done and the total.
	Progress      func(done, total uint64)
	ProgressEvery uint64
	// EvidenceProgress, if set, follows the re-hashing of evidence.
	EvidenceProgress func(done, total int)
	// NoDerive, with Evidence, skips re-deriving leaf fields from the
	// evidence (derive.go): only the objects are re-hashed.
	NoDerive bool
	// MaxFindings caps how many entry findings are kept (default 1,000);
	// Report.Omitted counts the rest.
	MaxFindings int
}

// Report is the outcome of Ledger.
type Report struct {
	Ledger              string    `json:"ledger"`
	Origin              string    `json:"origin"`
	OK                  bool      `json:"ok"`
	Entries             uint64    `json:"entries"`
	Checkpoints         int       `json:"checkpoints"`
	ExternalCheckpoints int       `json:"external_checkpoints"`
	CoveredEntries      uint64    `json:"covered_entries"` // entries under the largest checkpoint whose root holds
	Root                string    `json:"root"`            // recomputed Merkle root of all entries (hex)
	ChainHead           string    `json:"chain_head"`      // recomputed chain link after the last entry (hex)
	Findings            []Finding `json:"findings"`        // failures, in ledger order
	Omitted             int       `json:"findings_omitted,omitempty"`
	Warnings            []Finding `json:"warnings"`
	// Evidence summarises the evidence check; nil when none was asked for.
	Evidence *EvidenceSummary `json:"evidence,omitempty"`
	// Derived summarises the re-derivation of leaf fields from evidence.
	Derived *DerivedSummary `json:"derived,omitempty"`
}

// EvidenceSummary is what the evidence check saw, store by store.
type EvidenceSummary struct {
	Store        string `json:"store"` // the store's URL
	Referenced   int    `json:"referenced"`
	Missing      int    `json:"missing"`
	Altered      int    `json:"altered"`
	Unreferenced int    `json:"unreferenced"`
}

// First returns the first failure in ledger order, or nil.
func (r *Report) First() *Finding {
	if len(r.Findings) == 0 {
		return nil
	}
	return &r.Findings[0]
}

// claim is a root some signed checkpoint commits to at a size.
type claim struct {
	name string // Finding.Checkpoint
	size uint64
	root hashchain.Hash
}

// Ledger checks the whole ledger in one streaming pass over a read-only
// snapshot (a concurrent export may keep appending):
//
//   - entries are numbered 0, 1, 2, … with none missing;
//   - each leaf hashes to its stored leaf hash;
//   - each stored chain link equals ChainLink(previous link, leaf hash);
//   - each stored checkpoint carries a valid signature by VerifierKey, its
//     size and root columns match its signed note, and the Merkle root
//     recomputed from the leaves at its size equals its root (which also
//     makes successive checkpoints consistent with each other);
//   - each external checkpoint is signed, and the ledger has at least its
//     size and the same root at that size (else it was truncated or
//     rewritten);
//   - with Options.Evidence, every evidence object an entry references is
//     in the store and hashes to its name.
//
// Problems are findings in the report (Report.OK false), not errors; the
// error is for what stopped verification itself (I/O, a corrupt database,
// no or the wrong verifier key — ledger.ErrNoVerifierKey, ledger.ErrWrongKey
// — or cancellation). Nothing is written, to the ledger or the store.
func Ledger(ctx context.Context, l *ledger.Ledger, opts Options) (Report, error) {
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = 1 << 16
	}
	if opts.MaxFindings <= 0 {
		opts.MaxFindings = 1000
	}
	rep := Report{Ledger: l.Path(), Origin: l.Origin(), Findings: []Finding{}, Warnings: []Finding{}}
	snap, err := l.Snapshot(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	defer snap.Close()
	total, err := snap.Size(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	stored, err := snap.Checkpoints(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	rep.Checkpoints, rep.ExternalCheckpoints = len(stored), len(opts.External)
	if len(stored)+len(opts.External) > 0 {
		if opts.VerifierKey == "" {
			return rep, fmt.Errorf("verify: %w: the ledger has %d signed checkpoints to check", ledger.ErrNoVerifierKey, len(stored))
		}
		if name, _, _ := strings.Cut(opts.VerifierKey, "+"); name != l.Origin() {
			return rep, fmt.Errorf("verify: %w: the verifier key is named %q, this ledger's origin is %q", ledger.ErrWrongKey, name, l.Origin())
		}
	}

	v := collector{rep: &rep, max: opts.MaxFindings}
	claims := v.checkpointClaims(stored, opts)
	var signedSize uint64 // the largest size any validly signed checkpoint claims
	for _, c := range claims {
		signedSize = max(signedSize, c.size)
	}

	var ev *evidenceCheck
	if opts.Evidence != nil {
		ev = &evidenceCheck{store: opts.Evidence, first: map[hashchain.Hash]uint64{}}
	}
	var dv *deriveCheck
	if opts.Evidence != nil && !opts.NoDerive {
		dv = newDeriveCheck(opts.Evidence)
	}
	var b hashchain.RootBuilder
	checkClaims := func() {
		for len(claims) > 0 && claims[0].size == b.Size() {
			c := claims[0]
			claims = claims[1:]
			if r := b.Root(); r != c.root {
				v.add(Finding{Check: CheckCheckpointRoot, Checkpoint: c.name, pos: 2*int64(c.size) - 1,
					Message: fmt.Sprintf("history rewritten: the root of the first %d entries is %s, but the checkpoint signed %s", c.size, r, c.root)})
			} else if c.size > rep.CoveredEntries {
				rep.CoveredEntries = c.size
			}
		}
	}
	checkClaims()

	var (
		prevChain, computedChain hashchain.Hash
		n                        uint64 // entries read
	)
	for row, err := range snap.Entries(ctx) {
		if err != nil {
			return rep, fmt.Errorf("verify: %w", err)
		}
		s := row.Seq
		if s != b.Size() {
			v.entry(b.Size(), CheckSequence, fmt.Sprintf("entry missing: expected seq %d, the next stored entry is seq %d (entries deleted)", b.Size(), s))
		}
		lh := hashchain.LeafHash(row.Leaf)
		storedLH, storedChain := lh, hashchain.Hash{}
		if len(row.LeafHash) != hashchain.HashSize || len(row.Chain) != hashchain.HashSize {
			v.entry(s, CheckRow, fmt.Sprintf("stored leaf_hash is %d bytes and chain %d bytes, want 32 each", len(row.LeafHash), len(row.Chain)))
			storedChain = hashchain.ChainLink(prevChain, lh)
		} else {
			storedLH, storedChain = hashchain.Hash(row.LeafHash), hashchain.Hash(row.Chain)
		}
		link := hashchain.ChainLink(prevChain, lh)
		switch {
		case lh != storedLH:
			v.entry(s, CheckLeafHash, fmt.Sprintf("the leaf bytes hash to %s, the stored leaf hash is %s (leaf altered)", lh, storedLH))
			// The chain was built on the stored hash; only report it
			// if it is broken on its own.
			if hashchain.ChainLink(prevChain, storedLH) != storedChain {
				v.entry(s, CheckChain, "the stored chain link does not follow from the previous link and the stored leaf hash")
			}
		case link != storedChain:
			v.entry(s, CheckChain, fmt.Sprintf("the stored chain link %s is not ChainLink(previous link, leaf hash) = %s (entry altered, moved, or one before it removed)", storedChain, link))
		}
		// Resynchronise on the stored link so one damaged entry is
		// reported once, not as a break of every entry after it.
		prevChain = storedChain
		computedChain = hashchain.ChainLink(computedChain, lh)
		b.Append(lh)
		checkClaims()
		if ev != nil {
			for _, f := range ev.entry(s, row.Leaf) {
				v.add(f)
			}
		}
		if dv != nil {
			for _, f := range dv.entry(ctx, s, row.Leaf) {
				v.add(f)
			}
		}
		n++
		if opts.Progress != nil && n%opts.ProgressEvery == 0 {
			opts.Progress(n, total)
		}
	}
	if opts.Progress != nil {
		opts.Progress(n, total)
	}
	rep.Entries = n
	rep.Root = b.Root().String()
	rep.ChainHead = computedChain.String()
	for _, c := range claims {
		v.add(Finding{Check: CheckTruncated, Checkpoint: c.name, pos: 1 << 62,
			Message: fmt.Sprintf("ledger truncated: checkpoint has %d entries, ledger has %d", c.size, n)})
	}
	if ev != nil {
		fs, sum, err := ev.finish(ctx, opts.EvidenceProgress)
		if err != nil {
			return rep, fmt.Errorf("verify: %w", err)
		}
		rep.Evidence = sum
		for _, f := range fs {
			v.add(f)
		}
	}
	if dv != nil {
		rep.Derived = dv.summary()
	}
	// Coverage is about what was signed; whether the signed roots still
	// hold is reported above as findings.
	switch {
	case len(stored) == 0 && len(opts.External) == 0 && n > 0:
		rep.Warnings = append(rep.Warnings, Finding{Check: CheckCoverage, Warning: true,
			Message: "no signed checkpoint: only the hash chain vouches for the entries (run custody checkpoint)"})
	case signedSize < n:
		rep.Warnings = append(rep.Warnings, Finding{Check: CheckCoverage, Warning: true,
			Message: fmt.Sprintf("entries %d to %d are not covered by a signed checkpoint yet (run custody checkpoint)", signedSize, n-1)})
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool { return rep.Findings[i].pos < rep.Findings[j].pos })
	rep.OK = len(rep.Findings) == 0 && rep.Omitted == 0
	return rep, nil
}

// checkpointClaims checks each stored and external checkpoint's signature
// (and a stored one's columns against its note) and returns the roots the
// valid ones claim, smallest size first.
func (v *collector) checkpointClaims(stored []ledger.StoredCheckpoint, opts Options) []claim {
	var claims []claim
	for _, c := range stored {
		name := fmt.Sprintf("stored #%d", c.ID)
		pos := 2*int64(c.Size) - 1
		cp, err := hashchain.VerifyCheckpoint(c.Note, opts.VerifierKey)
		if err != nil {
			v.add(Finding{Check: CheckCheckpointSig, Checkpoint: name, pos: pos,
				Message: fmt.Sprintf("signature does not verify with the verifier key (re-signed with another key, or its text altered): %v", err)})
			continue
		}
		if cp.Size != c.Size || cp.Root != c.Root {
			v.add(Finding{Check: CheckCheckpointRow, Checkpoint: name, pos: pos,
				Message: fmt.Sprintf("stored size %d / root %s differ from the signed note's size %d / root %s", c.Size, c.Root, cp.Size, cp.Root)})
		}
		claims = append(claims, claim{name: name, size: cp.Size, root: cp.Root})
	}
	for _, x := range opts.External {
		cp, err := hashchain.VerifyCheckpoint(x.Note, opts.VerifierKey)
		if err != nil {
			v.add(Finding{Check: CheckExternalCheckpoint, Checkpoint: x.Name, pos: -1,
				Message: fmt.Sprintf("cannot use it: %v", err)})
			continue
		}
		claims = append(claims, claim{name: x.Name, size: cp.Size, root: cp.Root})
	}
	sort.SliceStable(claims, func(i, j int) bool { return claims[i].size < claims[j].size })
	return claims
}

// collector gathers findings, capping entry findings.
type collector struct {
	rep *Report
	max int
}

func (v *collector) add(f Finding) {
	if f.Warning {
		v.rep.Warnings = append(v.rep.Warnings, f)
		return
	}
	if f.Seq != nil && len(v.rep.Findings) >= v.max {
		v.rep.Omitted++
		return
	}
	v.rep.Findings = append(v.rep.Findings, f)
}

func (v *collector) entry(seq uint64, check, msg string) {
	v.add(Finding{Check: check, Seq: &seq, Message: msg, pos: 2 * int64(seq)})
}
