package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// ErrWorkDirNotEmpty: the diff benchmark's work folder already holds files.
var ErrWorkDirNotEmpty = errors.New("work folder is not empty")

// DiffConfig of a diff benchmark.
type DiffConfig struct {
	// Messages is about how many messages the export holds; the org is
	// sized from it (whole conversations, so the figure is approximate).
	Messages int
	Seed     int64
	// Dir is the work folder (ledger, evidence, export); it must be empty
	// or absent. Empty: a temp folder, removed afterwards.
	Dir string
	// Fixture, instead of Dir, is a work folder a run kept (Dir given):
	// its fixture is timed again as it stands, nothing is built (the
	// ledger holds the diff entries of the runs before).
	Fixture string
	// Exe is the custody binary the diff runs as, a child process. Empty:
	// no diff is run (the fixture and the baseline only; tests).
	Exe string
	// Runs is how many times the baseline and the diff are timed; the
	// report gives the median. 0 means 1.
	Runs int
	// Progress receives one line per setup phase; nil: none.
	Progress io.Writer
}

// DiffFixture is where a diff benchmark's data lives, and what building it
// took.
type DiffFixture struct {
	Dir      string // work folder
	Ledger   string // ledger file
	Key      string // its signer key file
	Evidence string // its evidence folder (empty until a diff stores findings)
	Export   string // the damaged Recording export (folder)

	Conversations int // WhatsApp conversations captured
	Captured      int // message entries in the ledger
	Manifest      recexport.Manifest

	LedgerFill time.Duration
	ExportTime time.Duration
}

// Baseline is one timed read of the export: SHA-256 of every file by the
// fastest read-and-hash method of the run (see FloorRun) — the I/O and
// hashing floor no diff of it can beat.
type Baseline struct {
	Method string
	Files  int
	Bytes  int64
	Wall   time.Duration
}

// DiffRun is one run of `custody diff` as a child process.
type DiffRun struct {
	Wall     time.Duration
	MaxRSS   int64 // peak resident set, bytes (VmHWM sampled on Linux, see watchPeak; else getrusage)
	UserCPU  time.Duration
	SysCPU   time.Duration
	ExitCode int
	// From the "diff" entry the run appended to the ledger.
	Messages int
	Files    int
	Findings int
}

// DiffReport is a diff benchmark's result: medians over the runs, and
// every run.
type DiffReport struct {
	Config    DiffConfig
	Fixture   DiffFixture
	Baselines []Baseline // each run's fastest floor method
	Runs      []DiffRun
	Baseline  Baseline   // the fastest method's median wall
	Floor     []FloorRun // each read-and-hash method, median wall
	AllFloor  [][]FloorRun
	Diff      DiffRun // median wall; MaxRSS the largest of the runs

	// Reads is the number of evidence objects the diff reads besides the
	// export (diffReads), and Full the floor over every file the diff
	// reads but the ledger: the export's files and those objects —
	// FullBaseline the fastest method's median, FullFloor each method's
	// median, AllFullFloor every run's. On a v3 ledger most of a diff's
	// files are openings, one a message compared; Baseline, over the
	// export alone, leaves them out.
	Reads        int
	ReadsBytes   int64
	FullBaseline Baseline
	FullFloor    []FloorRun
	AllFullFloor [][]FloorRun

	// Ledger is the floor over those files and the ledger's database
	// file, which the diff reads too (every capture's leaf: most of the
	// file), by Go's crypto/sha256 (the fastest method of every run
	// measured): its median, and every run's.
	Ledger    FloorRun
	AllLedger []FloorRun
}

// LedgerRatio is the diff's wall time over that of the read-and-hash of
// every file it reads, the ledger too (Ledger).
func (r *DiffReport) LedgerRatio() float64 {
	if r.Ledger.Wall == 0 {
		return 0
	}
	return r.Diff.Wall.Seconds() / r.Ledger.Wall.Seconds()
}

// FullRatio is the diff's wall time over that of the fastest read-and-hash
// of every file it reads (FullBaseline).
func (r *DiffReport) FullRatio() float64 {
	if r.FullBaseline.Wall == 0 {
		return 0
	}
	return r.Diff.Wall.Seconds() / r.FullBaseline.Wall.Seconds()
}

// MessagesPerSecond is the diff's rate over the messages in the export.
func (r *DiffReport) MessagesPerSecond() float64 { return rate(r.Diff.Messages, r.Diff.Wall) }

// BaselinePerSecond is the baseline's rate in the same messages.
func (r *DiffReport) BaselinePerSecond() float64 { return rate(r.Diff.Messages, r.Baseline.Wall) }

// Ratio is the diff's wall time over the baseline's.
func (r *DiffReport) Ratio() float64 {
	if r.Baseline.Wall == 0 {
		return 0
	}
	return r.Diff.Wall.Seconds() / r.Baseline.Wall.Seconds()
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// messagesPerConversation is the mean of exported messages per
// conversation of the org (every channel; voice has none), measured on
// the generator: it sizes the org from DiffConfig.Messages.
const messagesPerConversation = 10.5

// Bench names in the ledger.
const (
	diffMatter = "bench"
	diffRunID  = "bench-diff-setup"
)

// RunDiff prepares the fixture, then times the baseline and the diff
// Runs times each, alternating.
func RunDiff(ctx context.Context, cfg DiffConfig) (*DiffReport, error) {
	if cfg.Messages < 1 {
		return nil, fmt.Errorf("bench: diff: messages must be positive, not %d", cfg.Messages)
	}
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	var f *DiffFixture
	var err error
	if cfg.Fixture != "" {
		if f, err = LoadDiffFixture(cfg.Fixture); err != nil {
			return nil, err
		}
	} else {
		dir := cfg.Dir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "custody-bench-diff-"); err != nil {
				return nil, fmt.Errorf("bench: diff: %w", err)
			}
			defer os.RemoveAll(dir)
		}
		if f, err = PrepareDiff(ctx, dir, cfg); err != nil {
			return nil, err
		}
	}
	r := &DiffReport{Config: cfg, Fixture: *f}
	files, size, err := Files(f.Export)
	if err != nil {
		return nil, err
	}
	progress(cfg.Progress, "finding the evidence objects a diff reads (one comparison, untimed)")
	reads, err := diffReads(ctx, f)
	if err != nil {
		return nil, err
	}
	if r.ReadsBytes, err = filesSize(reads); err != nil {
		return nil, err
	}
	r.Reads = len(reads)
	full := append(slices.Clip(files), reads...)
	// The ledger first: one reader hashes it while the others take the
	// small files.
	withLedger := append([]string{f.Ledger}, full...)
	methods := floorMethods()
	for i := range cfg.Runs {
		var floor []FloorRun
		for _, m := range methods {
			progress(cfg.Progress, "run %d/%d: baseline %s over %d files", i+1, cfg.Runs, m.name, len(files))
			fr, err := m.run(ctx, files)
			if err != nil {
				return nil, err
			}
			floor = append(floor, fr)
		}
		r.AllFloor = append(r.AllFloor, floor)
		var fullFloor []FloorRun
		for _, m := range methods {
			progress(cfg.Progress, "run %d/%d: baseline %s over every file the diff reads (%d: the export's and %d evidence objects)",
				i+1, cfg.Runs, m.name, len(full), len(reads))
			fr, err := m.run(ctx, full)
			if err != nil {
				return nil, err
			}
			fullFloor = append(fullFloor, fr)
		}
		r.AllFullFloor = append(r.AllFullFloor, fullFloor)
		progress(cfg.Progress, "run %d/%d: baseline %s over every file the diff reads and the ledger", i+1, cfg.Runs, methods[0].name)
		lr, err := methods[0].run(ctx, withLedger)
		if err != nil {
			return nil, err
		}
		r.AllLedger = append(r.AllLedger, lr)
		best := fastest(floor)
		b := Baseline{Method: best.Method, Files: len(files), Bytes: size, Wall: best.Wall}
		r.Baselines = append(r.Baselines, b)
		if cfg.Exe == "" {
			continue
		}
		progress(cfg.Progress, "run %d/%d: custody diff", i+1, cfg.Runs)
		d, err := RunDiffCommand(ctx, cfg.Exe, f)
		if err != nil {
			return nil, err
		}
		progress(cfg.Progress, "run %d/%d: baseline %s, diff %s, peak RSS %.0f MiB", i+1, cfg.Runs,
			b.Wall.Round(time.Millisecond), d.Wall.Round(time.Millisecond), float64(d.MaxRSS)/(1<<20))
		r.Runs = append(r.Runs, d)
	}
	r.Floor = medianFloor(r.AllFloor)
	best := fastest(r.Floor)
	r.Baseline = Baseline{Method: best.Method, Files: len(files), Bytes: size, Wall: best.Wall}
	r.FullFloor = medianFloor(r.AllFullFloor)
	best = fastest(r.FullFloor)
	r.FullBaseline = Baseline{Method: best.Method, Files: len(full), Bytes: size + r.ReadsBytes, Wall: best.Wall}
	r.Ledger = medianRun(r.AllLedger)
	if len(r.Runs) > 0 {
		sorted := slices.SortedFunc(slices.Values(r.Runs), func(a, b DiffRun) int { return cmpDuration(a.Wall, b.Wall) })
		r.Diff = sorted[len(sorted)/2]
		for _, d := range r.Runs {
			r.Diff.MaxRSS = max(r.Diff.MaxRSS, d.MaxRSS)
		}
	}
	return r, nil
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "bench diff: "+format+"\n", args...)
	}
}

// PrepareDiff builds the fixture in dir (created if absent, refused if not
// empty): an org of about cfg.Messages messages, a ledger holding one
// message entry per WhatsApp message — built by export.MessageEntry, as a
// real export builds them, but without HTTP: the evidence is a synthetic
// bulk body per conversation, stored as export stores it with each
// message's opening (the diff reads a conversation's body for its
// messages' attachments, and an absent one's for sensitive data) — and
// a damaged Recording export of the whole org, in the Genesys S3 layout.
func PrepareDiff(ctx context.Context, dir string, cfg DiffConfig) (*DiffFixture, error) {
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bench: diff: %w", err)
	}
	f := fixtureIn(abs)
	n := max(1, int(float64(cfg.Messages)/messagesPerConversation+0.5))
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	org := sim.NewOrg(sim.OrgConfig{Seed: cfg.Seed, Conversations: n, OtherMediaShare: 0.2, LegalHoldShare: 0.1,
		Start: start, End: start.AddDate(0, 1, 0)})

	progress(cfg.Progress, "%d conversations: filling the ledger with their WhatsApp messages", n)
	t0 := time.Now()
	if err := fillLedger(ctx, f, org, cfg.Progress); err != nil {
		return nil, err
	}
	f.LedgerFill = time.Since(t0)
	progress(cfg.Progress, "ledger: %d message entries of %d conversations in %s", f.Captured, f.Conversations,
		f.LedgerFill.Round(time.Millisecond))

	progress(cfg.Progress, "writing the damaged Recording export")
	t0 = time.Now()
	target, err := recexport.OpenTarget(ctx, f.Export, s3util.Config{})
	if err != nil {
		return nil, err
	}
	p := recexport.DefaultProfile(recexport.ShapeGenesys, uint64(cfg.Seed))
	p.CountOnly = true
	if f.Manifest, err = recexport.Export(ctx, org, nil, target, p); err != nil {
		return nil, fmt.Errorf("bench: diff: export: %w", err)
	}
	f.ExportTime = time.Since(t0)
	progress(cfg.Progress, "export: %d messages (%d readable) in %d files in %s", f.Manifest.Messages,
		f.Manifest.MessagesReadable, f.Manifest.Files, f.ExportTime.Round(time.Millisecond))
	b, err := json.Marshal(f)
	if err == nil {
		err = os.WriteFile(filepath.Join(abs, fixtureFile), b, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: diff: %w", err)
	}
	return f, nil
}

// fixtureFile, in a work folder, describes the fixture PrepareDiff built
// there, for LoadDiffFixture.
const fixtureFile = "fixture.json"

// ErrNoFixture: a folder given to time again holds no fixture.
var ErrNoFixture = errors.New("not a folder kept by bench diff")

// LoadDiffFixture reads back the fixture PrepareDiff built in dir, to be
// timed again.
func LoadDiffFixture(dir string) (*DiffFixture, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bench: diff: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(abs, fixtureFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bench: diff: %s: %w (no %s)", dir, ErrNoFixture, fixtureFile)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: diff: %w", err)
	}
	var f DiffFixture
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("bench: diff: %s: %w", filepath.Join(dir, fixtureFile), err)
	}
	// The folder may have moved: its files are where it is now.
	loc := fixtureIn(abs)
	f.Dir, f.Ledger, f.Key, f.Evidence, f.Export = loc.Dir, loc.Ledger, loc.Key, loc.Evidence, loc.Export
	return &f, nil
}

// fixtureIn names the fixture's files in dir.
func fixtureIn(dir string) *DiffFixture {
	return &DiffFixture{
		Dir: dir, Ledger: filepath.Join(dir, "custody.db"), Key: filepath.Join(dir, "custody.key"),
		Evidence: filepath.Join(dir, "evidence"), Export: filepath.Join(dir, "export"),
	}
}

func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("bench: %s: %w", dir, ErrWorkDirNotEmpty)
	}
	return nil
}

// appendBatch is how many entries one ledger transaction appends.
const appendBatch = 1000

// fillLedger creates the ledger and appends the org's WhatsApp messages.
// Workers generate conversations and build their entries; the appender
// takes them in conversation order, so equal seeds give equal ledgers
// (but for the entries' times).
func fillLedger(ctx context.Context, f *DiffFixture, org *sim.Org, prog io.Writer) error {
	l, key, err := ledger.Create(ctx, f.Ledger, diffMatter, ledger.Options{})
	if err != nil {
		return err
	}
	defer l.Close()
	if err := os.WriteFile(f.Key, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("bench: diff: signer key: %w", err)
	}
	// The diff stores its findings in the ledger's evidence store.
	if err := os.MkdirAll(f.Evidence, 0o755); err != nil {
		return fmt.Errorf("bench: diff: %w", err)
	}
	if err := l.SetState(ctx, "evidence_url", f.Evidence); err != nil {
		return err
	}
	// Every message entry is of ledger format v3, as export writes them:
	// its opening is stored here before the entry refers to it.
	store, err := folder.Open(f.Evidence, evidence.Options{})
	if err != nil {
		return fmt.Errorf("bench: diff: %w", err)
	}
	defer store.Close()

	type conv struct {
		entries []leaf.Entry
		err     error
	}
	type work struct {
		i   int
		out chan conv
	}
	workers := runtime.GOMAXPROCS(0)
	ordered := make(chan chan conv, 4*workers)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// On any return the producer and the workers stop, and are waited for
	// before the store and the ledger close: none is left writing an
	// opening into the evidence folder.
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		defer close(ordered)
		todo := make(chan work)
		defer close(todo)
		for range workers {
			wg.Go(func() {
				for w := range todo {
					es, err := conversationEntries(ctx, org, w.i, store)
					w.out <- conv{es, err} // buffered: never blocks
				}
			})
		}
		for i := range org.Len() {
			w := work{i, make(chan conv, 1)}
			// The appender must learn of a conversation before a worker takes it.
			select {
			case ordered <- w.out:
			case <-ctx.Done():
				return
			}
			select {
			case todo <- w:
			case <-ctx.Done():
				return
			}
		}
	})

	batch := make([]leaf.Entry, 0, appendBatch+genesys.MaxBulkMessageIDs)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := l.Append(ctx, batch...); err != nil {
			return fmt.Errorf("bench: diff: fill ledger: %w", err)
		}
		f.Captured += len(batch)
		batch = batch[:0]
		return nil
	}
	next := 100_000
	for out := range ordered {
		var c conv
		select {
		case c = <-out:
		case <-ctx.Done(): // its work may never have reached a worker
			return ctx.Err()
		}
		if c.err != nil {
			return c.err
		}
		if len(c.entries) > 0 {
			f.Conversations++
		}
		batch = append(batch, c.entries...)
		if len(batch) >= appendBatch {
			if err := flush(); err != nil {
				return err
			}
			if f.Captured >= next {
				progress(prog, "ledger: %d message entries", f.Captured)
				next += 100_000
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	// An export ends with a signed checkpoint; the diff's own then checks
	// only the entries after it, as it would after a real export.
	if _, err := l.Checkpoint(ctx, key); err != nil {
		return fmt.Errorf("bench: diff: fill ledger: %w", err)
	}
	return nil
}

// conversationEntries builds the message entries a real export would
// append for conversation i (none unless it is WhatsApp): v3 entries,
// whose openings and bulk body it stores first. The salts are drawn from
// the message ids rather than at random, so equal seeds give equal
// ledgers.
func conversationEntries(ctx context.Context, org *sim.Org, i int, store evidence.Store) ([]leaf.Entry, error) {
	c := org.ConversationAt(i)
	if c.MessageType != "whatsapp" || len(c.Messages) == 0 {
		return nil, nil
	}
	var audits []string
	for _, a := range c.Audits {
		audits = append(audits, a.ID)
	}
	slices.Sort(audits)
	// The bulk body the export would have stored (nothing is fetched):
	// the messages as the API serves them (sim.APIMessage), stored after
	// the openings; each entry is of its message as served.
	served := make([]genesys.MessageData, len(c.Messages))
	for k := range c.Messages {
		served[k] = sim.APIMessage(c.Messages[k])
	}
	body, err := json.Marshal(genesys.TextMessageListing{Entities: served})
	if err != nil {
		return nil, fmt.Errorf("bench: diff: conversation %s: %w", c.ID, err)
	}
	src := &leaf.Source{Method: "POST", Path: "/api/v2/conversations/messages/" + c.ID + "/messages/bulk", Status: 200}
	seals := make([]derive.Seal, len(c.Messages))
	openings := make([][]byte, len(c.Messages))
	for k := range c.Messages {
		seals[k].Salt = sha256.Sum256([]byte("custody bench diff salt\x00" + c.ID + "\x00" + c.Messages[k].ID))
		openings[k] = derive.Opening(&served[k], seals[k].Salt).Encode()
	}
	refs, err := evidence.PutAll(ctx, store, append(openings, body))
	if err != nil {
		return nil, fmt.Errorf("bench: diff: conversation %s: openings and body: %w", c.ID, err)
	}
	ev := refs[len(openings)].Sum
	out := make([]leaf.Entry, 0, len(c.Messages))
	for k := range c.Messages {
		seals[k].Opening = refs[k].Sum
		m := &served[k]
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("bench: diff: message %s: %w", m.ID, err)
		}
		payload, err := hashchain.PayloadHash(raw)
		if err != nil {
			return nil, fmt.Errorf("bench: diff: message %s: %w", m.ID, err)
		}
		e, err := export.MessageEntry(diffMatter, diffRunID, c.ID, c.LegalHold, audits, m, payload, ev, src, nil, &seals[k])
		if err != nil {
			return nil, fmt.Errorf("bench: diff: message %s: %w", m.ID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// RunDiffCommand runs `EXE --ledger L diff EXPORT --output jsonl --key K`
// with its findings going to /dev/null, and reads the diff entry it
// appended to check what it compared. Exit status 3 (findings) is success.
func RunDiffCommand(ctx context.Context, exe string, f *DiffFixture) (DiffRun, error) {
	var r DiffRun
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return r, fmt.Errorf("bench: diff: %w", err)
	}
	defer null.Close()
	var stderr tailBuffer
	cmd := exec.CommandContext(ctx, exe, "--ledger", f.Ledger, "diff", f.Export, "--output", "jsonl", "--key", f.Key)
	// An *os.File, so the child writes to /dev/null itself: no copying
	// goroutine in this process competes for the cores.
	cmd.Stdout = null
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("bench: diff: %s: %w", exe, err)
	}
	peak := watchPeak(cmd.Process.Pid)
	err = cmd.Wait()
	r.Wall = time.Since(t0)
	r.MaxRSS = peak()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3:
	default:
		return r, fmt.Errorf("bench: diff: %s: %w\n%s", exe, err, stderr.String())
	}
	r.ExitCode = cmd.ProcessState.ExitCode()
	r.UserCPU = cmd.ProcessState.UserTime()
	r.SysCPU = cmd.ProcessState.SystemTime()
	if r.MaxRSS == 0 {
		r.MaxRSS = maxRSS(cmd.ProcessState)
	}
	if err := readDiffEntry(ctx, f.Ledger, &r); err != nil {
		return r, err
	}
	return r, nil
}

// readDiffEntry reads what the latest "diff" ledger entry says was compared.
func readDiffEntry(ctx context.Context, path string, r *DiffRun) error {
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		return err
	}
	defer l.Close()
	var last *leaf.Entry
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindDiff}) {
		if err != nil {
			return err
		}
		last = &e
	}
	if last == nil {
		return errors.New("bench: diff: the diff appended no diff entry")
	}
	dd, err := leaf.DecodeDetail(leaf.KindDiff, last.Detail)
	if err != nil {
		return fmt.Errorf("bench: diff: diff entry %d: %w", last.Seq, err)
	}
	d := dd.(*leaf.DiffDetail)
	r.Messages, r.Files = d.Messages, d.FilesRead
	for _, n := range d.Counts {
		r.Findings += n
	}
	return nil
}

// tailBuffer keeps the last 8 KiB written to it (a child's stderr).
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - 8<<10; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }

// PrintDiffTable writes the report as a table.
func PrintDiffTable(w io.Writer, r *DiffReport) {
	f := &r.Fixture
	fmt.Fprintf(w, "diff benchmark: %d captured messages (%d WhatsApp conversations); export of %d messages in %d files, %.0f MB; median of %d run(s), peak RSS the largest\n",
		f.Captured, f.Conversations, f.Manifest.MessagesReadable, r.Baseline.Files, float64(r.Baseline.Bytes)/1e6, len(r.Baselines))
	fmt.Fprintf(w, "setup: ledger %s, export %s\n\n", f.LedgerFill.Round(time.Millisecond), f.ExportTime.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tmessages\tfiles\tfindings\twall\tmessages/s\tCPU\tpeak RSS\t")
	if len(r.Runs) > 0 {
		d := r.Diff
		fmt.Fprintf(tw, "custody diff\t%d\t%d\t%d\t%s\t%.0f\t%s\t%.0f MiB\t\n", d.Messages, d.Files, d.Findings,
			d.Wall.Round(time.Millisecond), r.MessagesPerSecond(), (d.UserCPU + d.SysCPU).Round(time.Millisecond), float64(d.MaxRSS)/(1<<20))
	}
	b := r.Baseline
	msgs := r.Diff.Messages
	if msgs == 0 {
		msgs = f.Manifest.MessagesReadable
	}
	for _, fl := range r.Floor {
		fmt.Fprintf(tw, "read+%s\t%d\t%d\t\t%s\t%.0f\t%s\t\t\n", fl.Method, msgs, fl.Files, fl.Wall.Round(time.Millisecond), rate(msgs, fl.Wall), fl.CPU.Round(time.Millisecond))
	}
	for _, fl := range r.FullFloor {
		fmt.Fprintf(tw, "all files: read+%s\t%d\t%d\t\t%s\t%.0f\t%s\t\t\n", fl.Method, msgs, fl.Files, fl.Wall.Round(time.Millisecond), rate(msgs, fl.Wall), fl.CPU.Round(time.Millisecond))
	}
	if fl := r.Ledger; fl.Wall > 0 {
		fmt.Fprintf(tw, "all files and the ledger: read+%s\t%d\t%d\t\t%s\t%.0f\t%s\t\t\n", fl.Method, msgs, fl.Files, fl.Wall.Round(time.Millisecond), rate(msgs, fl.Wall), fl.CPU.Round(time.Millisecond))
	}
	if len(r.Runs) > 0 {
		fmt.Fprintf(tw, "diff/baseline\t\t\t\t%.2fx\t\t\t\t\n", r.Ratio())
		if s, ok := byMethod(r.Floor, "sha256sum"); ok {
			fmt.Fprintf(tw, "diff/sha256sum\t\t\t\t%.2fx\t\t\t\t\n", ratio(r.Diff.Wall, s.Wall))
		}
		fmt.Fprintf(tw, "diff/all files\t\t\t\t%.2fx\t\t\t\t\n", r.FullRatio())
		if r.Ledger.Wall > 0 {
			fmt.Fprintf(tw, "diff/all files and the ledger\t\t\t\t%.2fx\t\t\t\t\n", r.LedgerRatio())
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nbaseline: the fastest read-and-hash of the export's files, %s\n", b.Method)
	fmt.Fprintf(w, "all files: the fastest read-and-hash of every file the diff reads but the ledger — the export's %d and the %d evidence objects it opens (%.0f MB in all), %s\n",
		b.Files, r.Reads, float64(r.FullBaseline.Bytes)/1e6, r.FullBaseline.Method)
	if r.Ledger.Wall > 0 {
		fmt.Fprintf(w, "all files and the ledger: the same and the ledger's database file (%.0f MB in all), %s\n", float64(r.Ledger.Bytes)/1e6, r.Ledger.Method)
	}
}
