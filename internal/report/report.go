package report

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/verify"
)

//go:embed report.tmpl
var tmplText string

//go:embed report.css
var cssText string

// reportTemplate is report.tmpl parsed, on first use: parsing it took
// 2 ms at every start of the binary, whatever the command.
var reportTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(funcs).Parse(tmplText))
})

// Proof policies: which messages get a proof file beside the report.
const (
	ProofsHeld = "held" // messages of conversations under legal hold
	ProofsAll  = "all"
	ProofsNone = "none"
)

// DiffNone as Options.Diff: report on no diff.
const DiffNone = "none"

// RunKindReport is the run id prefix of a report's entry.
const RunKindReport = "report"

// Errors callers match with errors.Is.
var (
	// ErrExists: the output folder already holds a report; a report is
	// never overwritten (its hash is in the ledger).
	ErrExists = errors.New("a report is already there")
	// ErrInterval: Options.Interval is not an interval.
	ErrInterval = errors.New("not an interval")
	// ErrEmptySelection: Options.Conversations or Options.Interval
	// selects no message. An empty report would look like a finding of
	// nothing; nothing is written or recorded (produce refuses the same).
	ErrEmptySelection = errors.New("the selection holds no message")
)

// Options configure Generate.
type Options struct {
	// Out is the folder written into (created if missing); it must not
	// hold a report already.
	Out string
	// Diff is the recorded diff run to report on: a run id, "latest"
	// (also when empty: the latest if there is one) or DiffNone.
	Diff string
	// Conversations, when not empty, limits the transcripts to these.
	Conversations []string
	// Interval, when set (START/END, export.ParseInterval's forms), limits
	// the transcripts to messages sent in it.
	Interval string
	// Location is the matter's time zone, beside UTC (default UTC).
	Location *time.Location
	Operator string
	Tool     Tool
	// SignerKey signs the checkpoint after the report's entry; empty
	// records the entry without signing.
	SignerKey   string
	VerifierKey string
	// External are checkpoints kept outside the ledger, checked and listed.
	External []verify.ExternalCheckpoint
	// Proofs says which messages get a proof file (ProofsHeld default).
	Proofs string
	// PageAbove is how many conversations report.html holds inline; past
	// it transcripts go to pages of PerPage conversations (defaults 2,000
	// and 500).
	PageAbove, PerPage int
	// NoVerify skips verifying the ledger and evidence: page 1, section 6
	// and report.json (not_verified) say so, the certificate is withheld,
	// and the report is not recorded (as NoRecord); for benchmarks of
	// rendering alone.
	NoVerify bool
	// NoRecord writes the files but appends nothing (a read-only matter).
	NoRecord bool
	Now      func() time.Time
}

// Result is what Generate wrote.
type Result struct {
	Dir      string            `json:"dir"`
	HTML     string            `json:"html"`
	JSON     string            `json:"json"`
	Files    []leaf.ReportFile `json:"files"`
	Proofs   int               `json:"proofs"`
	Seq      *uint64           `json:"seq,omitempty"` // of the report entry
	RunID    string            `json:"run_id"`
	Messages int               `json:"messages"`
	Convs    int               `json:"conversations"`
	DiffRun  string            `json:"diff_run_id,omitempty"`
	Verified bool              `json:"verified"`
	// EvidenceAltered counts the messages and conversation objects the
	// transcripts read from evidence that does not hash to its address
	// (shown as evidence_altered, none of their content): verification
	// then failed whatever it found, and the certificate is withheld.
	EvidenceAltered int `json:"evidence_altered,omitempty"`
	// EvidenceMissing counts, likewise, the messages and conversation
	// objects whose evidence the transcripts found missing from the
	// store (evidence_missing).
	EvidenceMissing int `json:"evidence_missing,omitempty"`
	// CheckpointRefused says why no checkpoint was signed after the
	// report's entry: the ledger failed verification and is inconsistent
	// with its signed checkpoints (tampered), so custody signs none over
	// it. The report, which says so in section 6, is recorded all the same.
	CheckpointRefused string `json:"checkpoint_refused,omitempty"`
	// Completed: the report is one an earlier run recorded (Seq) and was
	// stopped (kill -9) before its files took their names; this run gave
	// them their names and recorded nothing. Proofs is then not counted.
	Completed bool `json:"completed,omitempty"`
	// Removed are report files under their temporary names that earlier
	// runs left and that no report entry names (never recorded), removed.
	Removed []string `json:"removed_leftovers,omitempty"`
}

// Generate writes the report of the matter whose ledger is l and whose
// evidence is store into o.Out, records its files' hashes in the ledger
// (unless o.NoRecord) and signs a checkpoint (with o.SignerKey). A report
// that fails removes what it wrote, and the folders it created for it
// (o.Out and any missing parent) when they are empty then.
func Generate(ctx context.Context, l *ledger.Ledger, store evidence.Store, o Options) (*Result, error) {
	made := missingDirs(o.Out)
	res, err := generate(ctx, l, store, o)
	if err != nil {
		// Deepest first; a folder that holds anything (a report recorded
		// and left unfinished, someone else's file) stays.
		for _, d := range made {
			os.Remove(d)
		}
	}
	return res, err
}

// missingDirs lists dir and those of its parents that do not exist,
// deepest first: what os.MkdirAll(dir) would create.
func missingDirs(dir string) []string {
	var missing []string
	for d := filepath.Clean(dir); ; {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = append(missing, d)
		parent := filepath.Dir(d)
		if parent == d {
			return missing
		}
		d = parent
	}
}

func generate(ctx context.Context, l *ledger.Ledger, store evidence.Store, o Options) (*Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.NoVerify {
		// A report over a ledger nobody verified is never recorded: its
		// entry would make it custody's report of that ledger (verify
		// --report matches it, later reports list it as recorded) and
		// the checkpoint signed after it would vouch for whatever the
		// ledger holds, tampered or not. Its files say it is not verified.
		o.NoRecord = true
	}
	o.Proofs = cmpOr(o.Proofs, ProofsHeld)
	if !slices.Contains([]string{ProofsHeld, ProofsAll, ProofsNone}, o.Proofs) {
		return nil, fmt.Errorf("report: proofs %q: want held, all or none", o.Proofs)
	}
	if o.PageAbove <= 0 {
		o.PageAbove = 2000
	}
	if o.PerPage <= 0 {
		o.PerPage = 500
	}
	show, filterText, err := o.filter()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	// A report recorded and killed before its files took their names is
	// finished, not written and recorded again.
	u, stale, err := findUnfinished(ctx, l, o.Out)
	if err != nil {
		return nil, err
	}
	if u != nil {
		if o.NoRecord {
			return nil, fmt.Errorf("report: %w: %s holds the files of report entry %d under their temporary names (.NAME.partial), left by an earlier report stopped after recording them: run custody report without --no-record into it to finish it",
				ErrUnfinished, o.Out, u.entry.Seq)
		}
		return u.finish(ctx, l, o)
	}
	// proofs too, whatever --proofs says: an earlier report's proofs
	// beside this one would read as its own.
	for _, name := range []string{"report.html", "report.json", proofsDir} {
		if _, err := os.Lstat(filepath.Join(o.Out, name)); err == nil {
			return nil, fmt.Errorf("report: %s: %w (a report is never overwritten: choose another --out)", filepath.Join(o.Out, name), ErrExists)
		}
	}
	// The writer lock is this matter's, not the folder's: temporary files
	// of another matter's whole report (recorded, maybe, in its ledger,
	// and killed before the renames) are neither removed here nor
	// replaced by this report's (create).
	if other := otherMatter(o.Out, l.Origin()); other != "" {
		return nil, fmt.Errorf("report: %w: %s holds the files of a report of another matter (origin %s) under their temporary names (.NAME.partial), left by a report of it stopped before they took their names: run custody report of that matter into it to finish it, or give another --out",
			ErrUnfinished, o.Out, other)
	}
	var removed []string
	if !o.NoRecord {
		// Temporary files no report entry names were never recorded: this
		// matter's (the writer lock is held), and of no use.
		for _, name := range stale {
			if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("report: remove %s, left by an earlier report and never recorded: %w", name, err)
			}
			removed = append(removed, name)
		}
		// And the proofs of such a report.
		tmp := filepath.Join(o.Out, partialName(proofsDir))
		if _, err := os.Lstat(tmp); err == nil {
			if err := os.RemoveAll(tmp); err != nil {
				return nil, fmt.Errorf("report: remove %s, left by an earlier report and never recorded: %w", tmp, err)
			}
			removed = append(removed, tmp)
		}
	}
	now := o.Now().UTC()
	// Verification first: its memory is free again before the report's
	// own pass, so the two do not add up.
	// The head before verification: only a head that moved since means
	// the ledger changed while being read; any other disagreement
	// between verify and this report is the ledger's own (tampering).
	headBefore, err := l.Head(ctx)
	if err != nil {
		return nil, err
	}
	vi, err := verifyFirst(ctx, l, store, o)
	if err != nil {
		return nil, err
	}
	vi.head = headBefore
	lf, err := readLedger(ctx, l, show, o.Proofs != ProofsNone, vi.bad)
	if err != nil {
		return nil, err
	}
	// The transcripts' conversations, in order: what the report lists,
	// and what its certificate counts.
	var convs []*convState
	listed := 0
	for _, c := range lf.order {
		if show == nil || c.shown > 0 {
			convs = append(convs, c)
			listed += c.shown
		}
	}
	if show != nil && listed == 0 {
		return nil, fmt.Errorf("report: %w: %s", ErrEmptySelection, filterText)
	}
	doc := &Doc{Format: FormatID, NotVerified: o.NoVerify, GeneratedAt: formatTime(now), Operator: o.Operator, TimeZone: o.Location.String(), Tool: o.Tool,
		Matter: MatterInfo{Origin: l.Origin(), VerifierKey: l.VerifierKey()}}
	// The name the entries commit to, not the state row's (not chained).
	doc.Matter.Name, lf.nameDisagree = matterName(l.Matter(), lf)
	if ev, ok, _ := l.State(ctx, "evidence_url"); ok {
		doc.Matter.Evidence = ev
	} else if store != nil {
		doc.Matter.Evidence = store.URL()
	}
	var df *diffFacts
	diffRun := cmpOr(o.Diff, "latest")
	if diffRun != DiffNone && o.Diff == "" {
		// The latest diff, unasked for by name, whose findings an erasure
		// deleted: the report is written without it and says so, rather
		// than not at all (an erasure under --override-hold is what an
		// auditor most needs to read of). Asked for by name, it fails.
		if doc.DiffErased, err = erasedDiff(ctx, l, store, lf, cmpOr(o.VerifierKey, l.VerifierKey())); err != nil {
			return nil, err
		}
		if doc.DiffErased != nil {
			diffRun = DiffNone
		}
	}
	if diffRun != DiffNone {
		df, err = readDiff(ctx, l, store, diffRun, lf)
		if errors.Is(err, reconcile.ErrNoDiff) && o.Diff == "" {
			df, err = nil, nil // no diff yet: the report says so
		}
		if err != nil {
			return nil, err
		}
	}
	doc.Transcripts.Conversations, doc.Transcripts.Messages = len(convs), listed
	if err := fillDoc(ctx, l, store, o, doc, lf, df, vi); err != nil {
		return nil, err
	}
	doc.Transcripts.Filter = filterText
	paged := len(convs) > o.PageAbove
	res := &Result{Dir: o.Out, HTML: filepath.Join(o.Out, "report.html"), JSON: filepath.Join(o.Out, "report.json"),
		Convs: len(convs), Messages: doc.Transcripts.Messages, Verified: doc.Integrity.Verified.OK, Removed: removed}
	if df != nil {
		res.DiffRun = df.run.ID
	}
	page := func(i int) string {
		if !paged {
			return "report.html"
		}
		return fmt.Sprintf("transcripts-%04d.html", i/o.PerPage+1)
	}
	if paged {
		for i := 0; i < len(convs); i += o.PerPage {
			doc.Transcripts.Pages = append(doc.Transcripts.Pages, page(i))
		}
	} else {
		doc.Transcripts.Pages = []string{"report.html"}
	}
	convPage := map[string]string{}
	for i, c := range convs {
		convPage[c.id] = page(i)
	}

	// Proofs against the latest checkpoint.
	var pr *prover
	var cp ledger.StoredCheckpoint
	// att is the checkpoint's tokens and cosignatures, read once: every
	// proof carries them, as custody prove's do.
	var att ledger.Attested
	if o.Proofs != ProofsNone {
		var ok bool
		if cp, ok, err = l.LatestCheckpoint(ctx); err != nil {
			return nil, err
		} else if ok && cp.Size <= lf.size {
			pr = newProver(lf.leafHashes[:cp.Size])
			switch {
			case pr.mth(0, cp.Size) == cp.Root:
				if att, err = l.Attested(ctx, cp); err != nil {
					return nil, fmt.Errorf("report: %w", err)
				}
			case !doc.Integrity.Verified.OK:
				// A tampered ledger: the report is still written, saying
				// what failed (section 6), with no proof that could not
				// hold; the messages show the custody prove command.
				pr = nil
			default:
				return nil, fmt.Errorf("report: the ledger's leaf hashes do not lead to checkpoint %d's root: run custody verify", cp.ID)
			}
		}
	}
	var proofs atomic.Int64
	fs := &fileSet{dir: o.Out}
	defer fs.abort()
	var proofDir string // the proofs' folder until commit
	if pr != nil {
		if proofDir, err = fs.createDir(proofsDir); err != nil {
			return nil, err
		}
	}
	t := &transcriber{l: l, store: store, loc: o.Location, diff: df, show: show, erasure: lf.erasure, bad: vi.bad}
	if pr != nil {
		t.proofs = func(c *convState, e *leaf.Entry) (string, error) {
			if e.Seq >= cp.Size || (o.Proofs == ProofsHeld && !c.held) {
				return "", nil
			}
			path, err := pr.proof(e.Seq)
			if err != nil {
				return "", err
			}
			p := leaf.Proof{Format: leaf.ProofFormat, Index: e.Seq, TreeSize: cp.Size, Leaf: e.Leaf, LeafHash: e.LeafHash, Inclusion: path}
			att.Attach(&p)
			if err := hashchain.VerifyInclusion(p.Index, p.TreeSize, p.LeafHash, p.Inclusion, cp.Root); err != nil {
				return "", fmt.Errorf("report: proof of seq %d: %w", e.Seq, err)
			}
			b, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				return "", err
			}
			base := fmt.Sprintf("%d.proof.json", e.Seq)
			if err := writeSynced(filepath.Join(proofDir, base), append(b, '\n')); err != nil {
				return "", fmt.Errorf("report: %w", err)
			}
			proofs.Add(1)
			return proofsDir + "/" + base, nil
		}
	}

	view := &view{Doc: doc, CSS: template.CSS(cssText), Title: "custody report: " + doc.Matter.Name, convPage: convPage, paged: paged}
	jw, err := fs.create("report.json")
	if err != nil {
		return nil, err
	}
	// The transcripts are spooled and the files written once they are
	// read: section 1 and report.json's head (the summary) state what the
	// transcripts met — attachments not held, evidence altered — and
	// those come before the transcripts in both files.
	jspool, err := newSpool(o.Out, "report-conversations")
	if err != nil {
		return nil, err
	}
	defer jspool.remove()
	var hw *bufio.Writer // the page being written
	var body *spool      // report.html's transcripts, unpaged
	if !paged {
		if body, err = newSpool(o.Out, "report-body"); err != nil {
			return nil, err
		}
		defer body.remove()
		hw = body.w
	}
	var index []*Conversation
	keptShown := 0           // attachments the transcripts show kept: the certificate's
	var notHeld notHeldCount // Summary.NotDownloaded, counted by cause for the certificate
	notChecked := 0          // Summary.NotChecked
	// met counts the messages and conversation objects whose evidence
	// does not hash to its address, or is missing.
	var met evidenceMet
	// metRows are section 7's rows for them, read with the transcripts:
	// the exceptions follow the transcripts in report.json.
	var metRows []Exception
	// Conversations are read and rendered on every core, and written in
	// order; at most a few are in flight, so memory stays flat.
	results, stopRender := renderAll(ctx, t, convs, page)
	// A failure below stops the workers and waits for them: none is left
	// writing a proof file after Generate has returned.
	defer stopRender()
	for i := range convs {
		r, ok := <-results
		if !ok || r.err != nil {
			if r.err == nil {
				r.err = ctx.Err()
			}
			return nil, r.err
		}
		if paged && i%o.PerPage == 0 {
			if hw != nil {
				if err := reportTemplate().ExecuteTemplate(hw, "foot", view); err != nil {
					return nil, err
				}
			}
			if hw, err = fs.create(page(i)); err != nil {
				return nil, err
			}
			pv := *view
			pv.PageNo, pv.Pages = i/o.PerPage+1, len(doc.Transcripts.Pages)
			pv.Title = fmt.Sprintf("custody transcripts %d/%d: %s", pv.PageNo, pv.Pages, doc.Matter.Name)
			if err := reportTemplate().ExecuteTemplate(hw, "head", &pv); err != nil {
				return nil, err
			}
			if err := reportTemplate().ExecuteTemplate(hw, "pagetop", &pv); err != nil {
				return nil, err
			}
		}
		hw.Write(r.html)
		met.add(r.met)
		metRows = append(metRows, r.exceptions...)
		notHeld.add(r.notHeld)
		keptShown += r.kept
		notChecked += r.notChecked
		if i > 0 {
			io.WriteString(jspool.w, ",")
		}
		io.WriteString(jspool.w, "\n")
		jspool.w.Write(r.json)
		if paged {
			index = append(index, r.index)
		}
	}
	// The certificate comes after the transcripts, in both files: what
	// they met decides whether it is given.
	doc.Exceptions = sortExceptions(append(doc.Exceptions, metRows...))
	doc.Summary.NotDownloaded = notHeld.n
	doc.Summary.NotChecked = notChecked
	// The certificate's records are those its statement counts: the
	// transcripts', the selection's under a filter, not the matter's.
	doc.Certificate.Records = recordsText(doc, lf, o, keptShown)
	if show != nil {
		doc.Certificate.Records += fmt.Sprintf(" (those selected: %s; the matter holds %s and %s)", filterText,
			plural(doc.Summary.Conversations, "conversation", "conversations"), plural(doc.Summary.Messages, "message", "messages"))
	}
	if n := doc.Summary.NotDownloaded; n > 0 && !doc.Certificate.Withheld {
		// The messages are true copies; the attachments they name and the
		// ledger never held are not, and must not read as certified.
		doc.Certificate.Statement += fmt.Sprintf(" The messages name %s whose bytes custody never downloaded, no download tried (%s): %s not among the records certified, only the API's stated sha256 of each is shown; section 7 lists each (%s).",
			notHeldWhat(n, notHeld.header), notHeld.why(), map[bool]string{true: "it is", false: "they are"}[n == 1], KindMediaNotCaptured)
	}
	if n := doc.Summary.NotChecked; n > 0 && !doc.Certificate.Withheld {
		// Their bytes are certified as what the storage host served, not
		// as the attachment sent: nothing Genesys stated was there to
		// check them against.
		doc.Certificate.Statement += fmt.Sprintf(" Of the attachments kept, %s checked against nothing, the API having stated neither a sha256 nor a size: %s certified as the bytes the storage host served, not as the attachment sent; section 7 lists each (%s).",
			map[bool]string{true: "1 was", false: fmt.Sprintf("%d were", n)}[n == 1], map[bool]string{true: "it is", false: "they are"}[n == 1], KindMediaNotChecked)
	}
	if met.any() {
		withholdCertificate(doc, met, o.NoVerify)
		res.Verified, res.EvidenceAltered, res.EvidenceMissing = false, met.altered+met.alteredConvs, met.missing+met.missingConvs
	}
	head, err := marshalHead(doc)
	if err != nil {
		return nil, err
	}
	jhead, jtail, ok := strings.Cut(string(head), markerText)
	if !ok {
		return nil, errors.New("report: internal error: no transcripts in the document")
	}
	io.WriteString(jw, jhead)
	io.WriteString(jw, "[")
	if err := jspool.copyTo(jw); err != nil {
		return nil, err
	}
	jspool.remove() // before the entry: a report killed after it leaves none
	io.WriteString(jw, "]")
	io.WriteString(jw, jtail)
	io.WriteString(jw, "\n")
	if paged {
		if err := reportTemplate().ExecuteTemplate(hw, "foot", view); err != nil {
			return nil, err
		}
	}
	if hw, err = fs.create("report.html"); err != nil {
		return nil, err
	}
	names := []string{"head", "top"}
	if paged {
		view.Doc.Transcripts.Items = index
		names = append(names, "index")
	}
	for _, name := range names {
		if err := reportTemplate().ExecuteTemplate(hw, name, view); err != nil {
			return nil, err
		}
	}
	if body != nil {
		if err := body.copyTo(hw); err != nil {
			return nil, err
		}
		body.remove()
	}
	if err := reportTemplate().ExecuteTemplate(hw, "bottom", view); err != nil {
		return nil, err
	}
	if err := reportTemplate().ExecuteTemplate(hw, "foot", view); err != nil {
		return nil, err
	}
	res.Proofs = int(proofs.Load())
	files, err := fs.close()
	if err != nil {
		return nil, err
	}
	res.Files = files
	res.RunID = export.NewRunID(RunKindReport, now)
	// Cancelled while its last conversations were rendered, a report may
	// say "unreadable" of what was only interrupted: it is not kept.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.NoRecord {
		if err := fs.commit(); err != nil {
			return nil, err
		}
		return res, nil
	}
	// The folder, so that an erasure can name it among the places to
	// recall (a report holds the transcripts' text).
	outAbs, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	detail, err := leaf.EncodeDetail(&leaf.ReportDetail{Files: files, LedgerSize: lf.size, Operator: o.Operator, Out: outAbs,
		Root: doc.Integrity.Root, ToolVersion: o.Tool.Version, DiffRunID: res.DiffRun})
	if err != nil {
		return nil, err
	}
	wctx := context.WithoutCancel(ctx)
	out, err := l.Append(wctx, leaf.Entry{Kind: leaf.KindReport, RunID: res.RunID, Detail: detail})
	if err != nil {
		return nil, fmt.Errorf("report: record: %w", err)
	}
	res.Seq = &out[0].Seq
	afterRecord()
	// Recorded: the files take their names now, before the checkpoint
	// (which may wait on timestamp authorities and witnesses), so that
	// a report recorded is not left under its temporary names.
	if err := fs.commit(); err != nil {
		fs.files = nil // recorded: kept, for the next report into the folder to finish
		return nil, fmt.Errorf("report: recorded at seq %d, but its files are still in %s under their temporary names (.NAME.partial): %w; run the same report again to finish it", *res.Seq, o.Out, err)
	}
	if o.SignerKey != "" {
		if _, err := l.Checkpoint(wctx, o.SignerKey); err != nil {
			if errors.Is(err, ledger.ErrInconsistent) && !doc.Integrity.Verified.OK {
				// A tampered ledger, which the report says: custody signs
				// no checkpoint over it, and the report stands recorded.
				res.CheckpointRefused = err.Error()
				return res, nil
			}
			return res, fmt.Errorf("report: checkpoint: %w", err)
		}
	}
	return res, nil
}

// spool is a hidden file in the report's folder that holds what is
// written before what precedes it in the report is known; it is never
// one of the report's files, and is removed (one a killed report left
// is replaced by the next).
type spool struct {
	f *os.File
	w *bufio.Writer
}

func newSpool(dir, name string) (*spool, error) {
	path := filepath.Join(dir, "."+name+".spool")
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("report: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// copyTo writes what the spool holds to w.
func (s *spool) copyTo(w io.Writer) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := io.Copy(w, s.f); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// remove closes and removes the spool; again, it does nothing.
func (s *spool) remove() {
	if s.f == nil {
		return
	}
	s.f.Close()
	os.Remove(s.f.Name())
	s.f = nil
}

// rendered is one conversation, rendered.
type rendered struct {
	html, json []byte
	index      *Conversation // its line in a paged report's index
	// met counts its messages, and its conversation object (0 or 1),
	// whose evidence does not hash to its address or is missing.
	met evidenceMet
	// exceptions are section 7's rows for them (evidenceExceptions),
	// and for the attachments its messages name and the ledger holds no
	// bytes of (notHeld counts them: notHeldExceptions).
	exceptions []Exception
	notHeld    notHeldCount
	kept       int // attachments shown downloaded and kept
	notChecked int // of them, those checked against nothing stated (notCheckedExceptions)
	err        error
}

// renderAll reads and renders convs on GOMAXPROCS workers (as many as a
// remote store keeps reads in flight, evidence.Parallelism), each
// with a transcriber of its own, and delivers them in order on the
// channel it returns; it stops at the first error (delivered) or when ctx
// ends. stop ends the work early and returns once every goroutine it
// started has.
func renderAll(ctx context.Context, proto *transcriber, convs []*convState, page func(int) string) (results <-chan rendered, stop func()) {
	workers := max(1, runtime.GOMAXPROCS(0))
	if proto.store != nil {
		workers = max(workers, evidence.Parallelism(proto.store))
	}
	out := make(chan rendered, workers)
	ctx, cancel := context.WithCancel(ctx)
	type job struct {
		i   int
		res chan rendered
	}
	ordered := make(chan chan rendered, 2*workers)
	jobs := make(chan job)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		defer close(ordered)
		for i := range convs {
			res := make(chan rendered, 1)
			select {
			case ordered <- res:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, res}:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		t := &transcriber{l: proto.l, store: proto.store, loc: proto.loc, diff: proto.diff, proofs: proto.proofs, show: proto.show, erasure: proto.erasure, bad: proto.bad}
		wg.Go(func() {
			for j := range jobs {
				j.res <- t.render(ctx, convs[j.i], page(j.i))
			}
		})
	}
	wg.Go(func() {
		defer close(out)
		defer cancel()
		for res := range ordered {
			var r rendered
			select {
			case r = <-res:
			case <-ctx.Done():
				return
			}
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
			if r.err != nil {
				return
			}
		}
	})
	return out, func() {
		cancel()
		wg.Wait()
	}
}

// render reads one conversation and renders its HTML and JSON.
func (t *transcriber) render(ctx context.Context, c *convState, page string) rendered {
	conv, err := t.conversation(ctx, c)
	if err != nil {
		return rendered{err: err}
	}
	conv.Page = page
	var buf bytes.Buffer
	if err := reportTemplate().ExecuteTemplate(&buf, "conversation", conv); err != nil {
		return rendered{err: err}
	}
	js, err := json.Marshal(conv)
	if err != nil {
		return rendered{err: err}
	}
	r := rendered{html: buf.Bytes(), json: js, met: evidenceMet{altered: conv.EvidenceAltered, missing: conv.EvidenceMissing},
		index: &Conversation{ID: conv.ID, Held: conv.Held, Page: conv.Page, Findings: conv.Findings, Messages: make([]*Message, len(conv.Messages)), Erased: conv.Erased,
			EvidenceAltered: conv.EvidenceAltered, EvidenceMissing: conv.EvidenceMissing, participantsAltered: conv.participantsAltered, participantsMissing: conv.participantsMissing}}
	if conv.participantsAltered {
		r.met.alteredConvs = 1
	}
	if conv.participantsMissing {
		r.met.missingConvs = 1
	}
	r.exceptions = evidenceExceptions(c, conv)
	r.notHeld.count(conv)
	for _, m := range conv.Messages {
		for _, a := range m.Attachments {
			if a.Status == "downloaded" {
				r.kept++
			}
		}
	}
	r.exceptions = append(r.exceptions, notHeldExceptions(conv)...)
	r.notChecked = notCheckedCount(conv)
	r.exceptions = append(r.exceptions, notCheckedExceptions(conv)...)
	return r
}

// filter turns the options' conversation and interval limits into the
// test of a message the transcripts show, and says it in words.
func (o *Options) filter() (func(string, time.Time) bool, string, error) {
	if len(o.Conversations) == 0 && o.Interval == "" {
		return nil, "", nil
	}
	var parts []string
	ids := map[string]bool{}
	for _, id := range o.Conversations {
		ids[id] = true
	}
	if len(ids) > 0 {
		parts = append(parts, fmt.Sprintf("limited to %d conversations named", len(ids)))
	}
	var from, to time.Time
	if o.Interval != "" {
		iv, f, t, err := export.ParseInterval(o.Interval)
		if err != nil {
			return nil, "", fmt.Errorf("report: interval %q: %w: %w", o.Interval, ErrInterval, err)
		}
		from, to = f, t
		parts = append(parts, "messages sent in "+iv+" (and any whose timestamp cannot be read, which cannot be placed outside it)")
	}
	return func(conv string, at time.Time) bool {
		if len(ids) > 0 && !ids[conv] {
			return false
		}
		// at is zero for a timestamp that cannot be read: shown, not
		// dropped unsaid (produce refuses such a message outright).
		if o.Interval != "" && !at.IsZero() && (at.Before(from) || !at.Before(to)) {
			return false
		}
		return true
	}, strings.Join(parts, ", "), nil
}

// view is what the templates see.
type view struct {
	Doc      *Doc
	CSS      template.CSS
	Title    string
	PageNo   int
	Pages    int
	convPage map[string]string
	paged    bool
}

// ConvLink is the link to a conversation's transcript.
func (v *view) ConvLink(id string) string {
	p, ok := v.convPage[id]
	if !ok {
		return "#transcripts"
	}
	if !v.paged {
		return "#c-" + id
	}
	return p + "#c-" + id
}

// markerText stands, in report.json's head, where the conversations are
// streamed: random, so no text of the matter can be taken for it.
var markerText = func() string {
	var b [16]byte
	rand.Read(b[:])
	return `"@transcripts-` + hex.EncodeToString(b[:]) + `"`
}()

var markerMu sync.Mutex

// marshalHead marshals doc with the marker in the conversations' place.
func marshalHead(doc *Doc) ([]byte, error) {
	markerMu.Lock()
	defer markerMu.Unlock()
	streamMarker = markerText
	defer func() { streamMarker = `null` }()
	items := doc.Transcripts.Items
	doc.Transcripts.Items = nil
	defer func() { doc.Transcripts.Items = items }()
	return json.MarshalIndent(doc, "", " ")
}

// fileSet writes the report's files, hashing each as it goes. Each is
// written under a hidden temporary name (partialName) and renamed onto
// its own only by commit, once complete and recorded: a report cut short
// — Ctrl-C, a full disk, kill -9 — never leaves a report.html or
// report.json that could be taken for a complete one, nor one that
// keeps the folder from being used again.
type fileSet struct {
	dir   string
	files []*hashedFile
	dirs  []string // folders (proofsDir) written under partialName until commit
}

// proofsDir is the report's folder of proof files.
const proofsDir = "proofs"

// createDir makes the report's folder name, empty, under its temporary
// name, and returns that folder's path. As create, it never replaces a
// folder of the name itself (an earlier report's proofs, which this
// report's would otherwise be mixed into), and replaces one of the
// temporary name: left by a report killed before it was recorded.
func (s *fileSet) createDir(name string) (string, error) {
	if _, err := os.Lstat(filepath.Join(s.dir, name)); err == nil {
		return "", fmt.Errorf("report: %s: %w (a report is never overwritten: choose another --out)", filepath.Join(s.dir, name), ErrExists)
	}
	tmp := filepath.Join(s.dir, partialName(name))
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	s.dirs = append(s.dirs, name)
	return tmp, nil
}

// writeSynced writes a new file, durably: a recorded report names it.
func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

type hashedFile struct {
	name string
	f    *os.File
	h    hash.Hash
	w    *bufio.Writer
	n    int64
}

func (h *hashedFile) Write(p []byte) (int, error) {
	h.h.Write(p)
	h.n += int64(len(p))
	return h.f.Write(p)
}

// partialName is where the report's file name is written until commit:
// hidden, and plainly not the file itself.
func partialName(name string) string { return "." + name + ".partial" }

// create makes a new file (never replacing one under its own name) and
// returns its writer. A temporary file of that name left by a report
// killed before it was done is replaced: nothing was recorded of it, and
// a matter has one writer at a time.
func (s *fileSet) create(name string) (*bufio.Writer, error) {
	// As before the temporary names: a file of the report's own name
	// (a page left by an earlier report) is never replaced by commit.
	if _, err := os.Lstat(filepath.Join(s.dir, name)); err == nil {
		return nil, fmt.Errorf("report: %s: %w (a report is never overwritten: choose another --out)", filepath.Join(s.dir, name), ErrExists)
	}
	tmp := filepath.Join(s.dir, partialName(name))
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("report: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	hf := &hashedFile{name: name, f: f, h: sha256.New()}
	hf.w = bufio.NewWriterSize(hf, 256<<10)
	s.files = append(s.files, hf)
	return hf.w, nil
}

// close flushes, syncs and closes every file and returns their hashes,
// by name. The files keep their temporary names until commit; after an
// error abort still removes them.
func (s *fileSet) close() ([]leaf.ReportFile, error) {
	var out []leaf.ReportFile
	var errs []error
	for _, hf := range s.files {
		errs = append(errs, hf.w.Flush(), hf.f.Sync(), hf.f.Close())
		out = append(out, leaf.ReportFile{Name: hf.name, SHA256: hex.EncodeToString(hf.h.Sum(nil)), Size: hf.n})
	}
	for _, d := range s.dirs {
		errs = append(errs, fsinfo.SyncDir(filepath.Join(s.dir, partialName(d))))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("report: write: %w", err)
	}
	slices.SortFunc(out, func(a, b leaf.ReportFile) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// commit renames the folders and the closed files onto their names,
// report.html last (it names the others: present, the report is whole),
// and syncs the folder.
func (s *fileSet) commit() error {
	for len(s.dirs) > 0 {
		dst := filepath.Join(s.dir, s.dirs[0])
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("report: %s: %w (a report is never overwritten)", dst, ErrExists)
		}
		if err := os.Rename(filepath.Join(s.dir, partialName(s.dirs[0])), dst); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		s.dirs = s.dirs[1:]
	}
	for _, last := range []bool{false, true} {
		for i := 0; i < len(s.files); {
			hf := s.files[i]
			if (hf.name == "report.html") != last {
				i++
				continue
			}
			// A rename replaces: a file put under the name since the
			// report began (or beside a temporary file a rerun finishes)
			// is refused instead, as create refuses it.
			dst := filepath.Join(s.dir, hf.name)
			if _, err := os.Lstat(dst); err == nil {
				return fmt.Errorf("report: %s: %w (a report is never overwritten)", dst, ErrExists)
			}
			if err := os.Rename(filepath.Join(s.dir, partialName(hf.name)), dst); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			s.files = slices.Delete(s.files, i, i+1)
		}
	}
	if err := fsinfo.SyncDir(s.dir); err != nil {
		return fmt.Errorf("report: sync %s: %w", s.dir, err)
	}
	return nil
}

// abort closes and removes the files of a report that failed before they
// were complete and recorded (nothing was recorded of them), so the same
// --out can be used again.
func (s *fileSet) abort() {
	for _, hf := range s.files {
		hf.f.Close()
		os.Remove(filepath.Join(s.dir, partialName(hf.name)))
	}
	for _, d := range s.dirs {
		os.RemoveAll(filepath.Join(s.dir, partialName(d)))
	}
	s.files, s.dirs = nil, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fillDoc fills every section but the transcripts' conversations.
func fillDoc(ctx context.Context, l *ledger.Ledger, store evidence.Store, o Options, doc *Doc, lf *ledgerFacts, df *diffFacts, vi *verified) error {
	doc.Summary = Summary{Conversations: len(lf.order), Messages: lf.messages, Attachments: lf.attach, HeldConversations: lf.held,
		Intervals: nonNil(lf.intervals), APIHosts: nonNil(lf.apiHosts), ClientIDs: nonNil(lf.clientIDs),
		ErasedMessages: lf.erasedMsgs, BodiesErased: lf.bodiesErased, CapturedByID: lf.byID}
	for _, c := range lf.order {
		if lf.erasure.Conversation(c.id) {
			doc.Summary.ErasedConversations++
		}
		if _, ok := lf.erasure.MatterHold(c.id); ok {
			doc.Summary.MatterHeld++
		}
	}
	runs, err := l.Runs(ctx)
	if err != nil {
		return err
	}
	// The ledger's run entries, not the run state, say how a run ended.
	runs, disagree := ledgerRuns(runs, lf)
	disagree = append(lf.nameDisagree, disagree...)
	doc.Runs = []RunInfo{}
	unended := false // a run's failures read from its run state joined the exceptions
	for _, r := range runs {
		ri := RunInfo{RunID: r.ID, Kind: r.Kind, Status: r.Status, StartedAt: formatTime(r.StartedAt), EndedAt: formatTime(r.EndedAt), Scope: r.Scope}
		if st := lf.runStarts[r.ID]; st != nil {
			ri.Operator, ri.Host, ri.ToolVersion = st.Operator, st.Host, st.ToolVersion
		}
		ri.Outcome = runOutcome(r)
		if r.Status == ledger.RunRunning {
			// Accounting is written when a run ends: a run killed (or still
			// running elsewhere) has none, and its zeros would read as a run
			// that captured nothing. Its run state says what it has done.
			if err := unendedRun(ctx, l, r, &ri, lf); err != nil {
				return err
			}
			ri.Outcome += ledgerProgress(lf, r.ID)
			unended = true
		}
		if r.Status != ledger.RunDone {
			// What it listed and left pending, unless captured since its
			// last end (or, not ended, its last start).
			seq, ended := lf.lastEnd[r.ID], r.Status != ledger.RunRunning
			if !ended {
				seq = lf.lastStart[r.ID]
			}
			rows, err := pendingRows(ctx, l, r, seq, ended, lf)
			if err != nil {
				return err
			}
			lf.exceptions = append(lf.exceptions, rows...)
			unended = unended || len(rows) > 0
		}
		doc.Runs = append(doc.Runs, ri)
	}
	// What the runs' listing pages name and the ledger never captured,
	// whatever the run state says of it.
	more, err := listedNotCaptured(ctx, l, store, lf)
	if err != nil {
		return err
	}
	disagree = append(disagree, more...)
	if unended || len(more) > 0 {
		lf.exceptions = sortExceptions(lf.exceptions)
	}
	// Conversations a run listed and did not capture, that no later
	// capture took: the scope is not captured whole.
	notCaptured := map[string]bool{}
	for _, x := range lf.exceptions {
		if x.Kind == "failed" || x.Kind == KindPending {
			notCaptured[x.ConversationID] = true
		}
	}
	doc.Summary.NotCaptured = len(notCaptured)
	doc.Runs = append(doc.Runs, lf.reports...)
	slices.SortStableFunc(doc.Runs, func(a, b RunInfo) int { return strings.Compare(a.StartedAt, b.StartedAt) })
	for i := range doc.Runs {
		r := &doc.Runs[i]
		r.ByNotRecorded = r.Operator == "" && r.Host == "" && r.ToolVersion == ""
	}

	// Section 2.
	doc.LegalHold = LegalHold{Conversations: lf.held, MatterHeld: doc.Summary.MatterHeld, Held: []HeldConversation{}}
	// A conversation is listed when deletion protection covered it at
	// capture or a matter hold covers it now; each says which.
	// (erasure.State.HoldsOn, as productions read it: erase's rule too.)
	matterHold := func(h erasure.Holds) *MatterHold {
		if h.Matter != nil {
			return &MatterHold{Seq: h.Matter.Seq, Reason: h.Matter.Reason}
		}
		return nil
	}
	if df == nil {
		for _, c := range lf.order {
			if h := lf.erasure.HoldsOn(c.id, c.held); h.Held() {
				hc := HeldConversation{ID: c.id, Messages: c.messages, DeletionProtection: h.DeletionProtection,
					MatterHold: matterHold(h), Counts: map[string]int{}, Affected: []HeldMessage{}}
				heldErasure(&hc, c, lf.erasure)
				doc.LegalHold.Held = append(doc.LegalHold.Held, hc)
			}
		}
	}
	doc.FormatGaps = []FormatGap{}
	doc.Findings = []KindCount{}
	doc.Gaps = []Gap{}
	if df != nil {
		r := df.res
		doc.Diff = &DiffInfo{RunID: df.run.ID, Seq: lf.diffSeq[df.run.ID], Source: r.Summary.Source, Files: r.Summary.Files, FilesRead: r.FilesRead,
			Messages: r.Summary.Messages, Conversations: r.Summary.Conversations, Counts: map[string]int{},
			ErasedNotCompared: df.erased, FindingsSHA256: r.FindingsSHA256, FilesSHA256: r.FilesSHA256}
		for k, n := range df.counts {
			doc.Diff.Counts[string(k)] = n
			doc.Diff.Findings += n
		}
		lh := &doc.LegalHold
		lh.HoldsStripped = df.holdsStripped
		lh.FormatCannotHold, lh.HeldUnmarked = df.lacks[finding.FieldLegalHold] > 0, df.lackValues[finding.FieldLegalHold]["true"]
		lh.Missing, lh.ConversationsAbsent, lh.MessagesInAbsent = df.heldMissing()
		lh.Altered = len(df.holdCats["altered"])
		lh.TimeShifted, lh.NotCaptured = len(df.holdCats["time_shifted"]), len(df.holdCats["not_captured"])
		for _, c := range lf.order {
			h := lf.erasure.HoldsOn(c.id, c.held)
			if !h.Held() {
				continue
			}
			hc := df.heldConv[c.id]
			if hc == nil {
				hc = &HeldConversation{ID: c.id, Messages: c.messages, Counts: map[string]int{}}
			}
			hc.DeletionProtection, hc.MatterHold = h.DeletionProtection, matterHold(h)
			hc.Affected = nonNil(hc.Affected)
			heldErasure(hc, c, lf.erasure)
			if len(hc.Counts) > 0 {
				lh.Affected++
			}
			lh.Held = append(lh.Held, *hc)
		}

		// Section 3: the fields absent, stated once: those the format
		// cannot hold at all (format_lacks), then those some messages lost.
		compared := r.Summary.Messages - df.counts[finding.NotCaptured] - df.counts[finding.Duplicated]
		for _, field := range finding.ComplianceFields {
			if n := df.lacks[field]; n > 0 {
				doc.FormatGaps = append(doc.FormatGaps, FormatGap{Field: field, Kind: string(finding.FormatLacks), Absent: n,
					Compared: compared, Format: true, TrueValues: lackTruth(df.lackValues[field])})
			}
		}
		for _, field := range finding.ComplianceFields {
			n := df.stripped[field]
			if n == 0 {
				continue
			}
			doc.FormatGaps = append(doc.FormatGaps, FormatGap{Field: field, Kind: string(finding.FieldStripped), Absent: n,
				Compared: compared, TrueValues: df.truth[field]})
			// Not Format even when every compared message lacks it: the
			// diff found it stripped because the shape's policy names a
			// place for it (a field the format has no place for is
			// format_lacks, above), so saying the format has no such
			// field would contradict the diff's findings.
		}
		if df.precision > 0 {
			doc.FormatGaps = append(doc.FormatGaps, FormatGap{Field: finding.FieldTimestamp + " (milliseconds)", Kind: string(finding.TimestampPrecisionLost),
				Absent: df.precision, Compared: compared, Format: df.precision >= compared,
				TrueValues: map[string]int{"captured with milliseconds": df.precision}})
		}
		// Section 4.
		for _, in := range finding.Kinds() {
			doc.Findings = append(doc.Findings, KindCount{Kind: string(in.Kind), Severity: severity(in.Kind), Meaning: meaning(in),
				Gap: in.Gap, Count: df.counts[in.Kind], Held: df.held[in.Kind]})
		}
		doc.Gaps = nonNil(df.gaps)
	}
	for _, hc := range doc.LegalHold.Held {
		if hc.Erased != nil {
			doc.LegalHold.Erased++
			if hc.Erased.OverrideHold != "" {
				doc.LegalHold.ErasedDespiteHold++
			}
		}
	}
	doc.Exceptions = nonNil(lf.exceptions)
	if len(o.Conversations) > 0 || o.Interval != "" {
		// Only the records shown; what a run listed and did not capture
		// is the scope's, not a record's, and section 1 and the
		// certificate count it whatever the selection: it stays.
		doc.Exceptions = slices.DeleteFunc(doc.Exceptions, func(x Exception) bool {
			switch {
			case x.Kind == "failed", x.Kind == KindPending, x.Kind == "gone_at_source" && x.MessageID == "":
				return false
			}
			c := lf.convs[x.ConversationID]
			return c == nil || c.shown == 0
		})
	}

	// Section 6.
	head, err := l.Head(ctx)
	if err != nil {
		return err
	}
	in := &doc.Integrity
	in.LedgerSize, in.Root, in.ChainHead = lf.size, lf.root.String(), head.Chain.String()
	if head.Size != lf.size {
		return fmt.Errorf("report: the ledger grew while being read (%d, then %d entries)", lf.size, head.Size)
	}
	fp := sha256.Sum256([]byte(l.VerifierKey()))
	in.KeyFingerprint = hex.EncodeToString(fp[:])
	keyName := keyID(l.VerifierKey())
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		return err
	}
	in.Checkpoints = []CheckpointInfo{}
	for _, c := range cps {
		in.Checkpoints = append(in.Checkpoints, CheckpointInfo{ID: c.ID, Size: c.Size, Root: c.Root.String(), CreatedAt: formatTime(c.CreatedAt), KeyID: keyName})
	}
	if err := attestCheckpoints(ctx, l, cps, in.Checkpoints); err != nil {
		return err
	}
	in.Verified = vi.VerifyInfo
	in.Unchained = disagree
	if vi.root != "" && vi.root != in.Root {
		if head.Size != vi.head.Size || head.Chain != vi.head.Chain {
			return fmt.Errorf("report: verify saw root %s, the report %s: the ledger changed while being read", vi.root, in.Root)
		}
		// The head did not move: the stored leaf hashes are not those of
		// the leaves (a leaf edited in place), which verify names.
		in.Verified.OK = false
		in.Verified.Failures = append(in.Verified.Failures, fmt.Sprintf("the Merkle root of the ledger's stored leaf hashes, %s, is not the root of its leaves as verification hashed them, %s: an entry was altered after it was appended", in.Root, vi.root))
	}
	if !in.Verified.OK && len(cps) > 0 && checkpointBroken(lf, cps[len(cps)-1]) {
		in.Verified.Failures = append(in.Verified.Failures, fmt.Sprintf("the ledger's leaf hashes do not lead to the root of checkpoint %d, the latest: no inclusion proof against it is given", cps[len(cps)-1].ID))
	}
	in.Commands = thirdPartyCommands(l, o, lf, cps, in)

	// Section 8.
	doc.Certificate = Certificate{Title: "Certificate of authenticity", HashAlgorithm: "SHA-256 (FIPS 180-4); RFC 6962 Merkle tree; RFC 8785 canonical JSON; Ed25519 signatures",
		LedgerSize: lf.size, Root: in.Root, Process: processText(lf.apiHosts),
		Statement: fmt.Sprintf("The records of matter “%s” listed in this report — %s and %s captured from Genesys Cloud — are true copies of the responses the Conversation API returned, identified by the SHA-256 hash values recorded in the ledger whose state is given below.",
			doc.Matter.Name, plural(doc.Transcripts.Conversations, "conversation", "conversations"), plural(doc.Transcripts.Messages, "message", "messages"))}
	// "Of these": the records listed, fewer than the matter's under a
	// --conversation or --interval.
	erasedConvs, erasedMsgs, bodiesErased := shownErasure(doc, lf, o)
	if erasedMsgs > 0 || bodiesErased > 0 {
		// A certificate must not vouch for copies that no longer exist.
		bodies := "the response bodies of " + plural(bodiesErased, "other message", "other messages")
		if bodiesErased == 1 {
			bodies = "the response body of 1 other message"
		}
		doc.Certificate.Statement += fmt.Sprintf(" Of these, %s and %s were since erased (custody erase), and %s deleted with them: their content is no longer held and is not shown, their hash values remain in the ledger; section 7 lists each with the erasure entry.",
			plural(erasedConvs, "conversation", "conversations"), plural(erasedMsgs, "message", "messages"), bodies)
	}
	if n := doc.Summary.NotCaptured; n > 0 {
		// The records captured are true copies; the certificate must not
		// read as saying the scope was captured whole.
		doc.Certificate.Statement += fmt.Sprintf(" This certifies the records captured, not that every conversation in the scope the runs were given was captured: %s that a run listed %s not captured (failed, or pending when the run stopped) and %s not among these records; section 7 lists each.",
			plural(n, "conversation", "conversations"), map[bool]string{true: "was", false: "were"}[n == 1], map[bool]string{true: "is", false: "are"}[n == 1])
	}
	if q := unendedText(lf); q != "" {
		doc.Certificate.Statement += " " + q
	}
	if len(disagree) > 0 {
		doc.Certificate.Statement += " " + disagreementText(len(disagree))
	}
	doc.Certificate.Verification = verificationText(in, o.NoVerify)
	if in.Verified.OK {
		doc.Certificate.Statement += fmt.Sprintf(" They were verified at %s (below).", in.Verified.At)
	}
	if n := len(cps); n > 0 {
		c := cps[n-1]
		doc.Certificate.CheckpointID, doc.Certificate.CheckpointSize = c.ID, c.Size
		if doc.Certificate.Checkpoint, err = attestedNote(ctx, l, c); err != nil {
			return err
		}
	}
	withholdCertificate(doc, evidenceMet{}, o.NoVerify)
	return nil
}

// verificationText is the certificate's Verification row: when the
// ledger and its evidence were verified as the report was written, the
// verdict, and what was checked, from section 6's verification — so that
// "true copies" says on what it rests, and no more.
func verificationText(in *Integrity, noVerify bool) string {
	v := in.Verified
	if noVerify {
		return "Not verified: this report was written with --no-verify, so nothing was checked."
	}
	verdict := "OK"
	switch {
	case !v.OK:
		verdict = "FAILED (section 6 lists each failure)"
	case v.Unsigned != "":
		verdict = "every check held, but UNSIGNED: " + v.Unsigned
	}
	s := fmt.Sprintf("%s, when this report was written: %s. %s (leaf hashes, hash chain and Merkle root recomputed), %d covered by a signed checkpoint; %d stored and %d outside checkpoints checked (signature, consistency); ",
		v.At, verdict, plural(int(v.Entries), "entry", "entries"), v.CoveredEntries, v.Checkpoints, v.ExternalCheckpoints)
	if v.EvidenceReferenced == 0 {
		s += "no entry names evidence: nothing re-hashed or re-derived."
	} else {
		s += fmt.Sprintf("%s re-hashed (%d missing, %d altered); %s re-derived from their evidence",
			plural(v.EvidenceReferenced, "evidence object", "evidence objects"), v.EvidenceMissing, v.EvidenceAltered, plural(v.Derived, "entry", "entries"))
		if v.NotRederived > 0 {
			s += fmt.Sprintf(", %d not (evidence unreadable, or erased)", v.NotRederived)
		}
		s += "."
	}
	var tokens, cosigned bool
	for _, c := range in.Checkpoints {
		tokens = tokens || len(c.Timestamps) > 0
		cosigned = cosigned || len(c.Witnesses) > 0
	}
	if tokens {
		s += " Timestamp times claimed, not proven (no roots given)."
	}
	if cosigned {
		s += " Witness cosignatures named, not checked."
	}
	return s
}

// erasedDiff returns the latest recorded diff when an erasure deleted
// its findings (or some of them: it can no longer be read whole), nil
// when there is none or its findings are all there. A findings object
// the store lacks is erased exactly when verify --evidence counts it
// erased, by the same rule (erasure.Excuses): an erasure entry after the
// diff lists it in erased and names the diff with it in its diffs, a
// checkpoint signed with key vouches for that erasure, and no entry
// after it names the object. Findings are deterministic, so a diff run
// again on the same export after the erasure stores the very objects the
// erasure lists: that diff is read, not sent back to be run again. An
// object an erasure lists that the rule does not excuse (an erase cut
// short before its checkpoint) is missing, as verify says: an error
// saying why, not a report saying it was erased.
func erasedDiff(ctx context.Context, l *ledger.Ledger, store evidence.Store, lf *ledgerFacts, key string) (*DiffErased, error) {
	run, res, err := reconcile.FindDiff(ctx, l, "latest")
	if errors.Is(err, reconcile.ErrNoDiff) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seq, ok := lf.diffSeq[run.ID]
	if !ok {
		return nil, nil // readDiff says what is wrong with it
	}
	var absent []hashchain.Hash
	for _, s := range res.FindingsEvidence {
		h, err := hashchain.ParseHash(s)
		if err != nil {
			continue // readDiff says what is wrong with it
		}
		if store != nil {
			there, err := store.Exists(ctx, h)
			if err != nil {
				return nil, fmt.Errorf("report: look up %s, the findings of diff entry %d, in the evidence store: %w", h, seq, err)
			}
			if there {
				continue
			}
		}
		absent = append(absent, h)
	}
	if len(absent) == 0 {
		return nil, nil
	}
	controls, err := l.Controls(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var x erasure.Excuses
	for i := range controls {
		x.Add(&controls[i])
	}
	vouched, err := l.VouchedErasures(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	missing, excused, err := x.Judge(absent, vouched, func(want map[hashchain.Hash]bool) (map[hashchain.Hash][]erasure.Ref, error) {
		return referencing(ctx, l, want)
	})
	if err != nil {
		return nil, err
	}
	for _, m := range missing {
		if m.Why != "" {
			return nil, fmt.Errorf("report: findings evidence %s of the latest diff (entry %d) is not in the store, and is missing, not erased, as verify counts it: %s: %w", m.Sum, seq, m.Why, fs.ErrNotExist)
		}
	}
	if len(excused) == 0 {
		return nil, nil // missing, no erasure listing it: readDiff says so
	}
	return &DiffErased{RunID: run.ID, Seq: seq, ErasureSeq: excused[0].By, Source: res.Summary.Source}, nil
}

// referencing returns the entries of l that reference each object of
// want, for erasure.Excuses.
func referencing(ctx context.Context, l *ledger.Ledger, want map[hashchain.Hash]bool) (map[hashchain.Hash][]erasure.Ref, error) {
	snap, err := l.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer snap.Close()
	refs := erasure.NewReferences(want)
	for row, err := range snap.Entries(ctx) {
		if err != nil {
			return nil, fmt.Errorf("report: erasures: %w", err)
		}
		refs.Add(row.Seq, row.Leaf)
	}
	return refs.Refs(), nil
}

// heldErasure marks a held conversation with what an erasure took of it:
// a hold overridden must not read, in section 2, as a conversation kept
// whole.
func heldErasure(hc *HeldConversation, c *convState, st *erasure.State) {
	r, ok := st.TouchedRecord(c.id)
	if !ok {
		return
	}
	hc.Erased = erasureOf(r)
	hc.ErasedWhole = st.Conversation(c.id)
	hc.MessagesErased, hc.BodiesErased = c.erased, c.bodyErased
}

// evidenceMet counts the messages and conversation objects the
// transcripts read from evidence that does not hash to its address
// (altered) or is not in the store (missing).
type evidenceMet struct {
	altered, alteredConvs, missing, missingConvs int
}

func (m *evidenceMet) add(o evidenceMet) {
	m.altered += o.altered
	m.alteredConvs += o.alteredConvs
	m.missing += o.missing
	m.missingConvs += o.missingConvs
}

func (m evidenceMet) any() bool { return m.altered+m.alteredConvs+m.missing+m.missingConvs > 0 }

// plural is n with the noun's singular or plural form.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// shownErasure counts, of the records the certificate lists (the
// selection's under a --conversation or --interval), the conversations
// erased, the messages erased and those whose response body an erasure
// deleted with an erased message's.
func shownErasure(doc *Doc, lf *ledgerFacts, o Options) (convs, msgs, bodies int) {
	if len(o.Conversations) == 0 && o.Interval == "" {
		return doc.Summary.ErasedConversations, doc.Summary.ErasedMessages, doc.Summary.BodiesErased
	}
	for _, c := range lf.order {
		if c.shown > 0 {
			if lf.erasure.Conversation(c.id) {
				convs++
			}
			msgs += c.shownErased
			bodies += c.shownBodyErased
		}
	}
	return convs, msgs, bodies
}

// recordsText is the certificate's Records row: the conversations and
// messages the transcripts list, saying how many of those messages are
// no longer held (erased, or their body deleted with an erased
// message's), and the attachments held as evidence — those section 1
// counts (holdsMessage), of the records listed.
func recordsText(doc *Doc, lf *ledgerFacts, o Options, attachments int) string {
	_, erased, bodies := shownErasure(doc, lf, o)
	s := fmt.Sprintf("%s, %s", plural(doc.Transcripts.Conversations, "conversation", "conversations"), plural(doc.Transcripts.Messages, "message", "messages"))
	if erased+bodies > 0 {
		n := doc.Transcripts.Messages - erased - bodies
		var gone []string
		if erased > 0 {
			gone = append(gone, fmt.Sprintf("%d erased", erased))
		}
		if bodies > 0 {
			gone = append(gone, fmt.Sprintf("%d whose body was deleted with an erased message's", bodies))
		}
		s += fmt.Sprintf(" (%s held as evidence; %s: no longer held, their hash values remain in the ledger)", plural(n, "message", "messages"), strings.Join(gone, ", "))
	}
	return s + fmt.Sprintf(", %s held as evidence", plural(attachments, "attachment", "attachments"))
}

// withholdCertificate withholds the certificate when what it would
// certify does not hold: verification failed or was skipped
// (noVerify), or the transcripts met evidence that does not hash to its
// address or is missing (messages and conversation objects so met). A
// certificate that the records "are true copies" is then not made at
// all, and there is nothing to sign: the statement says why instead. The
// ledger's state and the checkpoint stay, as facts.
func withholdCertificate(doc *Doc, met evidenceMet, noVerify bool) {
	c := &doc.Certificate
	if doc.Integrity.Verified.OK && !met.any() {
		return
	}
	c.Title, c.Withheld = "Certificate of authenticity: withheld", true
	var why []string
	switch {
	case noVerify:
		why = append(why, "the ledger and its evidence were not verified when this report was written (--no-verify)")
	case !doc.Integrity.Verified.OK:
		why = append(why, "verifying the ledger and its evidence failed when this report was written (section 6 lists each failure)")
	}
	what := func(messages, convs int) string {
		var what []string
		if messages > 0 {
			what = append(what, plural(messages, "message", "messages"))
		}
		if convs > 0 {
			what = append(what, plural(convs, "conversation object", "conversation objects")+" (participants)")
		}
		return strings.Join(what, " and ")
	}
	if met.altered > 0 || met.alteredConvs > 0 {
		why = append(why, fmt.Sprintf("the transcripts met evidence that does not hash to its address, altered or damaged since capture: %s, each marked in section 5 (%s) with none of its content shown, and listed in section 7", what(met.altered, met.alteredConvs), StatusAltered))
	}
	if met.missing > 0 || met.missingConvs > 0 {
		why = append(why, fmt.Sprintf("the transcripts met evidence missing from the store, not erased: %s, each marked in section 5 (%s) with none of its content shown, and listed in section 7", what(met.missing, met.missingConvs), StatusMissing))
	}
	c.Statement = fmt.Sprintf("No certificate of authenticity is given for matter “%s”: %s. custody cannot certify the records listed as true copies of the responses the Conversation API returned, and this page is not to be signed. Restore the ledger and evidence from a copy kept apart (custody verify --evidence names each failure), then write the report again.",
		doc.Matter.Name, strings.Join(why, "; and "))
	if noVerify && len(why) == 1 {
		c.Statement = fmt.Sprintf("No certificate of authenticity is given for matter “%s”: %s. custody cannot certify the records listed as true copies of the responses the Conversation API returned, and this page is not to be signed. Write the report again without --no-verify.",
			doc.Matter.Name, why[0])
	}
	// The process row describes what custody does; it must not assert of
	// this ledger what verification found false (or did not check).
	caveat := "verification when this report was written found entries or evidence that no longer match what was recorded (section 6)"
	if noVerify && !met.any() {
		caveat = "not verified when this report was written (--no-verify), so this is not confirmed for this ledger and its evidence"
	}
	c.Process = strings.Replace(c.Process, processStored, processStoredWithheld+caveat+")", 1)
	// Page 1 says it first: a reader must not meet the headline counts
	// before learning that they cannot be certified.
	alert := "Verification FAILED when this report was written (section 6 lists each failure)"
	switch {
	case noVerify:
		alert = "NOT VERIFIED: this report was written with --no-verify: the ledger and its evidence were not checked, and the report is not recorded in the ledger (write it again without --no-verify to verify and record it)"
	case doc.Integrity.Verified.OK:
		alert = "The transcripts met evidence altered or missing since capture (section 5 marks each, section 7 lists each)"
	}
	doc.Summary.Alert = alert + ". The certificate of authenticity (section 8) is withheld: nothing in this report is certified as a true copy of what Genesys Cloud returned."
}

// checkpointBroken reports whether the leaf hashes read do not lead to
// checkpoint c's root (a tampered ledger).
func checkpointBroken(lf *ledgerFacts, c ledger.StoredCheckpoint) bool {
	if c.Size > uint64(len(lf.leafHashes)) {
		return false // not kept (--proofs none), or beyond the ledger: verify says
	}
	return newProver(lf.leafHashes[:c.Size]).mth(0, c.Size) != c.Root
}

// verified is what verification found, and the root it saw.
type verified struct {
	VerifyInfo
	root string
	// head is the ledger's head before verification.
	head ledger.Head
	// bad are the referenced objects verification found altered or
	// missing, by address (section 7 lists what depends on each).
	bad map[hashchain.Hash]badObject
}

// verifyFirst verifies the ledger and its evidence (unless o.NoVerify)
// and returns what it found, then hands the memory it used back.
func verifyFirst(ctx context.Context, l *ledger.Ledger, store evidence.Store, o Options) (*verified, error) {
	vi := &verified{VerifyInfo: VerifyInfo{Failures: []string{}}}
	if o.NoVerify {
		vi.Failures = append(vi.Failures, "not verified when the report was written (--no-verify)")
		return vi, nil
	}
	vo := verify.Options{VerifierKey: cmpOr(o.VerifierKey, l.VerifierKey()), Evidence: store, External: o.External}
	if refs, err := referencesEvidence(ctx, l); err != nil {
		return nil, err
	} else if !refs {
		// Nothing captured yet: there may be no evidence store at all (a
		// fresh matter), and nothing in one to re-hash.
		vo.Evidence = nil
	}
	rep, err := verify.Ledger(ctx, l, vo)
	if err == nil {
		err = rep.Incomplete() // evidence not read: nothing to certify it by
	}
	if err != nil {
		return nil, err
	}
	v := &vi.VerifyInfo
	v.At = formatTime(o.Now())
	// Entries no signed checkpoint covers fail nothing (rep.Holds), but
	// are not presented as signed: Unsigned says so wherever OK is said.
	v.OK, v.Entries, v.CoveredEntries, v.Checkpoints, v.ExternalCheckpoints = rep.Holds(), rep.Entries, rep.CoveredEntries, rep.Checkpoints, rep.ExternalCheckpoints
	if u := rep.Unsigned; u != nil {
		were, them := "were", "them"
		if u.First == u.Last {
			were, them = "was", "it"
		}
		then := fmt.Sprintf("The checkpoint signed with this report covers %s from then on, on the custodian's signature alone.", them)
		if o.NoRecord {
			then = fmt.Sprintf("No checkpoint was signed with this report (--no-record): nothing signed covers %s.", them)
		}
		v.Unsigned = fmt.Sprintf("%s %s covered by no signed checkpoint when this report verified the ledger: only the hash chain vouched for %s, and whoever can write the ledger file can write the chain too (a run cut short leaves such entries, and so does anyone who appends to the file). %s",
			u.Range(), were, them, then)
	}
	if e := rep.Evidence; e != nil {
		v.EvidenceReferenced, v.EvidenceMissing, v.EvidenceAltered = e.Referenced, e.Missing, e.Altered
		if len(e.MissingObjects)+len(e.AlteredObjects) > 0 {
			vi.bad = map[hashchain.Hash]badObject{}
			for _, h := range e.MissingObjects {
				vi.bad[h] = badObject{missing: true}
			}
			for _, a := range e.AlteredObjects {
				vi.bad[a.Sum] = badObject{actual: a.Actual, detail: a.Detail}
			}
		}
	}
	if d := rep.Derived; d != nil {
		v.Derived, v.NotRederived = d.Entries, d.Unavailable
	}
	for _, f := range rep.Findings {
		v.Failures = append(v.Failures, f.String())
	}
	vi.root = rep.Root
	debug.FreeOSMemory()
	return vi, nil
}

// referencesEvidence reports whether any entry of a kind that names
// evidence is in the ledger.
// A ledger that cannot be read is an error, not "none": the report would
// otherwise skip re-hashing the evidence without a word.
func referencesEvidence(ctx context.Context, l *ledger.Ledger) (bool, error) {
	for _, k := range []string{leaf.KindConversation, leaf.KindMessage, leaf.KindDiff, leaf.KindAudit, leaf.KindListing} {
		for _, err := range l.Entries(ctx, ledger.Filter{Kind: k, Limit: 1}) {
			if err != nil {
				return false, fmt.Errorf("report: %w", err)
			}
			return true, nil
		}
	}
	return false, nil
}

// truthOf says in words what custody holds for a field the export
// lacked, from the value it holds (a finding's Expected): the report
// counts these classes, which are few, not the values, which may differ
// for every message.
func truthOf(field, v string) string {
	switch field {
	case finding.FieldLegalHold:
		if v == "true" || v == "false" {
			return v
		}
		return "unknown"
	case finding.FieldAuditTrailID:
		if v == "" || v == "[]" {
			return "no audit references"
		}
		return "with audit references"
	default:
		return "captured"
	}
}

// lackTruth says in words what custody holds for the messages a
// format_lacks finding stands for, from its value classes (the diff's
// lackValue), as truthOf does for field_stripped.
func lackTruth(classes map[string]int) map[string]int {
	out := map[string]int{}
	for v, n := range classes {
		switch v {
		case "with_references":
			out["with audit references"] += n
		case "none":
			out["no audit references"] += n
		default: // true, false, unknown, held, empty
			out[v] += n
		}
	}
	return out
}

// meaning is a kind's plain-language text from the finding table.
func meaning(in finding.Info) string {
	// The table's plain-language text (docs/findings.md), for a reader
	// who is not an engineer; TestFindingsDoc requires it of every kind.
	return in.Title + ": " + in.Plain
}

// unendedRun describes a run that has not ended from its run state (not
// evidence, but all there is): its items by status as the outcome, and its
// failed and gone conversations among the exceptions.
func unendedRun(ctx context.Context, l *ledger.Ledger, r ledger.Run, ri *RunInfo, lf *ledgerFacts) error {
	counts, err := l.RunItemCounts(ctx, r.ID)
	if err != nil {
		return err
	}
	ri.Outcome = "not ended (killed, or still running): no accounting recorded"
	if len(counts) > 0 {
		ri.Outcome += fmt.Sprintf("; its run state so far: %d conversations done, %d failed, %d gone at the source, %d pending",
			counts[ledger.ItemDone], counts[ledger.ItemFailed], counts[ledger.ItemGone], counts[ledger.ItemPending])
	}
	for status, kind := range map[string]string{ledger.ItemFailed: "failed", ledger.ItemGone: "gone_at_source"} {
		items, err := l.RunItems(ctx, r.ID, status)
		if err != nil {
			return err
		}
		for _, it := range items {
			lf.exceptions = append(lf.exceptions, Exception{Kind: kind, ConversationID: it.ItemID, Reason: it.Reason + " (run " + r.ID + ", not ended)"})
		}
	}
	return nil
}

// runOutcome is a run's accounting in a few words. A run that is not done
// says why first: a bare "failed" beside "0 failed" (a refetch whose only
// shortfall was a conversation deleted upstream) read as a contradiction.
func runOutcome(r ledger.Run) string {
	var a struct {
		Listed     int    `json:"conversations_listed"`
		Exported   int    `json:"conversations_exported"`
		Erased     int    `json:"conversations_erased"`
		Failed     int    `json:"conversations_failed"`
		Gone       int    `json:"conversations_gone"`
		Pending    int    `json:"conversations_pending"`
		Messages   int    `json:"messages_appended"`
		StopReason string `json:"stop_reason"`
		Summary    *struct {
			Messages int            `json:"messages"`
			Counts   map[string]int `json:"counts"`
		} `json:"summary"`
	}
	if json.Unmarshal(r.Accounting, &a) != nil {
		return "accounting unreadable"
	}
	if a.Summary != nil {
		n := 0
		for _, c := range a.Summary.Counts {
			n += c
		}
		return fmt.Sprintf("%d exported messages compared, %d findings", a.Summary.Messages, n)
	}
	counts := fmt.Sprintf("%d conversations captured, %d failed, %d gone at the source; %d messages appended", a.Exported, a.Failed, a.Gone, a.Messages)
	if a.Erased > 0 {
		counts += fmt.Sprintf("; %d erased, not captured again", a.Erased)
	}
	if r.Status == ledger.RunDone || r.Status == ledger.RunRunning {
		return counts
	}
	// A run that stopped says so and why, and also what it left
	// uncaptured: the stop alone hid that most of the scope was pending.
	var why []string
	if a.Listed > 0 && a.Exported+a.Erased < a.Listed {
		why = append(why, fmt.Sprintf("incomplete: %d of %d listed conversations not captured (%d failed, %d gone at the source, %d pending; section 7 names each)",
			a.Listed-a.Exported-a.Erased, a.Listed, a.Failed, a.Gone, a.Pending))
	}
	if a.StopReason != "" {
		why = append(why, "stopped by: "+a.StopReason)
	}
	return strings.Join(append(why, counts), "; ")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
