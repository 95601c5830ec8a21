package produce

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
)

// Formats a production can hold.
const (
	FormatRSMF = "rsmf"
	FormatDAT  = "dat"
	FormatBoth = "both"
)

// DefaultSplitEvents is how many messages a conversation may have before
// its RSMF is split into one file per UTC day.
const DefaultSplitEvents = 5000

// Options of a production.
type Options struct {
	Out       string // a new or empty folder
	Format    string // FormatRSMF, FormatDAT or FormatBoth
	Selection Selection
	// DAT control numbers: Prefix followed by a number of Digits digits
	// counting from Start (defaults CUST, 7, 1).
	Prefix string
	Digits int
	Start  int
	// Custodian names whose device (here: which organisation's Genesys
	// Cloud) the conversations come from; default the matter's name.
	Custodian string
	// SplitEvents: see DefaultSplitEvents (0 takes it).
	SplitEvents int
	SignerKey   string
	VerifierKey string
	Generator   string // X-RSMF-Generator, e.g. "custody v1.2.3"
	// ValidateRSMF also validates every rsmf_manifest.json against the
	// RSMF 2.0.0 JSON schema before writing it. Without it each is held
	// to the schema's rules by checkRSMF (typed, several times cheaper);
	// the tests validate every manifest they produce against the schema.
	ValidateRSMF bool
}

// Deps are what a production reads and records into.
type Deps struct {
	Ledger *ledger.Ledger
	Store  evidence.Store
}

// Result says what was produced.
type Result struct {
	Dir           string `json:"dir"`
	Format        string `json:"format"`
	Conversations int    `json:"conversations"`
	Messages      int    `json:"messages"` // message captures: the manifest's messages
	// EarlierCaptures counts the earlier captures among them, produced
	// beside their message's latest one.
	EarlierCaptures int    `json:"earlier_captures"`
	Attachments     int    `json:"attachments"`
	RSMFFiles       int    `json:"rsmf_files"`
	DATRows         int    `json:"dat_rows"`
	Files           int    `json:"files"`
	ManifestSHA256  string `json:"manifest_sha256"`
	// Erased counts the selected messages not produced because an
	// erasure deleted their content (manifest.json lists them).
	Erased int `json:"erased"`
	// SkippedErased are the conversations a --diff selection left out
	// because their only findings are erased (Selection.DiffSkippedErased).
	SkippedErased  []string `json:"skipped_erased,omitempty"`
	Seq            uint64   `json:"production_seq"`   // the production ledger entry
	ProofTreeSize  uint64   `json:"proof_tree_size"`  // the checkpoint the messages are proved against
	SignedForProof bool     `json:"signed_for_proof"` // a checkpoint was signed for the messages first
	// Completed: the production is one an earlier run recorded (Seq) and
	// was stopped before putting in place (kill -9, power loss); this run
	// finished it and recorded nothing. Attachments, DATRows and
	// SignedForProof are then not counted.
	Completed bool `json:"completed,omitempty"`
	// Removed are the folders earlier runs into the same --out left
	// beside it that were never recorded, removed; Kept those named like
	// them that are not provably this matter's, left alone.
	Removed []string `json:"removed_leftovers,omitempty"`
	Kept    []string `json:"kept_leftovers,omitempty"`
}

// Run produces the selection into o.Out and records it in the ledger.
// Nothing is written to o.Out (nor the ledger) when the selection is bad
// or empty or o.Out is not empty. When o.Out is vacant and an earlier run
// into it recorded a production and was stopped before putting it in
// place, Run finishes that one instead and records nothing (resume). The
// caller holds the matter's writer lock; Run holds the lock on productions
// into o.Out (lockOut) until it returns.
func Run(ctx context.Context, d Deps, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	// Before a leftover is finished onto it too (resume): a link or a
	// mount point is never renamed onto.
	if o.Out != "" {
		if err := placeable(filepath.Clean(o.Out)); err != nil {
			return nil, err
		}
	}
	if out := filepath.Clean(o.Out); o.Out != "" && vacant(out) && isDir(filepath.Dir(out)) {
		// Only where this run may write: a folder that is not empty, or
		// whose parent is missing, is refused as before, with nothing
		// created.
		release, err := lockOut(out)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	left, err := resume(ctx, d, o)
	if err != nil {
		return nil, err
	}
	if left.done != nil {
		left.done.Removed, left.done.Kept = left.removed, left.kept
		return left.done, nil
	}
	res, err := run(ctx, d, o)
	if res != nil {
		res.Removed, res.Kept = left.removed, left.kept
	}
	if err != nil && len(left.removed) > 0 {
		// Removed all the same: a run that then fails (an empty
		// selection, say) must not hide that it did.
		err = fmt.Errorf("%w (before that, removed %s: left by an earlier run of this matter's produce into %s, never recorded)", err, strings.Join(left.removed, ", "), o.Out)
	}
	return res, err
}

func run(ctx context.Context, d Deps, o Options) (*Result, error) {
	// Check the output folder before the ledger's work, and again when
	// the temporary folder is made.
	if _, err := prepareCheck(o.Out); err != nil {
		return nil, err
	}
	s, err := scanLedger(ctx, d.Ledger)
	if err != nil {
		return nil, err
	}
	convs, gone, err := s.selectMessages(o.Selection)
	if err != nil {
		return nil, err
	}
	s.msgs, s.convs, s.ids = nil, nil, nil // the selection holds what is needed
	p := &producer{o: o, d: d, s: s, res: &Result{Format: o.Format, Erased: len(gone), SkippedErased: o.Selection.DiffSkippedErased}, erased: gone, erasedIn: map[string]int{}}
	for _, g := range gone {
		p.erasedIn[g.ConversationID]++
	}
	if err := p.chooseCheckpoint(ctx, convs); err != nil {
		return nil, err
	}
	out, err := prepareOut(o.Out)
	if err != nil {
		return nil, err
	}
	p.out = out
	// Named in the ledger's state before any message text is written: a
	// run killed before recording leaves the folder, and custody erase
	// finds it by this line whatever --out was (production.StagingKey).
	if err := d.Ledger.Update(ctx, func(tx *ledger.Tx) error { return setStaging(tx, out.tmp, true) }); err != nil {
		out.abort()
		return nil, fmt.Errorf("produce: %w", err)
	}
	// The checkpoint over the production entry checks every entry before
	// it; those checks read the whole ledger, so they are done now, on the
	// reader pool, while the production is written.
	p.prepared = make(chan *ledger.CheckpointBase, 1)
	go func() {
		base, err := d.Ledger.PrepareCheckpoint(ctx)
		if err != nil {
			base = nil // record's checkpoint repeats the checks and reports
		}
		p.prepared <- base
	}()
	if err := p.produce(ctx, convs); err != nil {
		<-p.prepared
		p.abort()
		return nil, err
	}
	if err := p.record(ctx); err != nil { // record waits for p.prepared
		return nil, p.unfinished(err)
	}
	if err := out.commit(); err != nil {
		return nil, p.unfinished(err)
	}
	p.res.Dir = out.final
	return p.res, nil
}

// unfinished ends a production that failed at err: before its entry was
// appended it removes the temporary folder; after, the ledger names a
// production that is not in place, which whoever reads it must be told,
// and the folder is kept for the next run into the same --out to finish
// (resume).
func (p *producer) unfinished(err error) error {
	if p.res.Seq == 0 {
		p.abort()
		return err
	}
	p.out.closeDirs()
	return fmt.Errorf("%w; production entry %d was recorded, but is not in %s yet (its files are in %s): run the same produce again to finish it", err, p.res.Seq, p.out.final, p.out.tmp)
}

// abort removes the folder of a production never recorded, and its
// staging line. The line's removal is a best effort: one left names a
// folder that is gone, which erase and the next produce drop.
func (p *producer) abort() {
	p.out.abort()
	_ = p.d.Ledger.Update(context.Background(), func(tx *ledger.Tx) error { return setStaging(tx, p.out.tmp, false) })
}

// stagingStem is the production.StagingKey line of the folder tmp
// (.OUT.produce-HEX followed by .building or .entry-SEQ): its absolute
// path without what follows HEX.
func stagingStem(tmp string) string {
	if abs, err := filepath.Abs(tmp); err == nil {
		tmp = abs
	}
	const mark = ".produce-"
	if i := strings.LastIndex(tmp, mark); i >= 0 && len(tmp) >= i+len(mark)+16 {
		return tmp[:i+len(mark)+16]
	}
	return tmp
}

// setStaging adds the staging line of the folder tmp, or removes it.
func setStaging(tx *ledger.Tx, tmp string, add bool) error {
	v, _, err := tx.State(production.StagingKey)
	if err != nil {
		return err
	}
	nv := production.WithoutStaging(v, stagingStem(tmp))
	if add {
		nv = production.WithStaging(v, stagingStem(tmp))
	}
	switch {
	case nv == v:
		return nil
	case nv == "":
		return tx.DeleteState(production.StagingKey)
	}
	return tx.SetState(production.StagingKey, nv)
}

func prepareCheck(out string) (bool, error) {
	o, err := prepareOut(out)
	if err != nil {
		return false, err
	}
	o.abort()
	return true, nil
}

// CheckPrefix checks a DAT control number prefix: it names files
// (dat/natives/PREFIX0000001.json), so only letters, digits, '_', '-'
// and '+', at most 32 of them.
func CheckPrefix(prefix string) error {
	if prefix == "" || production.ValidPath(prefix) != nil || strings.ContainsAny(prefix, "/.") || len(prefix) > 32 {
		return fmt.Errorf("control number prefix %q: use 1 to 32 letters, digits, '_', '-' or '+'", prefix)
	}
	return nil
}

// MaxStart is the largest first control number of digits digits
// (10^digits - 1), for 1 to 12 digits.
func MaxStart(digits int) int { return pow10(digits) - 1 }

func (o *Options) defaults() error {
	switch o.Format {
	case FormatRSMF, FormatDAT, FormatBoth:
	case "":
		o.Format = FormatRSMF
	default:
		return fmt.Errorf("%w: format %q: want rsmf, dat or both", ErrBadOption, o.Format)
	}
	if o.Prefix == "" {
		o.Prefix = "CUST"
	}
	if err := CheckPrefix(o.Prefix); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOption, err)
	}
	if o.Digits == 0 {
		o.Digits = 7
	}
	if o.Digits < 1 || o.Digits > 12 {
		return fmt.Errorf("%w: %d control number digits: want 1 to 12", ErrBadOption, o.Digits)
	}
	if o.Start == 0 {
		o.Start = 1
	}
	if o.Start < 0 {
		return fmt.Errorf("%w: control numbers cannot start at %d", ErrBadOption, o.Start)
	}
	if o.Start > MaxStart(o.Digits) {
		// Not even the first number fits; and a start near the top of
		// int would wrap the numbers handed out to negative ones.
		return fmt.Errorf("%w: control numbers cannot start at %d: it does not fit in %d digits", ErrBadOption, o.Start, o.Digits)
	}
	if o.SplitEvents == 0 {
		o.SplitEvents = DefaultSplitEvents
	}
	if o.Generator == "" {
		o.Generator = "custody"
	}
	if o.VerifierKey == "" {
		return errors.New("produce: no verifier key")
	}
	return nil
}

type producer struct {
	o   Options
	d   Deps
	s   *scan
	out *outDir
	res *Result

	cp     ledger.StoredCheckpoint
	tree   *hashchain.Tree
	cpText string // "size root", the custom value
	// att is the checkpoint's note with its witness cosignatures and its
	// timestamp tokens, read once: every proof carries them, as custody
	// prove's do, and the checkpoint file is att.Note.
	att ledger.Attested
	// proofTail is every proof's JSON from the checkpoint's value on
	// (proofTail), encoded once.
	proofTail []byte
	man       production.Manifest
	msgs      []msgRec // the manifest's messages
	// erased are the selected messages not produced (an erasure deleted
	// their content); erasedIn counts them by conversation.
	erased   []production.Erased
	erasedIn map[string]int
	// prepared is the checks of the checkpoint over the production entry,
	// done beside the production (ledger.PrepareCheckpoint); nil when
	// they failed, and record's checkpoint then does them itself.
	prepared chan *ledger.CheckpointBase
}

// rsmf reports whether the production holds RSMF, dat whether DAT.
func (p *producer) rsmf() bool  { return p.o.Format != FormatDAT }
func (p *producer) datOn() bool { return p.o.Format != FormatRSMF }

// chooseCheckpoint picks the checkpoint the messages are proved against:
// the first stored one that covers every selected entry, so that a
// production made again later, after more entries and checkpoints, proves
// against the same one and is byte for byte the same. If none covers them
// it signs one.
func (p *producer) chooseCheckpoint(ctx context.Context, convs []*convEntry) error {
	var top uint64
	for _, c := range convs {
		if c.leaf != nil {
			top = max(top, c.seq)
		}
		for _, m := range c.msgs {
			top = max(top, m.seq) // its earlier captures come before it
		}
	}
	found := false
	for _, cp := range p.s.cps {
		if cp.Size > top {
			p.cp, found = cp, true
			break
		}
	}
	if !found {
		if p.o.SignerKey == "" {
			return fmt.Errorf("produce: %w: no checkpoint covers entry %d, and no signer key to sign one", ledger.ErrNotCovered, top)
		}
		cp, err := p.d.Ledger.Checkpoint(ctx, p.o.SignerKey)
		if err != nil {
			return fmt.Errorf("produce: sign a checkpoint for the proofs: %w", err)
		}
		p.cp, p.res.SignedForProof = cp, true
	}
	if p.cp.Size > uint64(len(p.s.hashes)) {
		return fmt.Errorf("produce: the ledger grew while it was read (checkpoint of %d entries, %d read); run produce again", p.cp.Size, len(p.s.hashes))
	}
	noted, err := hashchain.VerifyCheckpoint(p.cp.Note, p.o.VerifierKey)
	if err != nil {
		return fmt.Errorf("produce: checkpoint %d: %w", p.cp.ID, err)
	}
	p.tree = hashchain.NewTree(p.s.hashes[:p.cp.Size])
	if noted.Size != p.cp.Size || noted.Root != p.tree.Root() {
		return fmt.Errorf("produce: %w: the ledger's entries do not have the root checkpoint %d signed; run 'custody verify'", ledger.ErrInconsistent, p.cp.ID)
	}
	p.cpText = fmt.Sprintf("%d %s", noted.Size, noted.Root)
	if p.att, err = p.d.Ledger.Attested(ctx, p.cp); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	if p.proofTail, err = proofTail(p.att.Note, p.att.Timestamps); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	p.res.ProofTreeSize = noted.Size
	return nil
}

// proof writes the proof file of the entry at seq and returns its path;
// w's buffer holds it while it is written. strict says the scan found
// the leaf hashing to lh strict: bytes with that hash need no new check.
func (p *producer) proof(w *worker, seq uint64, leafBytes []byte, lh hashchain.Hash, strict bool) (string, error) {
	if hashchain.LeafHash(leafBytes) != lh {
		return "", fmt.Errorf("produce: %w: entry %d does not hash to its stored leaf hash", ledger.ErrInconsistent, seq)
	}
	if !strict {
		if err := leaf.CheckLeaf(leafBytes); err != nil {
			return "", fmt.Errorf("produce: %w: entry %d: %w", ledger.ErrInconsistent, seq, err)
		}
	}
	path, err := p.tree.InclusionProof(seq)
	if err != nil {
		return "", fmt.Errorf("produce: %w", err)
	}
	pf := leaf.Proof{Format: leaf.ProofFormat, Index: seq, TreeSize: p.cp.Size, Leaf: leafBytes, LeafHash: lh, Inclusion: path}
	p.att.Attach(&pf)
	name := production.ProofPath(seq)
	w.proof = appendProof(w.proof[:0], &pf, p.proofTail)
	return name, p.out.write(name, w.proof, true)
}

func (p *producer) produce(ctx context.Context, convs []*convEntry) error {
	sel := p.o.Selection
	p.man = production.Manifest{
		Format: production.Format, Matter: p.d.Ledger.Matter(), Origin: p.d.Ledger.Origin(),
		Selection: production.Selection{Conversations: nonNil(sel.Conversations), DiffRunID: sel.DiffRunID,
			Interval: sel.Interval, LegalHoldOnly: sel.LegalHoldOnly},
		Checkpoint:  production.Checkpoint{File: production.CheckpointFile, Size: p.cp.Size, Root: p.tree.Root().String()},
		VerifierKey: production.VerifierKeyFile,
		Erased:      p.erased,
	}
	if p.rsmf() {
		p.man.Formats = append(p.man.Formats, FormatRSMF)
	}
	if p.datOn() {
		p.man.Formats = append(p.man.Formats, FormatDAT)
	}
	// The checkpoint file is the note the proofs carry, cosignatures
	// and all, so that verify --production finds them the same bytes.
	if err := p.out.write(production.CheckpointFile, p.att.Note, true); err != nil {
		return err
	}
	if err := p.out.write(production.VerifierKeyFile, []byte(p.o.VerifierKey+"\n"), true); err != nil {
		return err
	}
	// Conversations are produced in parallel, each into its own slot;
	// the slots are put together in order, so the output does not depend
	// on the schedule. DAT control numbers are handed out beforehand:
	// each message takes one and each stored attachment one more.
	total := 0
	for _, c := range convs {
		total += len(c.msgs)
	}
	p.msgs = make([]msgRec, 0, total)
	p.man.Conversations = make([]production.Conversation, 0, len(convs))
	p.out.files = slices.Grow(p.out.files, total+2*len(convs)+8)
	if p.datOn() {
		p.out.files = slices.Grow(p.out.files, 2*total)
	}
	results := make([]*convResult, len(convs))
	next := p.o.Start
	starts := make([]int, len(convs))
	for i, c := range convs {
		starts[i] = next
		for _, m := range c.msgs {
			next += family(m)
			for _, e := range m.earlier {
				next += family(e)
			}
		}
	}
	// Start < 10^Digits ≤ 10^12 (defaults), so next cannot wrap.
	if p.datOn() && next-1 >= pow10(p.o.Digits) {
		return fmt.Errorf("produce: control numbers up to %d do not fit in %d digits", next-1, p.o.Digits)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Workers take runs of consecutive conversations (chunks), so that
	// the leaves of a chunk's messages are read from the ledger in one
	// query instead of one a conversation.
	work := make(chan chunk)
	workers := max(baseWorkers, min(evidence.Parallelism(p.d.Store), maxWorkers))
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{rd: &reader{store: p.d.Store, dir: p.out.tmp}}
			defer w.rd.release()
			for ch := range work {
				if err := p.chunk(ctx, w, convs[ch.lo:ch.hi], starts[ch.lo:ch.hi], results[ch.lo:ch.hi]); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, ch := range chunks(convs) {
		select {
		case work <- ch:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var dat, opt bytes.Buffer
	if p.datOn() {
		dat.WriteString(datBOM)
		writeRecord(&dat, DATColumns)
	}
	for i, r := range results {
		results[i] = nil // merged: let it go
		p.man.Conversations = append(p.man.Conversations, r.conv)
		p.msgs = append(p.msgs, r.msgs...)
		p.res.Messages += len(r.msgs)
		for _, m := range r.msgs {
			if m.latest != 0 {
				p.res.EarlierCaptures++
			}
		}
		p.res.Attachments += r.attachments
		p.res.RSMFFiles += len(r.conv.RSMF)
		p.res.DATRows += r.dat.rows
		dat.Write(r.dat.dat.Bytes())
		opt.Write(r.dat.opt.Bytes())
	}
	if p.datOn() {
		if err := p.out.write(production.DATFile, dat.Bytes(), true); err != nil {
			return err
		}
		if opt.Len() > 0 {
			if err := p.out.write(production.OPTFile, opt.Bytes(), true); err != nil {
				return err
			}
		}
	}
	p.res.Conversations = len(convs)
	return nil
}

// family is how many DAT control numbers a message capture takes: one,
// and one for each attachment stored.
func family(m *msgEntry) int {
	n := 1
	for _, r := range m.media {
		if r.Evidence != "" {
			n++
		}
	}
	return n
}

// baseWorkers is how many conversations are produced at once from a
// local store: the work is mostly creating files, which waits on the file
// system. A remote store's reads wait on round trips: as many workers as
// it keeps reads in flight (evidence.Parallelism), up to maxWorkers.
const baseWorkers = 4

// maxWorkers bounds the workers a remote store gets: a worker holds its
// conversation's objects whole (attachments up to heldLimit), so memory
// grows with the workers; S3 asks for 64 requests in flight, which suits
// reads that are streamed or small.
const maxWorkers = 16

// chunkMessages is about how many messages a worker takes at once (a
// conversation is never split).
const chunkMessages = 256

// chunk is the conversations convs[lo:hi] of a production.
type chunk struct{ lo, hi int }

// chunks cuts convs into runs of about chunkMessages messages.
func chunks(convs []*convEntry) []chunk {
	var out []chunk
	for lo := 0; lo < len(convs); {
		hi, n := lo, 0
		for hi < len(convs) && (hi == lo || n+len(convs[hi].msgs) <= chunkMessages) {
			n += len(convs[hi].msgs)
			hi++
		}
		out = append(out, chunk{lo, hi})
		lo = hi
	}
	return out
}

// worker is one producing goroutine's state: buffers reused from one
// file to the next.
type worker struct {
	rd    *reader
	proof []byte
	zip   zipper
	zs    zipSink // the rsmf.zip being built; its memory is reused
	rsmf  bytes.Buffer
	man   bytes.Buffer // the rsmf_manifest.json being zipped
	// leaves holds the leaf bytes of the chunk being produced.
	leaves []byte
}

// trim lets go of buffers a conversation with large attachments grew,
// as reader.next does.
func (w *worker) trim() {
	if cap(w.zs.mem) > keptBuffer {
		w.zs.mem = nil
	}
	if w.rsmf.Cap() > keptBuffer {
		w.rsmf = bytes.Buffer{}
	}
}

func pow10(n int) int {
	x := 1
	for range n {
		x *= 10
	}
	return x
}

func (p *producer) custodian() string {
	if p.o.Custodian != "" {
		return p.o.Custodian
	}
	return p.d.Ledger.Matter()
}

// convResult is one conversation's part of the manifest and the DAT.
type convResult struct {
	conv        production.Conversation
	msgs        []msgRec
	attachments int
	dat         datPart
}

// chunk produces the conversations convs, the first DAT control number of
// each in starts, their results into results.
func (p *producer) chunk(ctx context.Context, w *worker, convs []*convEntry, starts []int, results []*convResult) error {
	leaves, err := p.leaves(ctx, w, convs)
	if err != nil {
		return err
	}
	for i, c := range convs {
		if results[i], err = p.conversation(ctx, w, c, starts[i], leaves); err != nil {
			return err
		}
	}
	return nil
}

// conversation produces one conversation: its messages read from the
// evidence, their proofs, its .rsmf files and its DAT rows (control
// numbers from ctrl on).
func (p *producer) conversation(ctx context.Context, w *worker, c *convEntry, ctrl int, leaves map[uint64][]byte) (*convResult, error) {
	rd := w.rd
	rd.next()
	w.trim()
	facts, err := rd.conversation(ctx, c)
	if err != nil {
		return nil, err
	}
	res := &convResult{dat: datPart{o: p.o, custodian: p.custodian(), next: ctrl}, msgs: make([]msgRec, 0, len(c.msgs))}
	mc := production.Conversation{ID: c.id, LegalHold: c.holds.Held(), HoldSource: c.holds.Sources(), RunID: c.runID, Messages: len(c.msgs)}
	if h := c.holds.Matter; h != nil {
		mc.MatterHold = &production.MatterHold{Seq: h.Seq, Reason: h.Reason}
	}
	if c.leaf != nil {
		mc.Seq, mc.LeafHash = c.seq, c.leafHash.String()
		if mc.Proof, err = p.proof(w, c.seq, c.leaf, c.leafHash, c.strict); err != nil {
			return nil, err
		}
	}
	ps := &people{byID: map[string]*person{}}
	msgs := make([]*message, 0, len(c.msgs))
	for _, me := range c.msgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := rd.message(ctx, me)
		if err != nil {
			return nil, err
		}
		identify(m, facts, ps)
		// Its earlier captures (earlierOf), each produced as itself: its
		// own object, proof and attachments.
		for _, ee := range me.earlier {
			em, err := rd.message(ctx, ee)
			if err != nil {
				return nil, err
			}
			identify(em, facts, ps)
			m.earlier = append(m.earlier, em)
		}
		for i, x := range append([]*message{m}, m.earlier...) {
			proof, err := p.proof(w, x.seq, leaves[x.seq], x.leafHash, x.strict)
			if err != nil {
				return nil, err
			}
			x.proof = proof
			pm := msgRec{seq: x.seq, leafHash: x.leafHash, convID: c.id, msgID: x.msgID, latest: x.latest}
			if p.datOn() {
				var latest *message
				if i > 0 {
					latest = m
				}
				if pm.ctrl, err = res.dat.message(p.out, c, x, proof, latest); err != nil {
					return nil, err
				}
				x.ctrl = pm.ctrl
			}
			res.msgs = append(res.msgs, pm)
			if i == 0 || p.datOn() {
				res.attachments += len(x.attachments) // an earlier capture's are DAT natives only
			}
		}
		msgs = append(msgs, m)
	}
	if p.rsmf() {
		files, err := p.writeRSMF(w, c, &mc, msgs, ps)
		if err != nil {
			return nil, err
		}
		mc.RSMF = files
	}
	res.conv = mc
	return res, nil
}

// leaves reads the leaf bytes of the messages of convs from the ledger,
// into w.leaves: they are valid until the worker's next chunk.
func (p *producer) leaves(ctx context.Context, w *worker, convs []*convEntry) (map[uint64][]byte, error) {
	var seqs []uint64
	for _, c := range convs {
		for _, m := range c.msgs {
			seqs = append(seqs, m.seq)
			for _, e := range m.earlier {
				seqs = append(seqs, e.seq)
			}
		}
	}
	slices.Sort(seqs)
	// LeavesAt calls back in the order of seqs: ends[i] is where the
	// leaf of seqs[i] ends in w.leaves.
	ends := make([]int, 0, len(seqs))
	w.leaves = w.leaves[:0]
	err := p.d.Ledger.LeavesAt(ctx, seqs, func(_ uint64, leaf []byte) error {
		w.leaves = append(w.leaves, leaf...)
		ends = append(ends, len(w.leaves))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("produce: conversations %s to %s: %w", convs[0].id, convs[len(convs)-1].id, err)
	}
	out := make(map[uint64][]byte, len(seqs))
	at := 0
	for i, end := range ends {
		out[seqs[i]] = w.leaves[at:end:end]
		at = end
	}
	return out, nil
}

// record writes the manifest, keeps it as evidence, appends the
// production entry, signs a checkpoint over it and writes its proof.
func (p *producer) record(ctx context.Context) error {
	base := <-p.prepared
	files := p.out.sorted()
	earlier := false
	for i := range p.msgs {
		earlier = earlier || p.msgs[i].latest != 0
	}
	p.man.Format = production.FormatOf(earlier) // v1 unless an earlier capture is listed
	data, err := marshalManifest(&p.man, p.msgs, files)
	if err != nil {
		return err
	}
	p.res.Files = len(files) + 2
	sel := p.man.Selection
	p.man, p.msgs, p.out.files = production.Manifest{}, nil, nil // marshalled: only its bytes are needed now
	// Kept as evidence (which waits for the store's fsync) while the
	// production's copy is written.
	type put struct {
		ref evidence.Ref
		err error
	}
	kept := make(chan put, 1)
	go func() {
		ref, err := p.d.Store.Put(ctx, data)
		kept <- put{ref, err}
	}()
	werr := p.out.write(production.ManifestFile, data, false)
	sum := sha256.Sum256(data)
	p.res.ManifestSHA256 = hex.EncodeToString(sum[:])
	k := <-kept
	if werr != nil {
		return werr
	}
	ref, err := k.ref, k.err
	if err != nil {
		return fmt.Errorf("produce: keep the manifest as evidence: %w", err)
	}
	detail, err := leaf.EncodeDetail(&leaf.ProductionDetail{
		Conversations: p.res.Conversations, Files: p.res.Files, Format: p.o.Format,
		ManifestEvidenceSHA256: ref.Sum.String(), ManifestSHA256: p.res.ManifestSHA256, Messages: p.res.Messages,
		ProofTreeSize: p.cp.Size,
		Selection: leaf.ProductionSelection{Conversations: sel.Conversations, DiffRunID: sel.DiffRunID,
			Interval: sel.Interval, LegalHoldOnly: sel.LegalHoldOnly},
	})
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	// The folder takes the seq of its entry in its name (claim) in the
	// transaction that appends the entry: killed after the commit (kill
	// -9, power loss), a production recorded but not yet in place is
	// found, and finished, by the next run into the same --out (resume).
	// A production's manifest is the same bytes each time the same
	// selection is produced, so its hash alone cannot tell which entry a
	// folder is.
	var seq uint64
	err = p.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		head, err := tx.Head()
		if err != nil {
			return err
		}
		if err := p.out.claim(head.Size); err != nil {
			return err
		}
		// Recorded with the entry: no longer a leftover to look for.
		if err := setStaging(tx, p.out.tmp, false); err != nil {
			return err
		}
		// Which folder claimed entry seq, committed with it: a folder
		// renamed .entry-SEQ by a run whose transaction did not commit
		// has the same name but for its random part, and, when SEQ is
		// later taken by the same selection produced again, the same
		// manifest.
		if err := tx.SetState(claimKey(head.Size), filepath.Base(p.out.tmp)); err != nil {
			return err
		}
		es, err := tx.Append(leaf.Entry{Kind: leaf.KindProduction, Detail: detail})
		if err != nil {
			return err
		}
		if es[0].Seq != head.Size {
			return fmt.Errorf("appended at seq %d, not %d", es[0].Seq, head.Size)
		}
		seq = es[0].Seq
		return nil
	})
	if err != nil {
		return fmt.Errorf("produce: record the production: %w", err)
	}
	p.res.Seq = seq
	// Recorded: what is left — the checkpoint over the entry (which may
	// wait on timestamp authorities and witnesses), its proof, the
	// rename — is finished whatever comes (Ctrl-C), so that the entry
	// names a production that is there; after a failure (or a kill) the
	// folder is kept for the next run to finish.
	ctx = context.WithoutCancel(ctx)
	if p.o.SignerKey == "" {
		return errors.New("produce: no signer key to sign the checkpoint over the production")
	}
	if _, err := p.d.Ledger.CheckpointFrom(ctx, p.o.SignerKey, base); err != nil {
		return fmt.Errorf("produce: sign the checkpoint over the production: %w", err)
	}
	// The leaf hashes read by the scan spare the proof reading them again.
	pf, err := p.d.Ledger.ProveWith(ctx, p.res.Seq, p.s.hashes)
	if err != nil {
		return fmt.Errorf("produce: prove the production entry: %w", err)
	}
	pdata, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return p.out.write(production.ProofFile, append(pdata, '\n'), false)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
