package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// Checks a Finding can name. The names are stable: scripts and the JSON
// report rely on them.
const (
	CheckIdentity           = "identity"             // the verifier key is named for another ledger's origin
	CheckDamaged            = "damaged"              // SQLite cannot read part of the ledger file
	CheckSequence           = "sequence"             // an entry is missing
	CheckRow                = "row"                  // a stored hash has the wrong length, or a hashed column is not a BLOB
	CheckLeafHash           = "leaf_hash"            // leaf bytes do not hash to the stored leaf hash
	CheckChain              = "chain"                // stored chain link does not follow from the previous one
	CheckIJSON              = "i_json"               // a leaf is not I-JSON (UTF-8, surrogates, numbers below 2^53)
	CheckDuplicate          = "duplicate_member"     // an object in a leaf names a member twice
	CheckCanonical          = "canonical"            // a leaf's bytes are not its RFC 8785 form
	CheckEntry              = "entry"                // a leaf is not a custody entry object
	CheckCheckpointID       = "checkpoint_id"        // stored checkpoint ids not 1, 2, 3, … or sizes decreasing
	CheckCheckpointSig      = "checkpoint_signature" // signature missing or invalid for the verifier key
	CheckCheckpointRow      = "checkpoint_row"       // stored size/root columns differ from the signed note
	CheckCheckpointRoot     = "checkpoint_root"      // recomputed root differs from the signed root
	CheckTruncated          = "truncated"            // a checkpoint has more entries than the ledger
	CheckEvidence           = "evidence"             // an evidence object is missing, altered or misnamed
	CheckExternalCheckpoint = "external_checkpoint"  // a checkpoint file given to verify is unusable
	// CheckVerifierKey (a warning, which custody verify adds): the key
	// checked with is the custody.pub beside the ledger, the copy's own.
	CheckVerifierKey = "verifier_key"
)

// structural lists the checks of the ledger's own structure. Each is
// reported once, at its first failure in ledger order; later failures of
// the same check, and the failures that follow from an earlier break
// (see collector), are counted on that finding instead of listed. The
// other checks (evidence) list every failure.
var structural = map[string]bool{
	CheckIdentity: true, CheckDamaged: true, CheckSequence: true, CheckRow: true, CheckLeafHash: true,
	CheckChain: true, CheckIJSON: true, CheckDuplicate: true, CheckCanonical: true, CheckEntry: true,
	CheckCheckpointID: true, CheckCheckpointSig: true, CheckCheckpointRow: true, CheckCheckpointRoot: true,
	CheckTruncated: true, CheckExternalCheckpoint: true,
}

// entryCheck reports whether check judges one entry (its finding names a
// seq): a break at that entry, which later checkpoint failures follow from.
func entryCheck(check string) bool {
	switch check {
	case CheckDamaged, CheckSequence, CheckRow, CheckLeafHash, CheckChain, CheckIJSON, CheckDuplicate, CheckCanonical, CheckEntry:
		return true
	}
	return false
}

// leafCheck maps a leaf.CheckLeaf error to its check.
func leafCheck(err error) string {
	switch {
	case errors.Is(err, leaf.ErrNotIJSON):
		return CheckIJSON
	case errors.Is(err, leaf.ErrDuplicateMember):
		return CheckDuplicate
	case errors.Is(err, leaf.ErrNotCanonical):
		return CheckCanonical
	}
	return CheckEntry
}

// Finding is one thing verification found wrong (or, with Warning, worth
// knowing but not a failure).
type Finding struct {
	Check      string  `json:"check"`
	Seq        *uint64 `json:"seq,omitempty"`        // the entry it concerns
	Checkpoint string  `json:"checkpoint,omitempty"` // "stored #3" or the file name
	Message    string  `json:"message"`
	Warning    bool    `json:"warning,omitempty"`
	// ConsequentEntries and ConsequentCheckpoints count the later
	// failures this one accounts for, which are not listed: failures of
	// the same check further on, and those that follow from this break
	// (docs/ledger-format.md, "One break, one finding").
	ConsequentEntries     int `json:"consequent_entries,omitempty"`
	ConsequentCheckpoints int `json:"consequent_checkpoints,omitempty"`
	// ConsequentEvidence counts the evidence objects counted missing
	// because the checkpoints that vouched for the erasure listing them
	// fail with this break: erased, had the ledger held.
	ConsequentEvidence int `json:"consequent_evidence,omitempty"`

	pos     int64 // ledger position for ordering: 2*seq for entries, 2*size-1 for checkpoints
	lastSeq int64 // the last entry counted in ConsequentEntries (distinct entries only)
	// cause, on an evidence finding, names the failed checkpoint it
	// follows from (claim.name): it is counted where that failure is.
	cause string
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
	if f.ConsequentEntries+f.ConsequentCheckpoints > 0 {
		var parts []string
		if n := f.ConsequentEntries; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "entry", "entries")))
		}
		if n := f.ConsequentCheckpoints; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "checkpoint", "checkpoints")))
		}
		fmt.Fprintf(&b, "; and %s after it fail because of it", strings.Join(parts, " and "))
	}
	if n := f.ConsequentEvidence; n > 0 {
		and := "; and"
		if f.ConsequentEntries+f.ConsequentCheckpoints > 0 {
			and = ", and"
		}
		fmt.Fprintf(&b, "%s %d evidence %s as missing because of it (the checkpoints vouching for %s erasure fail with it)",
			and, n, plural(n, "object counts", "objects count"), plural(n, "its", "their"))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ExternalCheckpoint is a signed checkpoint kept outside the ledger (by
// counsel, beside the evidence, in a production), which the ledger must
// still agree with.
type ExternalCheckpoint struct {
	Name string // for messages, e.g. the file name
	Note []byte // the signed note, as read from its file (see CheckpointFileNote)
}

// CheckpointFileNote is the signed note a checkpoint file holds, as
// docs/ledger-format.md ("Checkpoint files") says a verifier reads it: a
// checkpoint handed over by e-mail or saved by a Windows editor arrives
// with CRLF line endings, or without its final newline, and neither
// changes what was signed. So every CRLF becomes LF and a missing final
// LF is added; nothing else is changed (a lone CR, a blank line after the
// signatures or a trailing space still make the note malformed). Stored
// checkpoints and proof files are read exactly as they are.
func CheckpointFileNote(b []byte) []byte {
	out := bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	if len(out) == 0 || out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
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
	// ConversationMemory is how many conversation objects' message id
	// sets re-derivation keeps at once (0: 4,096); an older one is read
	// again when a message needs it. Tests make it small.
	ConversationMemory int
	// TSARoots, when set, is the root bundle the checkpoints' timestamp
	// tokens must chain to, one the verifier trusts: the times of the
	// tokens that do are proven. Without it tokens are checked for
	// imprint and signature, and chained to MatterTSARoots when set, and
	// the times they state are claims, not proven (a warning says so).
	TSARoots *x509.CertPool
	// MatterTSARoots are the roots the matter itself names (its tsa_roots
	// setting), used only without TSARoots: whoever can change the ledger
	// file can change them, so a token chaining to them proves nothing
	// to an auditor (CheckpointTime.Roots is RootsMatter, Chained false);
	// a token that does not is a timestamp failure all the same.
	MatterTSARoots *x509.CertPool
	// Witnesses are witness verifier keys (C2SP tlog-cosignature,
	// Ed25519); with them the latest stored checkpoint must carry valid
	// cosignatures by WitnessThreshold of them (0: all).
	Witnesses        []string
	WitnessThreshold int
	// MaxFindings caps how many entry findings are kept (default 1,000);
	// Report.Omitted counts the rest.
	MaxFindings int
	// ErasePending is the journal an erase cut short left beside the
	// ledger (erasure.ReadPending), nil when none: reported
	// (Report.EraseCutShort), and each missing object it names is
	// labelled as deleted by that erase. It excuses nothing: an
	// unrecorded deletion fails verification until recorded.
	ErasePending *erasure.Pending
}

// Report is the outcome of Ledger.
type Report struct {
	Ledger string `json:"ledger"`
	Origin string `json:"origin"`
	// VerifierKey is the NAME+HASH of the key the checkpoints were
	// checked with, and VerifierKeyFrom where it came from (set by the
	// command): an auditor compares them with the key received apart.
	VerifierKey     string `json:"verifier_key,omitempty"`
	VerifierKeyFrom string `json:"verifier_key_from,omitempty"`
	// OK is the verdict: every check holds and a signed checkpoint
	// covers every entry (Unsigned nil).
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
	// Unsigned, when not nil, is the entries no signed checkpoint covers:
	// then OK is false even when every check holds (custody verify exits
	// 4, UNSIGNED).
	Unsigned *Unsigned `json:"unsigned,omitempty"`
	// runs is what the pass's entries say of the runs and the matter's
	// name (runStateWarnings compares custody's state with it).
	runs *RunEntries
	// listings are the listing pages the derive check read (nil without
	// it), for runStateWarnings.
	listings map[hashchain.Hash]*listingPage
	// EraseCutShort is the erase cut short whose journal is beside the
	// ledger (Options.ErasePending); nil when none.
	EraseCutShort *CutShortErase `json:"erase_cut_short,omitempty"`
	// Evidence summarises the evidence check; nil when none was asked for.
	Evidence *EvidenceSummary `json:"evidence,omitempty"`
	// Derived summarises the re-derivation of leaf fields from evidence.
	Derived *DerivedSummary `json:"derived,omitempty"`
	// CheckpointTimes is, per stored checkpoint with a good timestamp
	// token, the earliest time its tokens state it existed (proven only
	// when chained to Options.TSARoots: CheckpointTime.Chained).
	CheckpointTimes []CheckpointTime `json:"checkpoint_times,omitempty"`
	// Witnessed lists the given witnesses' cosignatures per checkpoint.
	Witnessed []WitnessStatus `json:"witnessed,omitempty"`
	// ReportFile is what verify --report found of a report file.
	ReportFile *ReportMatch `json:"report_file,omitempty"`
	// Unchecked are the parts verify could not check, for a reason that
	// is not the ledger's integrity (the evidence store or the --report
	// file could not be read): said beside what was checked, never
	// dropped with it. Holds is false while any is (nothing said of
	// them); custody verify exits 1 when the checks that ran hold.
	Unchecked []Unchecked `json:"unchecked,omitempty"`
}

// Unchecked is a check verify could not make: Check is what it is of
// (CheckEvidence, CheckReport), Error why.
type Unchecked struct {
	Check string `json:"check"`
	Error string `json:"error"`
}

func (u Unchecked) String() string { return u.Check + ": not checked: " + u.Error }

// Incomplete returns an error naming the first check verify could not
// make (nil when it made them all), for a caller that must not go on
// without it: custody report would certify evidence it never read.
func (r *Report) Incomplete() error {
	if len(r.Unchecked) == 0 {
		return nil
	}
	return fmt.Errorf("verify: %s", r.Unchecked[0])
}

// EvidenceSummary is what the evidence check saw, store by store.
type EvidenceSummary struct {
	Store        string `json:"store"` // the store's URL
	Referenced   int    `json:"referenced"`
	Missing      int    `json:"missing"`
	Altered      int    `json:"altered"`
	Unreferenced int    `json:"unreferenced"`
	// UnreferencedAltered counts the unreferenced objects that do not
	// hash to their address: failures, not leftovers of a run.
	UnreferencedAltered int `json:"unreferenced_altered"`
	// CheckpointCopies counts the checkpoint copies beside the evidence
	// (checkpoints/<size>.note) checked against the ledger.
	CheckpointCopies int `json:"checkpoint_copies"`
	// Foreign names every file in the store that is not custody's
	// (misplaced objects included), Temporary every temporary file of an
	// unfinished write: warnings, not read.
	Foreign   []string `json:"foreign,omitempty"`
	Temporary []string `json:"temporary,omitempty"`
	// Erased counts referenced objects absent because an erasure entry
	// a signed checkpoint vouches for deleted them (custody erase;
	// erased.go): not failures. ErasedConversations and ErasedMessages
	// are what those erasure entries name; ErasureEntries are their seqs.
	Erased              int      `json:"erased"`
	ErasedConversations []string `json:"erased_conversations,omitempty"`
	ErasedMessages      []string `json:"erased_messages,omitempty"`
	ErasureEntries      []uint64 `json:"erasure_entries,omitempty"`
	// MissingObjects and AlteredObjects are the referenced objects
	// counted in Missing and Altered, for a caller that says which
	// records depend on each (custody report, section 7); not written
	// out, the findings name them.
	MissingObjects []hashchain.Hash   `json:"-"`
	AlteredObjects []evidence.Altered `json:"-"`
	// Unreadable counts the objects, referenced or not, the store could
	// not read (an I/O error, a refused request): not checked, each
	// named in Report.Unchecked (the first few) and here.
	Unreadable        int              `json:"unreadable"`
	UnreadableObjects []hashchain.Hash `json:"unreadable_objects,omitempty"`
	// Unjudged counts the referenced objects absent from the store that
	// an erasure entry a signed checkpoint vouches for lists, which the
	// ledger, read again to judge them, could not be: neither missing
	// nor erased, given no verdict (in NotChecked; Report.Unchecked
	// says why).
	Unjudged int `json:"unjudged,omitempty"`
	// NotChecked counts the referenced objects given no verdict: the
	// unreadable ones, the unjudged ones, and, when the check stopped
	// early (Stopped; Report.Unchecked says why), those it never
	// reached. The counts above are of what it reached.
	NotChecked int `json:"not_checked"`
	// Stopped: the check ended early (a store it could not read, 64
	// objects in a row, or could not list): the store was not listed,
	// so Unreferenced and UnreferencedAltered count nothing, and the
	// JSON leaves them out (MarshalJSON).
	Stopped bool `json:"stopped,omitempty"`
}

// MarshalJSON writes the summary, without unreferenced and
// unreferenced_altered when the check stopped early: what was not
// checked is not shown as a count (review-commits7 L2: "unreferenced":
// 0 for a store never listed).
func (s EvidenceSummary) MarshalJSON() ([]byte, error) {
	type plain EvidenceSummary
	b, err := json.Marshal(plain(s))
	if err != nil || !s.Stopped {
		return b, err
	}
	// The two members are ints, each followed by another: a string
	// value cannot hold these bytes (its quotes are escaped).
	b = bytes.Replace(b, fmt.Appendf(nil, `"unreferenced":%d,`, s.Unreferenced), nil, 1)
	b = bytes.Replace(b, fmt.Appendf(nil, `"unreferenced_altered":%d,`, s.UnreferencedAltered), nil, 1)
	return b, nil
}

// Unsigned is the entries at the end of the ledger that no valid signed
// checkpoint covers (stored, or kept outside and given to verify): only
// the hash chain vouches for them, and whoever can write the ledger file
// can rewrite the chain. A run cut short leaves such entries, and so does
// anyone who appends to the file; nothing tells them apart.
type Unsigned struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
	// NoCheckpoint: the ledger has no checkpoint at all, and none was
	// given.
	NoCheckpoint bool   `json:"no_checkpoint,omitempty"`
	Message      string `json:"message"`
}

// Range names the entries: "entry 7" or "entries 7 to 9".
func (u Unsigned) Range() string {
	if u.First == u.Last {
		return fmt.Sprintf("entry %d", u.First)
	}
	return fmt.Sprintf("entries %d to %d", u.First, u.Last)
}

// String says what an unsigned tail means, for an auditor: not advice to
// sign it, which would vouch for whatever was appended.
func (u Unsigned) String() string {
	none := ""
	if u.NoCheckpoint {
		none = " (the ledger has no signed checkpoint at all)"
	}
	are, them := "are", "them"
	if u.First == u.Last {
		are, them = "is", "it"
	}
	return fmt.Sprintf("%s %s covered by no signed checkpoint%s: only the hash chain vouches for %s, and whoever can write the ledger file can write the chain too. If custody wrote %s (a run cut short), the custodian signs %s with custody checkpoint; otherwise nothing vouches for %s",
		u.Range(), are, none, them, them, them, them)
}

// Holds reports whether every check that ran holds: no failure, though
// entries may be unsigned (Unsigned). A caller that signs a checkpoint
// right after verifying (custody report) asks this; OK is the verdict.
func (r *Report) Holds() bool { return len(r.Findings) == 0 && r.Omitted == 0 && len(r.Unchecked) == 0 }

// Settle sets OK from the findings, Unsigned and ReportFile (a report
// file a signed erasure entry recalls is not OK either): a caller that
// adds a finding or a report file settles it again.
func (r *Report) Settle() {
	r.OK = r.Holds() && r.Unsigned == nil && (r.ReportFile == nil || !r.ReportFile.IsRecalled())
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
	// erasure is the seq of the erasure entry the checkpoint vouches for
	// (its "erasure <seq>" line), when hasErasure.
	hasErasure bool
	erasure    uint64
}

// Ledger checks the whole ledger in one streaming pass over a read-only
// snapshot (a concurrent export may keep appending):
//
//   - the verifier key is named for the ledger's origin;
//   - stored checkpoints have ids 1, 2, 3, … with none missing, and sizes
//     that never decrease;
//   - entries are numbered 0, 1, 2, … with none missing;
//   - each leaf is strict (leaf.CheckLeaf: I-JSON, no duplicate member,
//     RFC 8785 bytes, a custody entry) and hashes to its stored leaf hash;
//   - each stored chain link equals ChainLink(previous stored link, stored
//     leaf hash);
//   - each stored checkpoint carries a valid signature by VerifierKey, its
//     size and root columns match its signed note, and the Merkle root
//     recomputed from the leaves at its size equals its root (which also
//     makes successive checkpoints consistent with each other);
//   - each external checkpoint is signed, and the ledger has at least its
//     size and the same root at that size (else it was truncated or
//     rewritten);
//   - with Options.Evidence, every evidence object an entry references is
//     in the store and hashes to its name, or is absent and excused by an
//     erasure entry a validated signed checkpoint covers (erased.go);
//     every object nothing references hashes to its name too; every
//     checkpoint copy beside the evidence is signed, named for its size,
//     and its root holds; and what else the store holds is named
//     (sidefiles.go).
//
// Problems are findings in the report (Report.OK false), not errors: a
// key named for another ledger and a ledger file SQLite reports damaged
// are findings too. The error is for what stopped verification itself
// (I/O, no verifier key — ledger.ErrNoVerifierKey — or cancellation).
// Nothing is written, to the ledger or the store.
func Ledger(ctx context.Context, l *ledger.Ledger, opts Options) (Report, error) {
	rep, rehash, err := ledgerPass(ctx, l, opts, true)
	if err == nil && rehash {
		// A leaf does not hash to its stored leaf hash, which the pass
		// built the roots and the chain head from while it checked them
		// beside (off the walk's core): verify again with the leaf hashes
		// computed in the walk, so that the report — roots, findings and
		// what follows from them — is the leaves' own.
		rep, _, err = ledgerPass(ctx, l, opts, false)
	}
	if err == nil {
		err = runStateWarnings(ctx, l, opts.Evidence, &rep) // runtables.go
	}
	return rep, err
}

// ledgerPass is one pass of Ledger. With deferHash, the walk takes each
// well-formed row's stored leaf hash as its leaf's and the strict stage
// checks it; rehash reports that one differed (the report is then not
// the leaves' and must be made again without deferHash).
func ledgerPass(ctx context.Context, l *ledger.Ledger, opts Options, deferHash bool) (_ Report, rehash bool, _ error) {
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = 1 << 16
	}
	if opts.MaxFindings <= 0 {
		opts.MaxFindings = 1000
	}
	rep := Report{Ledger: l.Path(), Origin: l.Origin(), Findings: []Finding{}, Warnings: []Finding{}}
	if p := opts.ErasePending; p != nil {
		rep.EraseCutShort = &CutShortErase{Journal: erasure.PendingPath(l.Path()), Command: p.Command,
			Started: p.Started.UTC().Format(time.RFC3339), Conversations: p.Conversations, Messages: p.Messages, Objects: len(p.Objects)}
	}
	snap, err := l.Snapshot(ctx)
	if err != nil {
		return rep, false, fmt.Errorf("verify: %w", err)
	}
	defer snap.Close()
	v := collector{rep: &rep, max: opts.MaxFindings, first: map[string]*Finding{}}
	// damaged turns an error SQLite reports as corruption into a finding.
	damaged := func(err error, what string, seq *uint64) bool {
		if !errors.Is(err, ledger.ErrCorrupt) {
			return false
		}
		f := Finding{Check: CheckDamaged, Seq: seq, pos: -3,
			Message: fmt.Sprintf("the ledger file is damaged: SQLite cannot read %s: %v", what, err)}
		if seq != nil {
			f.pos = 2 * int64(*seq)
		}
		v.add(f)
		return true
	}
	total, err := snap.Size(ctx)
	if err != nil && !damaged(err, "the number of entries", nil) {
		return rep, false, fmt.Errorf("verify: %w", err)
	}
	stored, err := snap.Checkpoints(ctx)
	if err != nil && !damaged(err, "the checkpoints", nil) {
		return rep, false, fmt.Errorf("verify: %w", err)
	}
	rep.Checkpoints, rep.ExternalCheckpoints = len(stored), len(opts.External)
	var side *sideFiles
	if opts.Evidence != nil {
		// The checkpoint copies beside the evidence are read first: their
		// roots are checked in the pass, as outside checkpoints' are.
		if side, err = readSideFiles(ctx, opts.Evidence); err != nil {
			return rep, false, fmt.Errorf("verify: %w", err)
		}
	}
	if len(stored)+len(opts.External) > 0 && opts.VerifierKey == "" {
		return rep, false, fmt.Errorf("verify: %w: the ledger has %d signed checkpoints to check", ledger.ErrNoVerifierKey, len(stored))
	}
	if side != nil && len(side.copies) > 0 && opts.VerifierKey == "" {
		return rep, false, fmt.Errorf("verify: %w: the evidence store holds %d checkpoint copies to check", ledger.ErrNoVerifierKey, len(side.copies))
	}
	if name, _, _ := strings.Cut(opts.VerifierKey, "+"); opts.VerifierKey != "" && name != l.Origin() {
		// A ledger rebuilt under another identity, or the wrong key: a
		// finding, and the checks go on, so that checkpoints kept
		// outside (signed by this key) are still compared.
		v.add(Finding{Check: CheckIdentity, pos: -4,
			Message: fmt.Sprintf("the verifier key is named %q, but this ledger's origin is %q: the ledger was rebuilt under another identity, or the key is another ledger's (%v)", name, l.Origin(), ledger.ErrWrongKey)})
	}

	claims, keyFailures := v.checkpointClaims(stored, opts, l.Origin())
	if side != nil {
		claims = append(claims, v.copyClaims(side, stored, opts.VerifierKey, l.Origin())...)
		sort.SliceStable(claims, func(i, j int) bool { return claims[i].size < claims[j].size })
	}
	var signedSize uint64 // the largest size any validly signed checkpoint claims
	for _, c := range claims {
		signedSize = max(signedSize, c.size)
	}

	var ev *evidenceCheck
	var dv *deriveCheck
	if opts.Evidence != nil {
		ev = newEvidenceCheck(ctx, opts.Evidence, side, opts.EvidenceProgress, !opts.NoDerive)
		if !opts.NoDerive {
			dv = newDeriveCheck(opts.Evidence, ev.pre, opts.ConversationMemory)
		}
	}
	var b hashchain.RootBuilder
	vouched := map[uint64]bool{} // erasure entries a checkpoint whose root holds vouches for
	// broken: erasure entries a checkpoint vouches for whose root fails
	// (or that the ledger is too short for), and the first such.
	broken := map[uint64]claim{}
	breaks := func(c claim) {
		if _, ok := broken[c.erasure]; c.hasErasure && !ok {
			broken[c.erasure] = c
		}
	}
	checkClaims := func() {
		for len(claims) > 0 && claims[0].size == b.Size() {
			c := claims[0]
			claims = claims[1:]
			if r := b.Root(); r != c.root {
				v.add(Finding{Check: CheckCheckpointRoot, Checkpoint: c.name, pos: 2*int64(c.size) - 1,
					Message: fmt.Sprintf("history rewritten: the root of the first %d entries is %s, but the checkpoint signed %s", c.size, r, c.root)})
				breaks(c)
			} else {
				rep.CoveredEntries = max(rep.CoveredEntries, c.size)
				if c.hasErasure {
					vouched[c.erasure] = true
				}
			}
		}
	}
	checkClaims()

	// The leaf stage checks each leaf strictly and, with evidence, reads
	// its references; the derive stage follows it (pipeline.go).
	var ls *leafStage
	var strict *strictLeaves
	sup := newSupersedesCheck()
	sup.runs = NewRunEntries()
	sup.runs.captures = map[string]uint64{}
	// For verify --report (MatchReportFile): the entries as the pass read them.
	sup.runs.outputs = &outputsSeen{}
	sup.cols = newColumnsCheck() // columns.go
	if ev != nil {
		ls = &leafStage{ev: ev, sup: sup}
		if dv != nil {
			ls.derive = newDeriveStage(ctx, dv)
		}
		strict = newStrictLeaves(ls.each, ls.end, nil)
	} else {
		strict = newStrictLeaves(nil, nil, sup)
	}
	defer func() {
		// On an early return: stop the hashing first, so that the stages
		// do not wait for it, then the stages.
		if ev != nil {
			ev.abort()
		}
		if ls != nil && ls.derive != nil {
			ls.derive.abandon.Store(true)
		}
		strict.finish()
		if ls != nil && ls.derive != nil {
			<-ls.derive.done
		}
		if ev != nil {
			ev.close() // after the leaf stage, which queues references
		}
	}()
	var (
		prevChain, computedChain hashchain.Hash
		n                        uint64 // entries read
		lastSeq                  int64  = -1
	)
	for row, err := range snap.EntriesFingerprinted(ctx, sup.cols.key) {
		if err != nil {
			if seq := b.Size(); damaged(err, fmt.Sprintf("the entries from seq %d on", seq), &seq) {
				break
			}
			return rep, false, fmt.Errorf("verify: %w", err)
		}
		s := row.Seq
		switch {
		case s == b.Size():
		case v.first[CheckSequence] == nil:
			v.entry(b.Size(), CheckSequence, fmt.Sprintf("entry missing: expected seq %d, the next stored entry is seq %d (entries deleted)", b.Size(), s))
		default:
			v.consequence(CheckSequence, s) // every entry after a gap is out of place
		}
		gap := int64(s) != lastSeq+1 // entries are missing right before this one
		lastSeq = int64(s)
		wellFormed := len(row.LeafHash) == hashchain.HashSize && len(row.Chain) == hashchain.HashSize
		var lh hashchain.Hash
		sup.cols.row(s, row.ColumnsFP) // columns.go
		if deferHash && wellFormed {
			lh = hashchain.Hash(row.LeafHash) // checked by the strict stage
			strict.add(s, row.Leaf, true, lh)
		} else {
			lh = hashchain.LeafHash(row.Leaf)
			strict.add(s, row.Leaf, false, hashchain.Hash{})
		}
		storedLH, storedChain := lh, hashchain.Hash{}
		if row.Types != "" {
			// The same bytes, read as they are, but not the row custody
			// wrote: its STRICT table refuses anything but a BLOB.
			v.entry(s, CheckRow, fmt.Sprintf("leaf, leaf_hash and chain are stored as %s, not as BLOBs (the table's STRICT was taken off)", row.Types))
		}
		if !wellFormed {
			v.entry(s, CheckRow, fmt.Sprintf("stored leaf_hash is %d bytes and chain %d bytes, want 32 each", len(row.LeafHash), len(row.Chain)))
			storedChain = hashchain.ChainLink(prevChain, lh)
		} else {
			storedLH, storedChain = hashchain.Hash(row.LeafHash), hashchain.Hash(row.Chain)
		}
		if lh != storedLH {
			v.entry(s, CheckLeafHash, fmt.Sprintf("the leaf bytes hash to %s, the stored leaf hash is %s (leaf altered)", lh, storedLH))
		}
		// The chain links the stored leaf hashes: one altered leaf is a
		// leaf_hash failure, not a chain failure too.
		link := hashchain.ChainLink(prevChain, storedLH)
		if link != storedChain {
			if gap {
				// Its predecessor is gone: this follows from the gap.
				v.consequence(CheckSequence, s)
			} else {
				v.entry(s, CheckChain, fmt.Sprintf("the stored chain link %s is not ChainLink(previous link, leaf hash) = %s (entry altered, moved, or one before it removed)", storedChain, link))
			}
		}
		// The chain of the leaves as read: while it has not parted from
		// the stored one (the usual case), its next link is the one just
		// computed, the same hash of the same bytes; one hash an entry
		// is the walk's, not two.
		if computedChain == prevChain && lh == storedLH {
			computedChain = link
		} else {
			computedChain = hashchain.ChainLink(computedChain, lh)
		}
		// Resynchronise on the stored link so one damaged entry is
		// reported once, not as a break of every entry after it.
		prevChain = storedChain
		b.Append(lh)
		checkClaims()
		n++
		if opts.Progress != nil && n%opts.ProgressEvery == 0 {
			opts.Progress(n, total)
		}
	}
	if opts.Progress != nil {
		opts.Progress(n, total)
	}
	for _, bad := range strict.finish() {
		v.entry(bad.seq, leafCheck(bad.err), bad.err.Error())
	}
	cfs, err := sup.cols.finish(ctx, snap, v.first[CheckDamaged] != nil)
	if err != nil && !damaged(err, "the lookup columns and the message index", nil) {
		return rep, false, fmt.Errorf("verify: %w", err)
	}
	for _, f := range cfs {
		v.add(f)
	}
	if ls != nil {
		var dfs []Finding
		if ls.derive != nil {
			<-ls.derive.done
			dfs = ls.derive.fs
		}
		for _, f := range mergeFindings(ls.fs, dfs) {
			v.add(f)
		}
	}
	rep.Entries = n
	rep.Root = b.Root().String()
	rep.ChainHead = computedChain.String()
	for _, c := range claims {
		v.add(Finding{Check: CheckTruncated, Checkpoint: c.name, pos: 1 << 62,
			Message: fmt.Sprintf("ledger truncated: checkpoint has %d entries, ledger has %d", c.size, n)})
		breaks(c)
	}
	if ev != nil {
		fs, sum, unread, err := ev.finish(ctx, snap, vouched, stored)
		if sum != nil {
			// (A damaged ledger or a cancel met here wins over a store
			// that stopped the check.)
			if bv := brokenVouch(ctx, ev, snap, vouched, broken, stored, sum, fs); bv != nil && (err == nil || errors.Is(bv, ledger.ErrCorrupt)) {
				err = bv
			}
		}
		switch {
		case err != nil && (ctx.Err() != nil || errors.Is(err, ledger.ErrCorrupt)):
			return rep, false, fmt.Errorf("verify: %w", err)
		case err != nil:
			// The store could not be read (an I/O error, S3 unreachable),
			// or, judging again after a break, the ledger (brokenVouch
			// says so): the ledger's own checks stand, and what the evidence check
			// found until then (a failure found is a failure), said with
			// this beside them, first (what stderr names). The store's
			// errors begin "evidence: ", which Check says.
			unread = append([]Unchecked{{Check: CheckEvidence, Error: strings.TrimPrefix(err.Error(), CheckEvidence+": ")}}, unread...)
		}
		rep.Unchecked = append(rep.Unchecked, unread...)
		rep.Evidence = sum
		if rep.EraseCutShort != nil && sum != nil && !sum.Stopped {
			rep.EraseCutShort.Missing = labelCutShort(fs, opts.ErasePending, rep.EraseCutShort.Journal)
			rep.EraseCutShort.Checked = true
		}
		for _, f := range fs {
			v.add(f)
		}
	}
	if dv != nil {
		rep.Derived = dv.summary()
		rep.listings = dv.listings
	}
	if err := checkAttestations(ctx, snap, stored, opts, &rep, &v); err != nil {
		if !damaged(err, "the checkpoints' timestamps and cosignatures", nil) {
			return rep, false, fmt.Errorf("verify: %w", err)
		}
	}
	// Coverage is about what was signed; whether the signed roots still
	// hold is reported above as findings. A checkpoint that fails the key
	// check is a finding too: the entries it was to cover are not
	// unsigned, they fail.
	if keyFailures == 0 && signedSize < n {
		rep.Unsigned = &Unsigned{First: signedSize, Last: n - 1, NoCheckpoint: signedSize == 0 && len(stored)+len(opts.External) == 0}
		rep.Unsigned.Message = rep.Unsigned.String()
	}
	v.finish()
	rep.runs = sup.runs // complete: strict.finish waited for the leaf stage
	return rep, strict.rehash, nil
}

// checkpointClaims checks the stored checkpoints' ids, each stored and
// external checkpoint's signature (and a stored one's columns against
// its note) and returns the roots the valid ones claim, smallest size
// first, and how many stored checkpoints failed the signature check.
func (v *collector) checkpointClaims(stored []ledger.StoredCheckpoint, opts Options, origin string) (_ []claim, keyFailures int) {
	var claims []claim
	var wantID int64 = 1
	var prevSize uint64
	for _, c := range stored {
		name := fmt.Sprintf("stored #%d", c.ID)
		pos := 2*int64(c.Size) - 1
		if c.ID != wantID {
			missing := fmt.Sprintf("stored #%d", wantID)
			if c.ID > wantID+1 {
				missing = fmt.Sprintf("stored #%d to #%d", wantID, c.ID-1)
			}
			v.add(Finding{Check: CheckCheckpointID, Checkpoint: missing, pos: pos,
				Message: fmt.Sprintf("checkpoint missing: the stored checkpoint after #%d is #%d (checkpoint rows deleted)", wantID-1, c.ID)})
		}
		wantID = c.ID + 1
		if c.Size < prevSize {
			v.add(Finding{Check: CheckCheckpointID, Checkpoint: name, pos: pos,
				Message: fmt.Sprintf("size %d is smaller than the size %d of the checkpoint before it (checkpoints reordered)", c.Size, prevSize)})
		}
		prevSize = max(prevSize, c.Size)
		cp, err := hashchain.VerifyCheckpoint(c.Note, opts.VerifierKey)
		if err != nil {
			keyFailures++
			v.add(Finding{Check: CheckCheckpointSig, Checkpoint: name, pos: pos,
				Message: fmt.Sprintf("signature does not verify with the verifier key (re-signed with another key, or its text altered): %v", err)})
			continue
		}
		if cp.Size != c.Size || cp.Root != c.Root {
			v.add(Finding{Check: CheckCheckpointRow, Checkpoint: name, pos: pos,
				Message: fmt.Sprintf("stored size %d / root %s differ from the signed note's size %d / root %s", c.Size, c.Root, cp.Size, cp.Root)})
		}
		claims = append(claims, claim{name: name, size: cp.Size, root: cp.Root, hasErasure: cp.HasErasure, erasure: cp.Erasure})
	}
	for _, x := range opts.External {
		note := CheckpointFileNote(x.Note)
		cp, err := hashchain.VerifyCheckpoint(note, opts.VerifierKey)
		if err != nil {
			msg := fmt.Sprintf("cannot use it: %v", err)
			if body, perr := ledger.NoteCheckpoint(note); perr == nil && body.Origin != origin {
				msg = fmt.Sprintf("it is a checkpoint of %q, but this ledger's origin is %q: the ledger was rebuilt under another identity, or the checkpoint is another ledger's (%v)", body.Origin, origin, err)
			}
			v.add(Finding{Check: CheckExternalCheckpoint, Checkpoint: x.Name, pos: -1, Message: msg})
			continue
		}
		claims = append(claims, claim{name: x.Name, size: cp.Size, root: cp.Root, hasErasure: cp.HasErasure, erasure: cp.Erasure})
	}
	sort.SliceStable(claims, func(i, j int) bool { return claims[i].size < claims[j].size })
	return claims, keyFailures
}

// collector gathers findings. Structural checks are reported once each,
// at their first failure; it counts on that finding, instead of listing
// them:
//
//   - later failures of the same check;
//   - a checkpoint's root or truncation failure when an entry finding
//     comes before it (the checkpoint covers a broken entry);
//   - the chain link of the entry right after missing ones (counted on
//     the sequence finding: its predecessor is gone);
//   - stored checkpoints' signature failures when the key is named for
//     another origin (counted on the identity finding);
//   - evidence objects counted missing because the checkpoints that
//     vouched for their erasure fail (brokenVouch): counted where those
//     checkpoints' failures are.
//
// Other findings (evidence) are listed, at most max of those naming an
// entry.
type collector struct {
	rep    *Report
	max    int
	list   []*Finding
	first  map[string]*Finding // the reported finding of each structural check
	entry0 *Finding            // the first entry finding, if any
	// covering holds checkpoint root and truncation failures until
	// finish, which counts them on an entry finding before them;
	// dependent, the evidence findings that follow from one of them
	// (Finding.cause), counted where it is.
	covering  []Finding
	dependent []Finding
	n         int // findings naming an entry that are not structural
}

func (v *collector) add(f Finding) {
	if f.Warning {
		v.rep.Warnings = append(v.rep.Warnings, f)
		return
	}
	if f.cause != "" {
		v.dependent = append(v.dependent, f)
		return
	}
	if !structural[f.Check] {
		if f.Seq != nil && v.n >= v.max {
			v.rep.Omitted++
			return
		}
		if f.Seq != nil {
			v.n++
		}
		v.list = append(v.list, &f)
		return
	}
	if f.Check == CheckCheckpointRoot || f.Check == CheckTruncated {
		// Decided at finish, when every entry finding is known.
		v.covering = append(v.covering, f)
		return
	}
	var to *Finding
	switch {
	case f.Check == CheckCheckpointSig && v.first[CheckIdentity] != nil:
		to = v.first[CheckIdentity]
	default:
		to = v.first[f.Check]
	}
	if to != nil {
		v.count(to, f.Seq)
		return
	}
	f.lastSeq = -1
	if f.Seq != nil {
		f.lastSeq = int64(*f.Seq)
	}
	v.first[f.Check] = &f
	if entryCheck(f.Check) && (v.entry0 == nil || f.pos < v.entry0.pos) {
		v.entry0 = &f
	}
	v.list = append(v.list, &f)
}

// count adds one consequent failure, of the entry seq or (nil) of a
// checkpoint, to f; an entry counts once.
func (v *collector) count(f *Finding, seq *uint64) {
	switch {
	case seq == nil:
		f.ConsequentCheckpoints++
	case int64(*seq) > f.lastSeq:
		f.ConsequentEntries++
		f.lastSeq = int64(*seq)
	}
}

// consequence counts the entry seq on check's finding.
func (v *collector) consequence(check string, seq uint64) {
	if f := v.first[check]; f != nil {
		v.count(f, &seq)
	}
}

func (v *collector) entry(seq uint64, check, msg string) {
	v.add(Finding{Check: check, Seq: &seq, Message: msg, pos: 2 * int64(seq)})
}

// finish puts the findings into the report in ledger order.
func (v *collector) finish() {
	counted := map[string]*Finding{} // checkpoint → the finding its failure is
	for _, f := range v.covering {
		// A checkpoint over an entry already reported follows from it
		// (an entry finding before a checkpoint's position names a seq
		// the checkpoint covers; truncation is past every entry).
		switch to := v.first[f.Check]; {
		case v.entry0 != nil && v.entry0.pos < f.pos:
			v.count(v.entry0, nil)
			counted[f.Checkpoint] = v.entry0
		case to != nil:
			v.count(to, nil)
			counted[f.Checkpoint] = to
		default:
			f.lastSeq = -1
			v.first[f.Check] = &f
			v.list = append(v.list, &f)
			counted[f.Checkpoint] = &f
		}
	}
	for _, f := range v.dependent {
		if to := counted[f.cause]; to != nil {
			to.ConsequentEvidence++
			continue
		}
		f.cause = "" // (not expected) listed as any evidence finding
		v.add(f)
	}
	sort.SliceStable(v.list, func(i, j int) bool { return v.list[i].pos < v.list[j].pos })
	for _, f := range v.list {
		v.rep.Findings = append(v.rep.Findings, *f)
	}
	v.rep.Settle()
}
