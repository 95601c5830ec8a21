package produce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/verify"
)

// A production into OUT is built in a folder beside it,
// .OUT.produce-HEX.building (HEX: 16 random hex digits); in the write
// transaction that appends its production entry it is renamed
// .OUT.produce-HEX.entry-SEQ (outDir.claim), and once finished, onto OUT.
// Versions before the claim named it .OUT.produce-HEX throughout.
const (
	buildingSuffix = ".building"
	entryInfix     = ".entry-"
)

// claimKey is the state key naming the folder (its base name) that the
// production entry seq was appended for, set in the same transaction.
func claimKey(seq uint64) string { return production.ClaimKey(seq) }

// tempPrefix is how the name of every folder a production into out is
// built in begins.
func tempPrefix(out string) string { return "." + filepath.Base(out) + ".produce-" }

// ErrUnfinished: an earlier run into the same --out left a production
// that this run cannot finish nor remove without a person's decision
// (the message says which and why); nothing was changed.
var ErrUnfinished = errors.New("produce: an earlier production into this folder is unfinished")

// leftover is a folder, named as produce names its temporary folders for
// the same --out and in the same parent, that an earlier run left.
type leftover struct {
	path    string
	claimed bool   // .entry-SEQ
	legacy  bool   // named by a version before the claim
	seq     uint64 // of the claim, or proved by a legacy folder's proof
	// man is its manifest.json's bytes (nil: none, or unreadable).
	man []byte
	sum string // SHA-256 of man
}

// parseLeftover reports whether name is one of produce's temporary
// folders for the --out whose tempPrefix is prefix, and which.
func parseLeftover(prefix, name string) (leftover, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) < 16 {
		return leftover{}, false
	}
	hx, tail := rest[:16], rest[16:]
	for _, c := range hx {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return leftover{}, false
		}
	}
	switch {
	case tail == "":
		return leftover{legacy: true}, true
	case tail == buildingSuffix:
		return leftover{}, true
	}
	digits, ok := strings.CutPrefix(tail, entryInfix)
	if !ok {
		return leftover{}, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || strconv.FormatUint(seq, 10) != digits {
		return leftover{}, false
	}
	return leftover{claimed: true, seq: seq}, true
}

// vacant reports whether out does not exist or is an empty folder: where
// a production can still be put.
func vacant(out string) bool {
	fi, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil || !fi.IsDir() {
		return false
	}
	ents, err := os.ReadDir(out)
	return err == nil && len(ents) == 0
}

// leftovers is what resume found beside --out.
type leftovers struct {
	done    *Result  // a recorded production it finished
	removed []string // folders never recorded, removed
	kept    []string // folders it cannot tell are this matter's, left alone
}

// resume looks, when --out is vacant, for the folders earlier runs into
// the same --out left in its parent, and
//
//   - finishes the one that was recorded (its production entry was
//     appended, and the run stopped before the production was in place):
//     the checkpoint over its entry if none covers it, production.proof.json,
//     verify --production's checks, the rename onto --out; nothing is
//     recorded;
//   - removes those of this matter that were never recorded;
//   - leaves alone those it cannot tell are this matter's (another
//     matter producing into the same path: its origin is in the files).
//
// It changes nothing, and returns ErrUnfinished, when it cannot tell what
// a folder of this matter is: recorded by a version before the claim, or
// recorded but damaged, or more than one recorded. The caller holds the
// matter's writer lock, so no run of this matter is building them.
func resume(ctx context.Context, d Deps, o Options) (*leftovers, error) {
	found := &leftovers{}
	out := filepath.Clean(o.Out)
	if o.Out == "" || !vacant(out) {
		return found, nil
	}
	parent := filepath.Dir(out)
	ents, err := os.ReadDir(parent)
	if err != nil {
		return found, nil // prepareOut says what is wrong with it
	}
	prefix := tempPrefix(out)
	var recorded, stale []leftover
	var problems []string
	for _, e := range ents {
		lo, ok := parseLeftover(prefix, e.Name())
		if !ok {
			continue
		}
		lo.path = filepath.Join(parent, e.Name())
		if e.Type() != fs.ModeDir { // a link, a file: not a folder produce made
			found.kept = append(found.kept, lo.path)
			continue
		}
		if !ours(lo.path, d.Ledger.Origin()) {
			found.kept = append(found.kept, lo.path)
			continue
		}
		st, why, err := examine(ctx, d.Ledger, &lo)
		if err != nil {
			return nil, err
		}
		switch st {
		case recordedState:
			recorded = append(recorded, lo)
		case unrecordedState:
			stale = append(stale, lo)
		default:
			problems = append(problems, why)
		}
	}
	if len(recorded) > 1 {
		var names []string
		for _, r := range recorded {
			names = append(names, fmt.Sprintf("%s (production entry %d)", r.path, r.seq))
		}
		problems = append(problems, fmt.Sprintf("%d recorded productions were left unfinished for %s: %s; move all but one aside and run produce again to finish it",
			len(recorded), out, strings.Join(names, ", ")))
	}
	if len(recorded) == 1 {
		if why := sameRequest(d, o, recorded[0]); why != "" {
			problems = append(problems, why)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s; nothing was changed", ErrUnfinished, strings.Join(problems, "; "))
	}
	for _, s := range stale {
		if err := os.RemoveAll(s.path); err != nil {
			return nil, fmt.Errorf("produce: remove %s, left by an earlier run and never recorded: %w", s.path, err)
		}
		found.removed = append(found.removed, s.path)
		// Its staging line, if it has one: best effort, as in abort.
		_ = d.Ledger.Update(ctx, func(tx *ledger.Tx) error { return setStaging(tx, s.path, false) })
	}
	if len(recorded) == 1 {
		res, err := finish(ctx, d, o, out, recorded[0])
		if err != nil {
			return nil, err
		}
		found.done = res
	}
	return found, nil
}

// ours reports whether the folder at dir is provably this matter's: its
// manifest, else its checkpoint file, else its verifier key names origin.
// A folder that holds none of them (one killed as it was made) is not.
// Each is read only if it is a regular file in the folder: a link is not
// followed, nor a FIFO waited on, whatever was there when it was listed.
func ours(dir, origin string) bool {
	if b, err := fsinfo.ReadRegularNoFollow(filepath.Join(dir, production.ManifestFile), production.MaxManifest); err == nil {
		var m struct {
			Origin string `json:"origin"`
		}
		if json.Unmarshal(b, &m) == nil && m.Origin != "" {
			return m.Origin == origin
		}
	}
	if b, err := fsinfo.ReadRegularNoFollow(filepath.Join(dir, filepath.FromSlash(production.CheckpointFile)), 1<<20); err == nil {
		if cp, err := ledger.NoteCheckpoint(b); err == nil {
			return cp.Origin == origin
		}
	}
	if b, err := fsinfo.ReadRegularNoFollow(filepath.Join(dir, production.VerifierKeyFile), 64<<10); err == nil {
		name, _, _ := strings.Cut(strings.TrimSpace(string(b)), "+")
		return name != "" && name == origin
	}
	return false
}

type leftoverState int

const (
	unrecordedState leftoverState = iota // never recorded: removed
	recordedState                        // recorded as lo.seq: finished
	unclearState                         // cannot tell: refused
)

// examine tells whether the leftover lo, this matter's, was recorded.
func examine(ctx context.Context, l *ledger.Ledger, lo *leftover) (leftoverState, string, error) {
	b, manErr := fsinfo.ReadRegularNoFollow(filepath.Join(lo.path, production.ManifestFile), production.MaxManifest)
	if manErr == nil {
		sum := sha256.Sum256(b)
		lo.man, lo.sum = b, hex.EncodeToString(sum[:])
	}
	switch {
	case lo.claimed:
		pd, err := productionAt(ctx, l, lo.seq)
		if err != nil {
			return 0, "", err
		}
		switch {
		case pd == nil:
			return unrecordedState, "", nil // the transaction that claimed it did not commit
		case lo.man == nil:
			// Claimed only once its manifest was written: the manifest
			// was lost (a crash before it reached the disk) or removed.
			return unclearState, fmt.Sprintf("%s is named for production entry %d, but holds no manifest.json: remove it and run produce again, which records a new production", lo.path, lo.seq), nil
		case pd.ManifestSHA256 != lo.sum:
			return unrecordedState, "", nil // entry seq is another production (its claim did not commit)
		}
		// The same selection produced again has the same manifest: entry
		// seq may be another folder's, taken after this one's claim did
		// not commit. The transaction that appended it names its folder.
		name, ok, err := l.State(ctx, claimKey(lo.seq))
		switch {
		case err != nil:
			return 0, "", fmt.Errorf("produce: %w", err)
		case !ok:
			return unclearState, fmt.Sprintf("%s is named for production entry %d and holds its manifest, but the ledger does not say which folder entry %d was recorded for (an earlier custody version): if entry %d is not delivered elsewhere, check this folder with 'custody verify --production' after adding its proof ('custody prove'), or remove it and run produce again", lo.path, lo.seq, lo.seq, lo.seq), nil
		case name != filepath.Base(lo.path):
			return unrecordedState, "", nil // entry seq is another folder's (this one's claim did not commit)
		}
		return recordedState, "", nil
	case lo.legacy:
		switch {
		case lo.man == nil && errors.Is(manErr, fs.ErrNotExist):
			return unrecordedState, "", nil // killed before its manifest was written
		case lo.man == nil:
			// A manifest that is there but cannot be read may be a
			// recorded production's: never removed on a guess.
			return unclearState, fmt.Sprintf("%s holds a manifest.json that cannot be read (%v): make it readable and run produce again, or, if it is no delivered production, remove the folder", lo.path, manErr), nil
		}
		// Recorded if its proof (written after the entry) proves the
		// production entry holding its manifest's hash.
		if seq, ok := legacyProof(ctx, l, lo); ok {
			lo.seq = seq
			return recordedState, "", nil
		}
		var seqs []string
		for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindProduction}) {
			if err != nil {
				return 0, "", fmt.Errorf("produce: %w", err)
			}
			if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				if pd, ok := d.(*leaf.ProductionDetail); ok && pd.ManifestSHA256 == lo.sum {
					seqs = append(seqs, strconv.FormatUint(e.Seq, 10))
				}
			}
		}
		if len(seqs) == 0 {
			return unrecordedState, "", nil
		}
		return unclearState, fmt.Sprintf("%s was left by an earlier custody version, and its manifest is that of production entry %s: the same selection produced again has the same manifest, so custody cannot tell whether this folder was recorded; if entry %s is not delivered elsewhere, check it with 'custody verify --production' after adding its proof ('custody prove'), or remove it and run produce again", lo.path, strings.Join(seqs, ", "), seqs[len(seqs)-1]), nil
	default: // .building: never claimed, never recorded
		return unrecordedState, "", nil
	}
}

// productionAt returns the detail of the production entry at seq; nil
// when the ledger has no entry there or it is not a production.
func productionAt(ctx context.Context, l *ledger.Ledger, seq uint64) (*leaf.ProductionDetail, error) {
	e, err := l.Entry(ctx, seq)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	if e.Kind != leaf.KindProduction {
		return nil, nil
	}
	d, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		return nil, fmt.Errorf("produce: entry %d: %w", seq, err)
	}
	pd, _ := d.(*leaf.ProductionDetail)
	return pd, nil
}

// legacyProof returns the seq of the production entry a legacy folder's
// production.proof.json proves, when it is in the ledger and holds the
// folder's manifest hash.
func legacyProof(ctx context.Context, l *ledger.Ledger, lo *leftover) (uint64, bool) {
	b, err := fsinfo.ReadRegularNoFollow(filepath.Join(lo.path, production.ProofFile), 64<<10)
	if err != nil {
		return 0, false
	}
	res, err := leaf.VerifyProof(b, l.VerifierKey())
	if err != nil {
		return 0, false
	}
	e, err := l.Entry(ctx, res.Entry.Seq)
	if err != nil || e.LeafHash != res.Entry.LeafHash {
		return 0, false
	}
	pd, err := productionAt(ctx, l, e.Seq)
	if err != nil || pd == nil || pd.ManifestSHA256 != lo.sum {
		return 0, false
	}
	return e.Seq, true
}

// sameRequest says, when the recorded leftover lo is not what this run
// asks for (another format or selection), why it is not finished; "" when
// it is the same.
func sameRequest(d Deps, o Options, lo leftover) string {
	var m production.Manifest
	if err := json.Unmarshal(lo.man, &m); err != nil {
		return fmt.Sprintf("%s (production entry %d): manifest.json: %v", lo.path, lo.seq, err)
	}
	want := production.Selection{Conversations: sortedSet(o.Selection.Conversations), DiffRunID: o.Selection.DiffRunID,
		Interval: o.Selection.Interval, LegalHoldOnly: o.Selection.LegalHoldOnly}
	got := m.Selection
	got.Conversations = sortedSet(got.Conversations)
	var formats []string
	if o.Format != FormatDAT {
		formats = append(formats, FormatRSMF)
	}
	if o.Format != FormatRSMF {
		formats = append(formats, FormatDAT)
	}
	if slices.Equal(got.Conversations, want.Conversations) && got.DiffRunID == want.DiffRunID && got.Interval == want.Interval &&
		got.LegalHoldOnly == want.LegalHoldOnly && slices.Equal(m.Formats, formats) {
		return ""
	}
	return fmt.Sprintf("%s holds production entry %d, recorded by an earlier run into %s and left unfinished, of another format or selection (formats %s, selection %s): run that produce again to finish it, or give another --out",
		lo.path, lo.seq, filepath.Clean(o.Out), strings.Join(m.Formats, "+"), describeSelection(got))
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// describeSelection says a recorded selection as the produce command
// line that asks for it.
func describeSelection(s production.Selection) string {
	if parts := s.Flags(); len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	return "everything"
}

// finish completes the recorded production in lo, left by a run stopped
// after appending its entry: what that run would have done after it —
// the checkpoint over the entry (when none covers it), the entry's proof
// — then verify --production's checks of the folder against the ledger,
// then the rename onto out. A folder that does not verify is left as it
// is and the error says what failed. Every step can be done again: a
// run stopped here is finished by the next.
func finish(ctx context.Context, d Deps, o Options, out string, lo leftover) (*Result, error) {
	pd, err := productionAt(ctx, d.Ledger, lo.seq)
	if err != nil {
		return nil, err
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("produce: production entry %d, left unfinished in %s by an earlier run: %s", lo.seq, lo.path, fmt.Sprintf(format, a...))
	}
	cp, ok, err := d.Ledger.LatestCheckpoint(ctx)
	if err != nil {
		return nil, fail("%v", err)
	}
	if !ok || cp.Size <= lo.seq {
		if o.SignerKey == "" {
			return nil, fail("no signer key to sign the checkpoint over it")
		}
		if _, err := d.Ledger.Checkpoint(ctx, o.SignerKey); err != nil {
			return nil, fail("sign the checkpoint over it: %v", err)
		}
	}
	pf, err := d.Ledger.Prove(ctx, lo.seq)
	if err != nil {
		return nil, fail("prove it: %v", err)
	}
	pdata, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return nil, fail("%v", err)
	}
	// A proof the stopped run wrote is replaced: this one is against the
	// latest checkpoint, which may have been signed since.
	proofName := filepath.Join(lo.path, production.ProofFile)
	if err := os.Remove(proofName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fail("%v", err)
	}
	f, err := os.OpenFile(proofName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return nil, fail("%v", err)
	}
	_, err = f.Write(append(pdata, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fail("write %s: %v", production.ProofFile, err)
	}
	rep, err := verify.Production(ctx, lo.path, verify.ProductionOptions{VerifierKey: o.VerifierKey, Ledger: d.Ledger})
	if err != nil {
		return nil, fail("%v", err)
	}
	if !rep.OK || !rep.InLedger || rep.ProductionSeq != lo.seq {
		var what []string
		for i, f := range rep.Findings {
			if i == 5 {
				what = append(what, fmt.Sprintf("and %d more", len(rep.Findings)+rep.Omitted-5))
				break
			}
			what = append(what, f.String())
		}
		return nil, fmt.Errorf("%w: production entry %d was recorded, but the folder an earlier run left it in, %s, does not verify (%s): it is left as it is; remove it and run produce again, which records a new production",
			ErrUnfinished, lo.seq, lo.path, strings.Join(what, "; "))
	}
	if err := os.Remove(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fail("%v", err) // not empty any more
	}
	if err := os.Rename(lo.path, out); err != nil {
		return nil, fail("%v", err)
	}
	var m production.Manifest
	if err := json.Unmarshal(lo.man, &m); err != nil {
		return nil, fail("manifest.json: %v", err)
	}
	res := &Result{Dir: out, Format: pd.Format, Conversations: pd.Conversations, Messages: pd.Messages, Files: pd.Files,
		ManifestSHA256: pd.ManifestSHA256, Erased: len(m.Erased), Seq: lo.seq, ProofTreeSize: pd.ProofTreeSize, Completed: true}
	for _, c := range m.Conversations {
		res.RSMFFiles += len(c.RSMF)
	}
	return res, nil
}
