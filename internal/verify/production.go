package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
)

// Checks of a production (verify --production).
const (
	ProdCheckFile       = "file"       // a listed file is missing, altered or of another size, or a file is not listed
	ProdCheckManifest   = "manifest"   // the manifest does not parse, or is not the one the ledger entry holds
	ProdCheckProduction = "production" // the production entry's proof does not hold, or the ledger disagrees
	ProdCheckCheckpoint = "checkpoint" // the checkpoint file is not signed by the key, or not the manifest's
	ProdCheckProof      = "proof"      // a message's or conversation's proof does not hold or is not the manifest's entry
)

// ProductionFinding is one failed check of a production, naming the file.
type ProductionFinding struct {
	Check   string `json:"check"`
	File    string `json:"file"`
	Message string `json:"message"`
}

func (f ProductionFinding) String() string { return f.File + ": " + f.Check + ": " + f.Message }

// ProductionReport is what verify --production found.
type ProductionReport struct {
	Dir           string `json:"dir"`
	OK            bool   `json:"ok"`
	Origin        string `json:"origin"`
	ProductionSeq uint64 `json:"production_seq"`
	Files         int    `json:"files"`
	Messages      int    `json:"messages"`
	Conversations int    `json:"conversations"`
	Proofs        int    `json:"proofs_checked"`
	LedgerChecked bool   `json:"ledger_checked"`
	// InLedger says the ledger given holds the production entry, with
	// the leaf hash its proof proves (false: not checked, or it does not).
	InLedger bool                `json:"in_ledger"`
	Findings []ProductionFinding `json:"findings"`
	Omitted  int                 `json:"omitted,omitempty"`
	// Erased is how many selected messages the manifest lists as left
	// out because an erasure deleted their content.
	Erased int `json:"erased,omitempty"`
	// Unchecked says what of the production the checks could not hold
	// to the proofs, and why: a warning, not a failure (an RSMF-only
	// production's event bodies).
	Unchecked []string `json:"unchecked,omitempty"`
	// Ignored are the files not listed in the manifest that an operating
	// system adds to a folder it shows (osLitter): a warning, not a
	// failure.
	Ignored []string `json:"ignored,omitempty"`
	// Recalled are the erasure entries of the ledger given that list the
	// production for recall (custody erase: it holds, or may hold,
	// content erased since); checked only with a ledger that holds the
	// production entry. OK says only that every check holds: see
	// IsRecalled.
	Recalled []Recall `json:"recalled,omitempty"`
	// MessagesProofs are message proof files, one for each distinct
	// checkpoint note (its cosignature lines included) and set of
	// timestamp tokens the message proofs carry, in the manifest's order,
	// whose tokens and cosignatures verify --production checks with
	// production.proof.json's. produce gives every message proof the
	// same: more than one is also a finding.
	MessagesProofs []string `json:"-"`
}

// The files an operating system adds to a folder a user opens or copies,
// by what their bytes begin with: what the OS writes, not only its name.
var (
	appleDoubleMagic = []byte{0x00, 0x05, 0x16, 0x07}                         // ._NAME (and every file in a Mac zip's __MACOSX/)
	dsStoreMagic     = []byte{0x00, 0x00, 0x00, 0x01, 0x42, 0x75, 0x64, 0x31} // .DS_Store: "\0\0\0\x01Bud1"
	oleMagic         = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1} // Thumbs.db: an OLE compound file
)

// maxLitter bounds the size of a file taken for one an operating system
// added: they are small (an AppleDouble file is 4 KiB unless it carries a
// resource fork), and anything larger is something else.
const maxLitter = 4 << 20

// osLitter says whether the unlisted production path rel (slash-separated)
// is a file an operating system adds to a folder a user opens or copies:
// macOS's .DS_Store and AppleDouble ._NAME files, and the __MACOSX/ folder
// at the root of a zip made on a Mac, which holds only AppleDouble files;
// Windows's Thumbs.db and desktop.ini. A production received on a drive
// opened once in Finder or Explorer holds some; they are not part of it,
// and verify ignores them, saying so. The name is not enough: the bytes
// must be what the OS writes (a ._NAME or .DS_Store file begins with its
// format's magic, as Thumbs.db does) and the file small, and __MACOSX/
// is accepted only at the root, so that a file a review platform would
// load (rsmf/__MACOSX/forged.rsmf, a ._NAME file holding a message) is
// not waved through. litter is false for any other name; problem says
// why a file so named, or in a __MACOSX/ folder, is not what the OS
// writes (a failure). produce
// never writes such a name, so no listed file is taken for one.
func osLitter(root *os.Root, rel string) (litter bool, problem string) {
	parts := strings.Split(rel, "/")
	base := parts[len(parts)-1]
	for i, dir := range parts[:len(parts)-1] {
		if dir == "__MACOSX" && i > 0 {
			return false, "not listed in the manifest, and in a __MACOSX/ folder below the production's root, which no operating system writes (a zip made on a Mac has one at its root only)"
		}
	}
	var magic []byte
	var what string
	limit := int64(maxLitter)
	switch {
	case strings.HasPrefix(base, "._"):
		magic, what = appleDoubleMagic, "an AppleDouble file (it begins 00 05 16 07)"
	case base == ".DS_Store":
		magic, what = dsStoreMagic, "a .DS_Store file (it begins 00 00 00 01 42 75 64 31)"
	case parts[0] == "__MACOSX":
		return false, "not listed in the manifest, and not an AppleDouble ._NAME file, the only kind a zip made on a Mac puts in __MACOSX/"
	case strings.EqualFold(base, "Thumbs.db"):
		magic, what = oleMagic, "a Thumbs.db file (an OLE compound file: it begins d0 cf 11 e0 a1 b1 1a e1)"
	case strings.EqualFold(base, "desktop.ini"):
		what, limit = "a desktop.ini file", 64<<10 // a few lines of text
	default:
		return false, ""
	}
	f, err := openRegular(root, rel)
	if err != nil {
		return true, fmt.Sprintf("named as a file the operating system adds, but it cannot be read: %v", err)
	}
	defer f.Close()
	head := make([]byte, len(magic))
	_, err = io.ReadFull(f, head)
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, io.LimitReader(f, limit+1-int64(len(head))))
		if err == nil && int64(len(head))+n > limit {
			return true, fmt.Sprintf("named as %s the operating system adds, but larger than %d KiB: not one, and not part of the production", what, limit>>10)
		}
	}
	switch {
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		return true, fmt.Sprintf("named as a file the operating system adds, but it cannot be read: %v", err)
	case !bytes.Equal(head, magic):
		return true, fmt.Sprintf("named as %s the operating system adds, but its bytes are not one: not listed in the manifest, and not part of the production", what)
	}
	return true, ""
}

// maxProductionFindings bounds the findings listed; the rest are counted.
const maxProductionFindings = 1000

func (r *ProductionReport) fail(check, file, format string, a ...any) {
	if len(r.Findings) >= maxProductionFindings {
		r.Omitted++
		return
	}
	r.Findings = append(r.Findings, ProductionFinding{Check: check, File: file, Message: fmt.Sprintf(format, a...)})
}

// ProductionOptions say how to check a production.
type ProductionOptions struct {
	// VerifierKey is the ledger's verifier key; take it from somewhere the
	// producer cannot rewrite (the production's own custody.pub proves
	// only that the production agrees with itself).
	VerifierKey string
	// Ledger, when not nil, is the matter's ledger: the production entry
	// must be in it, with the proved leaf hash.
	Ledger *ledger.Ledger
}

// Production checks a production folder written by custody produce: every
// file against the manifest (and no file beside it), the manifest against
// the production ledger entry (its proof, and the ledger when given), the
// checkpoint file against the key, and every message's and conversation's
// proof against the checkpoint and the manifest. It reads only; a
// returned error means it could not check (the folder unreadable), not
// that a check failed.
func Production(ctx context.Context, dir string, o ProductionOptions) (*ProductionReport, error) {
	rep := &ProductionReport{Dir: dir}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("verify: production: %w", err)
	}
	defer root.Close()
	if o.VerifierKey == "" {
		return nil, errors.New("verify: production: no verifier key")
	}

	// The manifest, and the production entry that holds its hash.
	manData, err := readRootFile(root, production.ManifestFile, production.MaxManifest)
	if err != nil {
		rep.fail(ProdCheckManifest, production.ManifestFile, "%v", err)
		return rep.done(), nil
	}
	manSum := sha256.Sum256(manData)
	man, err := production.ParseManifest(manData)
	if err != nil {
		rep.fail(ProdCheckManifest, production.ManifestFile, "%v", err)
	}
	if rep.otherLedger(o) {
		o.Ledger = nil
	}
	if err := rep.checkEntry(ctx, root, hex.EncodeToString(manSum[:]), o); err != nil {
		return nil, err
	}
	if man == nil {
		return rep.done(), nil
	}
	rep.Origin, rep.Messages, rep.Conversations = man.Origin, len(man.Messages), len(man.Conversations)

	// Every file against the manifest, and nothing unlisted: hashed on
	// every core, or as many at once as a network share wants (each open
	// and read a round trip there), reported in the manifest's order.
	workers := max(runtime.GOMAXPROCS(0), fsinfo.Requests(dir))
	listed := newFileSet(man.Files)
	rep.Files = len(man.Files)
	// The natives and .rsmf files are read for the content check as they
	// are hashed.
	content := newContentCheck(root, man, listed)
	fileProblems := make([]string, len(man.Files))
	if err := eachAtOnce(ctx, len(man.Files), workers, func(i int) {
		f := man.Files[i]
		sum, size, err := content.read(root, i)
		switch {
		case err != nil:
			fileProblems[i] = err.Error()
		case size != f.Size || hex.EncodeToString(sum[:]) != f.SHA256:
			fileProblems[i] = fmt.Sprintf("altered: SHA-256 %x (%d bytes), the manifest lists %s (%d bytes)", sum, size, f.SHA256, f.Size)
		}
	}); err != nil {
		return nil, err
	}
	for i, problem := range fileProblems {
		if problem != "" {
			rep.fail(ProdCheckFile, man.Files[i].Path, "%s", problem)
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || rel == production.ManifestFile || rel == production.ProofFile {
			return nil
		}
		if !listed.has(rel) {
			switch litter, problem := osLitter(root, rel); {
			case problem != "":
				rep.fail(ProdCheckFile, rel, "%s", problem)
			case litter:
				rep.Ignored = append(rep.Ignored, rel)
			default:
				rep.fail(ProdCheckFile, rel, "not listed in the manifest")
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: production: %w", err)
	}

	rep.checkControlNumbers(man)

	// The checkpoint the proofs lead to.
	cpNote, err := readRootFile(root, man.Checkpoint.File, 64<<10)
	var cp hashchain.Checkpoint
	if err == nil {
		cp, err = hashchain.VerifyCheckpoint(cpNote, o.VerifierKey)
	}
	switch {
	case err != nil:
		rep.fail(ProdCheckCheckpoint, man.Checkpoint.File, "%v", err)
		cpNote = nil
	case cp.Size != man.Checkpoint.Size || cp.Root.String() != man.Checkpoint.Root:
		rep.fail(ProdCheckCheckpoint, man.Checkpoint.File, "signs size %d root %s, the manifest says size %d root %s", cp.Size, cp.Root, man.Checkpoint.Size, man.Checkpoint.Root)
	}

	// Every proof, the conversations' then the messages', checked as the
	// files were and reported in that order.
	type proofCheck struct {
		name, leafHash, kind, convID, msgID string
		seq                                 uint64
		msg                                 int // index in man.Messages; -1 for a conversation
	}
	// Each built from the manifest when it is checked, not held for all
	// 20,000 at once (2 MB of the live heap).
	var convProofs []int
	for i, c := range man.Conversations {
		if c.Proof != "" {
			convProofs = append(convProofs, i)
		}
	}
	nProofs := len(convProofs) + len(man.Messages)
	proofAt := func(i int) proofCheck {
		if i < len(convProofs) {
			c := &man.Conversations[convProofs[i]]
			return proofCheck{c.Proof, c.LeafHash, leaf.KindConversation, c.ID, "", c.Seq, -1}
		}
		i -= len(convProofs)
		m := &man.Messages[i]
		return proofCheck{m.Proof, m.LeafHash, leaf.KindMessage, m.ConversationID, m.MessageID, m.Seq, i}
	}
	rep.Proofs = nProofs
	proofProblems := make([]string, nProofs)
	// What each message proof carries for its checkpoint's attestation:
	// the note with its cosignature lines, and the timestamp tokens.
	attested := make([][sha256.Size]byte, nProofs)
	if err := eachAtOnce(ctx, nProofs, workers, func(i int) {
		p := proofAt(i)
		var e leaf.Entry
		proofProblems[i], e, attested[i] = proofProblem(root, p.name, p.seq, p.leafHash, p.kind, p.convID, p.msgID, cpNote, cp, o.VerifierKey)
		if proofProblems[i] == "" && p.msg >= 0 {
			content.proved(p.msg, e)
		}
	}); err != nil {
		return nil, err
	}
	firstWith := map[[sha256.Size]byte]string{}
	for i, problem := range proofProblems {
		if problem != "" {
			rep.fail(ProdCheckProof, proofAt(i).name, "%s", problem)
			continue
		}
		if i < len(convProofs) {
			continue
		}
		if _, ok := firstWith[attested[i]]; ok {
			continue
		}
		if len(rep.MessagesProofs) > 0 {
			rep.fail(ProdCheckProof, proofAt(i).name, "carries other timestamp tokens or witness cosignatures than %s: produce gives every message proof the same checkpoint, tokens and cosignatures (both are checked)", rep.MessagesProofs[0])
		}
		firstWith[attested[i]] = proofAt(i).name
		rep.MessagesProofs = append(rep.MessagesProofs, proofAt(i).name)
	}
	// What each message's proof proves, against what was produced of it.
	content.compare(root, rep)
	if err := rep.checkErased(ctx, man, o); err != nil {
		return nil, err
	}
	return rep.done(), nil
}

// checkControlNumbers: produce hands out DAT control numbers in the
// manifest's message order, each its prefix and the number padded to a
// fixed width, so they are of one length and ascend. Numbers that ran
// past the int range wrapped to negative ones (CUST-9223372036854775808
// after CUST9223372036854775807), which produce once wrote and nothing
// else noticed: one finding, at the first number out of line.
func (r *ProductionReport) checkControlNumbers(man *production.Manifest) {
	prev := ""
	for _, m := range man.Messages {
		c := m.ControlNumber
		if c == "" {
			continue
		}
		if prev != "" && (len(c) != len(prev) || c <= prev) {
			r.fail(ProdCheckManifest, production.ManifestFile, "message %s (seq %d): control number %s after %s: a production's control numbers are of one width and ascend in the manifest's order (wrapped past the largest number, or altered)",
				m.MessageID, m.Seq, c, prev)
			return
		}
		prev = c
	}
}

func (r *ProductionReport) done() *ProductionReport {
	r.OK = len(r.Findings) == 0 && r.Omitted == 0
	if r.Findings == nil {
		r.Findings = []ProductionFinding{}
	}
	return r
}

// checkEntry checks production.proof.json: it proves a production entry
// whose manifest hash is manSum, and (with a ledger) the ledger holds it.
// The error is a ledger that could not be read (or ctx's end), not a
// finding.
func (r *ProductionReport) checkEntry(ctx context.Context, root *os.Root, manSum string, o ProductionOptions) error {
	data, err := readRootFile(root, production.ProofFile, 64<<10)
	if err != nil {
		r.fail(ProdCheckProduction, production.ProofFile, "%v", err)
		return nil
	}
	res, err := leaf.VerifyProof(data, o.VerifierKey)
	if err != nil {
		r.fail(ProdCheckProduction, production.ProofFile, "%v", err)
		return nil
	}
	e := res.Entry
	r.ProductionSeq = e.Seq
	if e.Kind != leaf.KindProduction {
		r.fail(ProdCheckProduction, production.ProofFile, "proves a %s entry, not a production", e.Kind)
		return nil
	}
	d, err := leaf.DecodeDetail(e.Kind, e.Detail)
	pd, _ := d.(*leaf.ProductionDetail)
	if err != nil || pd == nil {
		r.fail(ProdCheckProduction, production.ProofFile, "the production entry's detail: %v", err)
		return nil
	}
	if pd.ManifestSHA256 != manSum {
		r.fail(ProdCheckManifest, production.ManifestFile, "altered: SHA-256 %s, the production entry (seq %d) holds %s", manSum, e.Seq, pd.ManifestSHA256)
	}
	if o.Ledger == nil {
		return nil
	}
	r.LedgerChecked = true
	le, err := o.Ledger.Entry(ctx, e.Seq)
	switch {
	case err != nil && !errors.Is(err, ledger.ErrNotFound):
		return fmt.Errorf("verify: production: %w", err)
	case err != nil:
		r.fail(ProdCheckProduction, production.ProofFile, "the ledger has no entry %d: %v", e.Seq, err)
	case le.LeafHash != e.LeafHash:
		r.fail(ProdCheckProduction, production.ProofFile, "the ledger's entry %d has leaf hash %s, the proof %s", e.Seq, le.LeafHash, e.LeafHash)
	default:
		r.InLedger = true
		// A later erasure that lists this production for recall: its
		// files still verify, but hold content erased since.
		signed, err := signedSize(ctx, o.Ledger, o.VerifierKey)
		if err != nil {
			return err
		}
		if r.Recalled, err = recalls(ctx, o.Ledger, leaf.KindProduction, e.Seq, signed); err != nil {
			return err
		}
	}
	return nil
}

// IsRecalled reports whether an erasure entry a signed checkpoint covers
// lists the production for recall: verify --production's verdict is then
// RECALLED, not OK, though every check holds (OK).
func (r *ProductionReport) IsRecalled() bool { return recalled(r.Recalled) }

// otherLedger reports, as a finding, a ledger given that is another
// matter's: its origin is not the one the production's key is named for
// (the proofs verified under that key, so they are of that origin). Its
// entries are then not compared: no seq of one ledger means anything in
// another.
func (r *ProductionReport) otherLedger(o ProductionOptions) bool {
	origin, _, _ := strings.Cut(o.VerifierKey, "+")
	if o.Ledger == nil || o.Ledger.Origin() == origin {
		return false
	}
	r.LedgerChecked = true
	r.fail(ProdCheckProduction, production.ProofFile, "the ledger %s is of %q, the production of %q: another matter's ledger, which cannot hold the production entry (give the production's own matter's ledger with --ledger)",
		o.Ledger.Path(), o.Ledger.Origin(), origin)
	return true
}

// proofProblem checks one entry's proof file against the checkpoint and
// the manifest's record of the entry: "" and the proven entry when it
// holds, else what is wrong.
func proofProblem(root *os.Root, name string, seq uint64, leafHash, kind, convID, msgID string, cpNote []byte, cp hashchain.Checkpoint, key string) (string, leaf.Entry, [sha256.Size]byte) {
	var att [sha256.Size]byte
	data, err := readRootFile(root, name, 64<<10)
	if err != nil {
		return err.Error(), leaf.Entry{}, att
	}
	p, err := leaf.ParseProof(data)
	if err != nil {
		return err.Error(), leaf.Entry{}, att
	}
	// The attestation it carries: its checkpoint note (cosignature
	// lines included) and timestamp tokens, length-prefixed.
	h := sha256.New()
	for _, b := range append([][]byte{p.Checkpoint}, tokenBytes(p.Timestamps)...) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	h.Sum(att[:0])
	problem, e := proofHolds(p, seq, leafHash, kind, convID, msgID, cpNote, cp, key)
	return problem, e, att
}

func tokenBytes(ts []leaf.ProofTimestamp) [][]byte {
	var out [][]byte
	for _, t := range ts {
		out = append(out, []byte(t.TSA), t.Token)
	}
	return out
}

// proofHolds checks a parsed proof against the checkpoint and the
// manifest's record of the entry.
func proofHolds(p leaf.Proof, seq uint64, leafHash, kind, convID, msgID string, cpNote []byte, cp hashchain.Checkpoint, key string) (string, leaf.Entry) {
	var err error
	var e leaf.Entry
	if cpNote != nil && bytes.Equal(p.Checkpoint, cpNote) && p.TreeSize == cp.Size {
		// The checkpoint file's signature is checked once; each proof
		// then needs only its path, leaf hash and leaf.
		e, err = verifyUnder(p, cp)
	} else {
		var res leaf.ProofResult
		res, err = p.Verify(key)
		e = res.Entry
		if err == nil && cpNote != nil {
			err = fmt.Errorf("proves against a checkpoint of size %d, not the production's %s", p.TreeSize, production.CheckpointFile)
		}
	}
	switch {
	case err != nil:
		return err.Error(), e
	case e.Seq != seq || e.LeafHash.String() != leafHash:
		return fmt.Sprintf("proves entry %d (%s), the manifest lists %d (%s)", e.Seq, e.LeafHash, seq, leafHash), e
	case e.Kind != kind || e.ConversationID != convID || e.MessageID != msgID:
		return fmt.Sprintf("proves a %s entry of %s/%s, the manifest lists a %s of %s/%s", e.Kind, e.ConversationID, e.MessageID, kind, convID, msgID), e
	}
	return "", e
}

// verifyUnder is Proof.Verify with the checkpoint already verified.
func verifyUnder(p leaf.Proof, cp hashchain.Checkpoint) (leaf.Entry, error) {
	lh := hashchain.LeafHash(p.Leaf)
	if lh != p.LeafHash {
		return leaf.Entry{}, fmt.Errorf("%w: the leaf hashes to %s, not to leaf_hash %s", hashchain.ErrProof, lh, p.LeafHash)
	}
	if err := hashchain.VerifyInclusion(p.Index, p.TreeSize, lh, p.Inclusion, cp.Root); err != nil {
		return leaf.Entry{}, err
	}
	if err := leaf.CheckLeaf(p.Leaf); err != nil {
		return leaf.Entry{}, fmt.Errorf("the proved leaf: %w", err)
	}
	e, err := leaf.DecodeLeaf(p.Leaf)
	if err != nil {
		return leaf.Entry{}, fmt.Errorf("the proved leaf is not a custody entry: %w", err)
	}
	e.Seq, e.LeafHash = p.Index, lh
	return e, nil
}

// readRootFile reads a regular file of the production, at most limit bytes.
// fileSet finds a manifest's files by path: the files' indexes sorted by
// path, 4 bytes a file, where a map of copies of them took some 140 (6 MB
// of the live heap while a production of 65,000 files is verified, which
// the collector lets grow to twice that). The manifest names each path
// once (production.ParseManifest).
type fileSet struct {
	files []production.File
	order []int32
}

func newFileSet(files []production.File) fileSet {
	s := fileSet{files: files, order: make([]int32, len(files))}
	for i := range s.order {
		s.order[i] = int32(i)
	}
	slices.SortFunc(s.order, func(a, b int32) int { return strings.Compare(files[a].Path, files[b].Path) })
	return s
}

// index is the index in the manifest's files of the file at path p.
func (s fileSet) index(p string) (int, bool) {
	i, ok := slices.BinarySearchFunc(s.order, p, func(k int32, p string) int { return strings.Compare(s.files[k].Path, p) })
	if !ok {
		return 0, false
	}
	return int(s.order[i]), true
}

// get is the listed file at path p; the zero File when none is.
func (s fileSet) get(p string) production.File {
	if i, ok := s.index(p); ok {
		return s.files[i]
	}
	return production.File{}
}

func (s fileSet) has(p string) bool { return s.get(p).Path != "" }

func readRootFile(root *os.Root, name string, limit int64) ([]byte, error) {
	if err := production.ValidPath(name); err != nil {
		return nil, err
	}
	f, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

func hashRootFile(root *os.Root, name string) ([sha256.Size]byte, int64, error) {
	var sum [sha256.Size]byte
	f, err := openRegular(root, name)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	h := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	// struct{io.Reader} hides os.File's WriteTo, which would copy
	// through a buffer of its own, allocated for every file.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, *buf)
	if err != nil {
		return sum, 0, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}

// copyBufs are the buffers files are hashed through, one per worker at a
// time rather than one per file.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// openRegular opens a file of the production that must be a regular
// file: anything else is refused, a FIFO without waiting on it
// (fsinfo.OpenRegular).
func openRegular(root *os.Root, name string) (*os.File, error) {
	f, _, err := fsinfo.OpenRegular(root, filepath.FromSlash(name))
	if err != nil {
		return nil, missing(err)
	}
	return f, nil
}

func missing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("missing")
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return errors.New(msg)
}
