package diff

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/millis"
)

// DefaultConcurrency is Options.Concurrency's default.
const DefaultConcurrency = 4

// MaxConcurrency is the most files Run reads at once (--concurrency's
// ceiling), whatever Options.Concurrency or the source's Parallelism
// ask for: Run's queues are sized by it.
const MaxConcurrency = 64

// Options tune a diff. The zero value uses the defaults.
type Options struct {
	// Format forces one shape for every file; "" or exportfile.FormatAuto
	// detects per file (docs/diff.md).
	Format exportfile.Format
	// Policy; nil means DefaultPolicy().
	Policy *Policy
	// Concurrency is how many files are read and parsed at once; when 0,
	// DefaultConcurrency, or the source's Parallelism when it is an
	// exportfile.ParallelSource (S3) and that is more; at most
	// MaxConcurrency.
	Concurrency int
	// MaxFileSize: larger files are file_unreadable, unread (default
	// exportfile.DefaultMaxFileSize).
	MaxFileSize int64
	// MaxLineBytes caps one JSON Lines line; longer lines are findings
	// (default exportfile.DefaultMaxLineBytes).
	MaxLineBytes int
	// MaxValueBytes caps what a document's reader holds at once: one
	// message object, or one string or number elsewhere; a larger value is
	// a file_unreadable finding and the file is read no further (default
	// exportfile.DefaultMaxValueBytes).
	MaxValueBytes int
	// FileDone, when set, is called with every file's entry once the
	// comparison is done with it — in the diff's file order, from the
	// goroutine that emits findings — so a caller can account for the
	// files read in order without holding them all.
	FileDone func(exportfile.Entry)
	// ExportTime is when the export was made, if known: conversations and
	// messages newer than it less DataLakeLag that the export lacks are
	// put down to the data lake (cause pending_data_lake), and with
	// Retention those older than it less Retention to retention. Zero:
	// neither cause is inferred.
	ExportTime time.Time
	// DataLakeLag is how long Genesys may take to include a conversation
	// in a bulk export (default DefaultDataLakeLag).
	DataLakeLag time.Duration
	// Retention is the org's recording retention (0: unknown).
	Retention time.Duration
}

// DefaultDataLakeLag: Genesys may take up to 48 hours to include a
// recording in a bulk export job.
const DefaultDataLakeLag = 48 * time.Hour

// cause is the likely cause of a gap in a conversation whose newest
// capture is at last (RFC 3339, milliseconds): the export may be too early
// for it, retention may have deleted it, or it holds sensitive data; for a
// whole conversation left out with none of these, there was no recording.
// A message missing from a covered conversation has a cause only when it
// is too recent.
func (o *Options) cause(last string, sensitive, wholeConversation bool) finding.Cause {
	if !o.ExportTime.IsZero() {
		if t, _, err := genesys.ParseTimestamp(last); err == nil {
			lag := o.DataLakeLag
			if lag <= 0 {
				lag = DefaultDataLakeLag
			}
			if t.After(o.ExportTime.Add(-lag)) {
				return finding.CausePendingDataLake
			}
			if o.Retention > 0 && t.Before(o.ExportTime.Add(-o.Retention)) && wholeConversation {
				return finding.CauseDeletedByRetention
			}
		}
	}
	switch {
	case !wholeConversation:
		return ""
	case sensitive:
		return finding.CauseSensitiveDataExcluded
	}
	return finding.CauseNoRecording
}

// Run compares the export in src with what idx captured. It calls emit
// for every finding, in a deterministic order: files in lexical order,
// messages in file order, a message's fields in finding.ComplianceFields order,
// then missing_from_export in idx.Each order. An error from emit stops
// the diff. Problems with the export are findings, not errors; Run fails
// only on cancellation, a failed listing, an index error, or an export
// with nothing to read (ErrEmptySource: no files, or none readable).
func Run(ctx context.Context, src exportfile.Source, idx Index, opts Options, emit func(Finding) error) (Summary, error) {
	pol := opts.Policy
	if pol == nil {
		pol = DefaultPolicy()
	}
	if err := pol.Validate(); err != nil {
		return Summary{}, fmt.Errorf("diff: %w", err)
	}
	rd, err := exportfile.NewReader(pol.Shapes, exportfile.Options{
		Format: opts.Format, MaxFileSize: opts.MaxFileSize, MaxLineBytes: opts.MaxLineBytes, MaxValueBytes: opts.MaxValueBytes,
	})
	if err != nil {
		return Summary{}, fmt.Errorf("diff: %w", err)
	}
	ps, remote := src.(exportfile.ParallelSource)
	remote = remote && ps.Parallelism() > 1
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
		if remote {
			// An export on S3: as many files in flight as its client keeps
			// connections, each GET waiting on a round trip.
			opts.Concurrency = max(opts.Concurrency, ps.Parallelism())
		}
	}
	// The queues below are sized by it: a source's figure (an
	// --s3-requests or --folder-requests) never goes past --concurrency's
	// ceiling.
	opts.Concurrency = min(opts.Concurrency, MaxConcurrency)
	ci, _ := idx.(ConversationIndex)
	rs := &runState{reader: rd, ci: ci}
	d := &differ{
		ctx: ctx, idx: idx, ci: ci, pol: pol, emitFn: emit, recycle: rs.recycle, opts: &opts,
		covered:  map[string]bool{},
		fileDone: opts.FileDone,
	}
	d.s.Source = src.String()
	d.s.Counts = Counts{}
	d.s.PerConversation = map[string]finding.Counts{}

	g, gctx := errgroup.WithContext(ctx)
	// Workers take files in groups when the index loads several
	// conversations at once (BatchIndex), one by one otherwise. ordered
	// holds a group's files before the group is handed over, so it must
	// hold more than a group (or the walker and the comparison would wait
	// on each other).
	perGroup := 1
	if _, ok := ci.(BatchIndex); ok {
		perGroup = filesPerGroup
		if remote {
			perGroup = remoteFilesPerGroup
		}
	}
	work := make(chan []*job)
	ordered := make(chan *job, (2+perGroup)*opts.Concurrency)
	g.Go(func() error {
		defer close(work)
		defer close(ordered)
		var grp []*job
		send := func() error {
			if len(grp) == 0 {
				return nil
			}
			select {
			case work <- grp:
			case <-gctx.Done():
				return gctx.Err()
			}
			grp = nil
			return nil
		}
		err := src.Walk(gctx, func(e exportfile.Entry) error {
			if e.Name == "" && e.Problem == "" {
				return nil
			}
			j := &job{entry: e, out: make(chan batch, 4)}
			// The consumer must learn of a job before a worker can block on it.
			select {
			case ordered <- j:
			case <-gctx.Done():
				return gctx.Err()
			}
			if grp = append(grp, j); len(grp) < perGroup {
				return nil
			}
			return send()
		})
		if err == nil {
			err = send()
		}
		if err != nil && gctx.Err() == nil {
			// A listing that failed on its own (S3 unreachable, a
			// folder that vanished): say it was the export's.
			return fmt.Errorf("diff: list the export: %w", err)
		}
		return err
	})
	for range opts.Concurrency {
		g.Go(func() error {
			for grp := range work {
				cache := rs.prefetch(gctx, grp)
				for _, j := range grp {
					if err := rs.runJob(gctx, src, j, cache); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		for {
			var j *job
			select {
			case j = <-ordered:
			case <-gctx.Done():
				return gctx.Err()
			}
			if j == nil {
				return nil
			}
			if err := d.consume(gctx, j); err != nil {
				return err
			}
		}
	})
	if err := g.Wait(); err != nil {
		for j := range ordered { // files opened for jobs nobody will read
			j.entry.Release()
		}
		return d.s, err
	}
	// Nothing read is not a complete export: an empty or wrong folder, an
	// empty prefix, or files none of which could be read.
	switch {
	case d.s.Files == 0:
		return d.s, fmt.Errorf("diff: %s: %w: no export files there", src, ErrEmptySource)
	case d.s.FilesUnreadable == d.s.Files && d.s.Messages == 0:
		return d.s, fmt.Errorf("diff: %s: %w: none of its %d files could be read (%s)", src, ErrEmptySource, d.s.Files, d.firstProblem)
	}
	if err := d.finish(); err != nil {
		return d.s, err
	}
	if err := d.emitLacks(); err != nil {
		return d.s, err
	}
	return d.s, nil
}

// job is one file on its way from a worker to the comparison.
type job struct {
	entry exportfile.Entry
	out   chan batch
}

// batch is a run of a file's items, with the captures of the
// conversations its records start (when the index is a
// ConversationIndex), loaded by the worker so the comparison need not.
type batch struct {
	items []exportfile.Item
	convs []*convCaptures
}

// convCaptures are one conversation's latest captures, by message id.
type convCaptures struct {
	conv  string
	all   []Captured
	byMsg map[string]int32 // index in all; nil for a conversation of at most smallConv captures
}

// smallConv: up to this many captures, find looks a message up by
// comparing ids instead of building a map (most conversations are a few
// dozen messages at most; a map per conversation was ≈ 1 % of a diff's
// CPU, TestConvCapturesFind).
const smallConv = 32

func newConvCaptures(conv string, all []Captured) *convCaptures {
	cc := &convCaptures{conv: strings.Clone(conv), all: all}
	if len(all) > smallConv {
		cc.byMsg = make(map[string]int32, len(all))
		for i, c := range all {
			cc.byMsg[c.MessageID] = int32(i)
		}
	}
	return cc
}

// find is the index in all of the capture of msg: the last one, if the
// index gave a message twice (as the map keeps the last).
func (cc *convCaptures) find(msg string) (int, bool) {
	if cc.byMsg != nil {
		i, ok := cc.byMsg[msg]
		return int(i), ok
	}
	for i := len(cc.all) - 1; i >= 0; i-- {
		if cc.all[i].MessageID == msg {
			return i, true
		}
	}
	return 0, false
}

const batchSize = 64

// runState is what the workers of one Run share.
type runState struct {
	reader  *exportfile.Reader
	ci      ConversationIndex // nil: the comparison looks messages up itself
	batches sync.Pool         // *[]exportfile.Item, handed back by the consumer
}

func (rs *runState) batch() []exportfile.Item {
	if b, ok := rs.batches.Get().(*[]exportfile.Item); ok {
		return (*b)[:0]
	}
	return make([]exportfile.Item, 0, batchSize)
}

func (rs *runState) recycle(b []exportfile.Item) {
	clear(b) // drop references to strings of finished files
	b = b[:0]
	rs.batches.Put(&b)
}

// runJob parses one file into batches of items on j.out. The captures of
// a conversation in cache (prefetch) are taken from it, once.
func (rs *runState) runJob(ctx context.Context, src exportfile.Source, j *job, cache map[string][]Captured) error {
	defer close(j.out)
	var b batch // items taken from the pool on first use
	lastConv := ""
	flush := func() error {
		if len(b.items) == 0 {
			return nil
		}
		select {
		case j.out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = batch{}
		return nil
	}
	emit := func(it exportfile.Item) error {
		if b.items == nil {
			b.items = rs.batch()
		}
		if rs.ci != nil && it.Kind == exportfile.ItemMessage && it.Msg.Conv != "" && it.Msg.Conv != lastConv {
			all, ok := cache[it.Msg.Conv]
			if ok {
				delete(cache, it.Msg.Conv)
			} else {
				var err error
				if all, err = rs.ci.Conversation(ctx, it.Msg.Conv); err != nil {
					return fmt.Errorf("diff: load conversation %s: %w", it.Msg.Conv, err)
				}
			}
			cc := newConvCaptures(it.Msg.Conv, all)
			b.convs = append(b.convs, cc)
			lastConv = cc.conv
		}
		b.items = append(b.items, it)
		if len(b.items) == batchSize {
			return flush()
		}
		return nil
	}
	if err := rs.reader.Read(ctx, src, j.entry, emit); err != nil {
		return err
	}
	return flush()
}

// differ is the sequential comparison: it sees items in export order.
type differ struct {
	ctx     context.Context
	idx     Index
	ci      ConversationIndex // idx, when it is one
	pol     *Policy
	opts    *Options // for the causes of gaps
	emitFn  func(Finding) error
	recycle func([]exportfile.Item)
	s       Summary

	seen bitset // captured messages found in the export, by Seq
	// uncaptured holds the exported messages not captured (gaps), to
	// find their duplicates: 128 bits of SHA-256 of the ids, not the ids,
	// because an export of other channels can hold millions (idSet).
	uncaptured idSet
	fileDone   func(exportfile.Entry)
	// covered are the conversations the export covers; with a
	// ConversationIndex, true once their captures were loaded (their
	// latest captures' seqs are then in latest).
	covered map[string]bool
	latest  bitset          // ConversationIndex: the latest captures of loaded conversations, by Seq
	cur     *convCaptures   // ConversationIndex: the current conversation's captures
	pending []*convCaptures // ConversationIndex: what the worker loaded for the batch at hand
	badFile bool
	// firstProblem is the first file_unreadable finding, for the error
	// when no file could be read.
	firstProblem string
	// unheld counts the messages that lack a required field their shape
	// keeps nowhere, by shape and field: one format_lacks finding each at
	// the end, never one a message.
	unheld map[lackKey]*lackCount
}

func (d *differ) emit(f Finding) error {
	if f.Kind == finding.FileUnreadable {
		d.badFile = true
		if d.firstProblem == "" {
			d.firstProblem = f.File + ": " + f.Detail
		}
	}
	d.s.add(f)
	return d.emitFn(f)
}

func (d *differ) consume(ctx context.Context, j *job) error {
	d.s.Files++
	d.badFile = false
	for {
		var b batch
		var ok bool
		select {
		case b, ok = <-j.out:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			break
		}
		d.pending = b.convs
		for i := range b.items {
			if err := d.item(&b.items[i]); err != nil {
				return err
			}
		}
		d.pending = nil
		d.recycle(b.items)
	}
	if d.badFile {
		d.s.FilesUnreadable++
	}
	if d.fileDone != nil {
		d.fileDone(j.entry)
	}
	return nil
}

func (d *differ) item(it *exportfile.Item) error {
	switch it.Kind {
	case exportfile.ItemCover:
		d.cover(it.Conv)
		return nil
	case exportfile.ItemProblem:
		p := &it.Problem
		return d.emit(Finding{Kind: p.Kind, ConversationID: p.ConversationID, Field: p.Field,
			Expected: p.Expected, Got: p.Got, File: p.File, Detail: p.Detail})
	}
	return d.record(&it.Msg)
}

// lookup finds a capture, through the current conversation's captures
// when the index can load them.
func (d *differ) lookup(conv, msg string) (Captured, bool, error) {
	if d.ci == nil {
		return d.idx.Lookup(d.ctx, conv, msg)
	}
	if d.cur == nil || d.cur.conv != conv {
		var cc *convCaptures
		for _, p := range d.pending {
			if p.conv == conv {
				cc = p
				break
			}
		}
		if cc == nil {
			all, err := d.ci.Conversation(d.ctx, conv)
			if err != nil {
				return Captured{}, false, err
			}
			cc = newConvCaptures(conv, all)
		}
		d.loaded(cc.conv, cc.all)
		d.cur = cc
	}
	i, found := d.cur.find(msg)
	if !found {
		return Captured{}, false, nil
	}
	return d.cur.all[i], true, nil
}

// loaded notes the latest captures of a covered conversation.
func (d *differ) loaded(conv string, all []Captured) {
	for i := range all {
		d.latest.set(all[i].Seq)
	}
	d.covered[conv] = true
}

// cover notes a conversation the export covers. The id is copied: it is
// often a slice of a long file name, which the map would otherwise keep.
func (d *differ) cover(conv string) {
	if _, ok := d.covered[conv]; !ok {
		d.covered[strings.Clone(conv)] = false
	}
}

func (d *differ) record(r *exportfile.Message) error {
	d.s.Messages++
	if r.Bad != "" {
		// Ids that are not valid text or are given twice: matching any
		// capture would be a guess.
		if r.Conv != "" {
			d.cover(r.Conv)
		}
		return d.emit(Finding{Kind: finding.ValueAltered, ConversationID: r.Conv, MessageID: r.ID, Field: r.BadField,
			Got: r.BadRaw, File: r.File, Detail: whereDetail(r, r.Bad+": cannot be matched")})
	}
	if r.Conv == "" {
		return d.emit(Finding{Kind: finding.FieldStripped, MessageID: r.ID, Field: finding.FieldConversationID, File: r.File,
			Detail: whereDetail(r, "message has no conversation id: cannot be matched")})
	}
	d.cover(r.Conv)
	if r.ID == "" {
		return d.emit(Finding{Kind: finding.FieldStripped, ConversationID: r.Conv, Field: finding.FieldMessageID, File: r.File,
			Detail: whereDetail(r, r.NoID+": cannot be matched")})
	}
	c, ok, err := d.lookup(r.Conv, r.ID)
	if err != nil {
		return fmt.Errorf("diff: lookup %s/%s: %w", r.Conv, r.ID, err)
	}
	if !ok {
		k := idKey(r.Conv, r.ID)
		if !d.uncaptured.add(k) {
			return d.emit(Finding{Kind: finding.Duplicated, ConversationID: r.Conv, MessageID: r.ID, File: r.File,
				Detail: whereDetail(r, "message appears again in the export")})
		}
		return d.emit(Finding{Kind: finding.NotCaptured, ConversationID: r.Conv, MessageID: r.ID, File: r.File,
			Detail: whereDetail(r, "in the export but never captured: refetch"), Cause: finding.CauseNotCaptured})
	}
	if d.seen.has(c.Seq) {
		return d.emit(Finding{Kind: finding.Duplicated, ConversationID: r.Conv, MessageID: r.ID, File: r.File,
			Detail: whereDetail(r, "message appears again in the export")})
	}
	d.seen.set(c.Seq)
	return d.compare(r, &c)
}

// whereDetail is r.Where() + ": " + detail in one allocation instead of
// two (TestWhereDetail): a finding's detail says where its message is,
// and the diff makes about two findings a message.
func whereDetail(r *exportfile.Message, detail string) string {
	if r.Array == "" {
		return "line " + strconv.Itoa(r.Pos) + ": " + detail
	}
	return r.Array + "[" + strconv.Itoa(r.Pos) + "]: " + detail
}

func (d *differ) compare(r *exportfile.Message, c *Captured) error {
	base := Finding{ConversationID: r.Conv, MessageID: r.ID, File: r.File}
	emit := func(kind finding.Kind, field, expected, got, detail string) error {
		f := base
		f.Kind, f.Field, f.Expected, f.Got, f.Detail = kind, field, expected, got, whereDetail(r, detail)
		return d.emit(f)
	}
	stripped := func(field, expected string, v *exportfile.Value) error {
		switch {
		case !d.pol.required(field):
			return nil
		case v.Unheld || sourceNeverHeld(field):
			d.lacks(r.Shape, field, expected)
			return nil
		}
		return emit(finding.FieldStripped, field, expected, "", "required field absent from the export")
	}
	bad := func(field, expected string, v *exportfile.Value) error {
		return emit(finding.ValueAltered, field, expected, v.Raw, v.Bad)
	}

	// Timestamp.
	if v := &r.Fields[exportfile.IdxTimestamp]; !v.Present {
		if err := stripped(finding.FieldTimestamp, c.Timestamp, v); err != nil {
			return err
		}
	} else if v.Bad != "" {
		if err := bad(finding.FieldTimestamp, c.Timestamp, v); err != nil {
			return err
		}
	} else if err := d.compareTime(c, v, emit); err != nil {
		return err
	}

	// Content. An erased capture (custody erase) has no content or
	// sender left to compare with; the rest is still the ledger's. The
	// comparison not made is said, message by message: a finding on its
	// text or sender in an earlier diff must not vanish without a word.
	if c.Erased {
		if err := d.erased(c, emit); err != nil {
			return err
		}
	} else if v := &r.Fields[exportfile.IdxContent]; !v.Present {
		if c.ContentSHA256 != emptyContentHash {
			if err := stripped(finding.FieldContent, c.ContentSHA256, v); err != nil {
				return err
			}
		}
	} else if v.Bad != "" {
		if err := bad(finding.FieldContent, c.ContentSHA256, v); err != nil {
			return err
		}
	} else if v.Text != c.ContentSHA256 {
		if err := emit(finding.ContentDiffers, finding.FieldContent, c.ContentSHA256, v.Text, "SHA-256 of the normalised text differs"); err != nil {
			return err
		}
	}

	// Sender, legal hold, audit trail, template header media,
	// attachments: plain values. A template header media or attachments
	// absent are a finding only when the capture has them (most messages
	// are no template and have no attachment).
	plain := [...]struct {
		idx      int
		field    string
		expected string
		known    bool
		none     bool // its absence is no finding: the capture has none to lose
	}{
		{exportfile.IdxSender, finding.FieldSender, strings.TrimSpace(c.Sender), !c.Erased, false},
		{exportfile.IdxLegalHold, finding.FieldLegalHold, boolString(c.LegalHold), c.LegalHold != nil, false},
		{exportfile.IdxAuditTrailID, finding.FieldAuditTrailID, exportfile.JoinIDs(c.AuditRefs), true, false},
		{exportfile.IdxTemplateHeaderMedia, finding.FieldTemplateHeaderMedia, c.HeaderMedia, c.HeaderMediaKnown, !c.HeaderMediaKnown || c.HeaderMedia == ""},
		{exportfile.IdxAttachments, finding.FieldAttachments, c.Attachments, c.AttachmentsKnown, !c.AttachmentsKnown || c.Attachments == ""},
	}
	for _, pf := range plain {
		v := &r.Fields[pf.idx]
		var err error
		switch {
		case c.Erased && pf.idx == exportfile.IdxSender:
		case !v.Present && pf.none:
		case !v.Present:
			err = stripped(pf.field, pf.expected, v)
		case v.Bad != "":
			err = bad(pf.field, pf.expected, v)
		case pf.known && v.Text != pf.expected:
			err = emit(finding.ValueAltered, pf.field, pf.expected, v.Text, "value differs from the capture")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// erased reports an exported message whose capture was erased: one
// finding for its content and sender, naming the erasure entry, which
// the summary lists too.
func (d *differ) erased(c *Captured, emit func(finding.Kind, string, string, string, string) error) error {
	by, detail := "", "content and sender not compared: the message was erased from the ledger by custody erase"
	if c.ErasedBy != 0 {
		by = "erasure entry " + strconv.FormatUint(c.ErasedBy, 10)
		detail += " (" + by + ")"
		if i, found := slices.BinarySearch(d.s.ErasedEntries, c.ErasedBy); !found {
			d.s.ErasedEntries = slices.Insert(d.s.ErasedEntries, i, c.ErasedBy)
		}
	}
	return emit(finding.Erased, "", by, "", detail)
}

func (d *differ) compareTime(c *Captured, v *exportfile.Value, emit func(finding.Kind, string, string, string, string) error) error {
	// A capture's timestamp is nearly always in MillisLayout already: then
	// it is its own FormatMillis, and parsing it is cheap.
	ct, ok := millis.Parse(c.Timestamp)
	expected := c.Timestamp
	if !ok {
		var err error
		if ct, _, err = genesys.ParseTimestamp(c.Timestamp); err != nil {
			return emit(finding.ValueAltered, finding.FieldTimestamp, c.Timestamp, v.Text, "captured timestamp cannot be parsed: cannot compare")
		}
		ct = ct.Truncate(time.Millisecond)
		expected = genesys.FormatMillis(ct)
	}
	if v.Digits >= 3 {
		if v.T.Truncate(time.Millisecond).Equal(ct) {
			return nil
		}
		return emit(finding.TimestampShifted, finding.FieldTimestamp, expected, v.Text, "off by "+offBy(v.T, ct))
	}
	unit := precisionUnit(v.Digits)
	if ct.Truncate(unit).Equal(v.T) {
		return emit(finding.TimestampPrecisionLost, finding.FieldTimestamp, expected, v.Text,
			"exported with "+strconv.Itoa(v.Digits)+" fractional digits; the capture has milliseconds")
	}
	return emit(finding.TimestampShifted, finding.FieldTimestamp, expected, v.Text, "off by "+offBy(v.T, ct))
}

// offBy says how far t is from ct, signed: a time.Duration's form
// ("+1h2m3s") when it can hold the difference, else (more than about 292
// years, where Sub saturates) whole days and the rest, with the years
// they make ("-3652058d23h59m59.999s, about 9999 years").
func offBy(t, ct time.Time) string {
	if d := t.Sub(ct); d != math.MaxInt64 && d != math.MinInt64 {
		return signed(d)
	}
	secs, nanos := t.Unix()-ct.Unix(), int64(t.Nanosecond()-ct.Nanosecond())
	sign := "+"
	if secs < 0 || (secs == 0 && nanos < 0) {
		sign, secs, nanos = "-", -secs, -nanos
	}
	if nanos < 0 {
		secs, nanos = secs-1, nanos+int64(time.Second)
	}
	const day = 86400
	rest := time.Duration(secs%day)*time.Second + time.Duration(nanos)
	return fmt.Sprintf("%s%dd%s, about %d years", sign, secs/day, rest, int64(math.Round(float64(secs)/(365.2425*day))))
}

func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

func boolString(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// finish reports captured messages the export lacks.
func (d *differ) finish() error {
	d.s.Conversations = len(d.covered)
	if d.ci != nil {
		return d.finishConversations()
	}
	absent := map[string]*absentConv{}
	held := map[string]bool{} // covered conversations with captures
	err := d.idx.Each(d.ctx, func(c Captured) error {
		d.s.Captured++
		if _, ok := d.covered[c.ConversationID]; ok && !held[c.ConversationID] {
			held[c.ConversationID] = true
		}
		if _, ok := d.covered[c.ConversationID]; !ok {
			a := absent[c.ConversationID]
			if a == nil {
				a = &absentConv{conv: c.ConversationID}
				absent[c.ConversationID] = a
			}
			a.add(c)
			d.s.MessagesInAbsentConversations++
			return nil
		}
		if d.seen.has(c.Seq) {
			return nil
		}
		return d.emit(Finding{Kind: finding.MissingFromExport, ConversationID: c.ConversationID, MessageID: c.MessageID,
			Field: "", Expected: c.Timestamp,
			Detail: fmt.Sprintf("captured (seq %d) but not in the export", c.Seq), Cause: d.opts.cause(c.Timestamp, false, false)})
	})
	if err != nil {
		return fmt.Errorf("diff: walk captured messages: %w", err)
	}
	var never []string
	for conv := range d.covered {
		if !held[conv] {
			never = append(never, conv)
		}
	}
	if err := d.reportNeverCaptured(never); err != nil {
		return err
	}
	list := make([]absentConv, 0, len(absent))
	for _, a := range absent {
		list = append(list, *a)
	}
	return d.reportAbsent(list)
}

// absentConv is a captured conversation the export does not cover: how
// many messages were captured, the newest capture time, and whether any
// holds sensitive data (what its cause is inferred from).
type absentConv struct {
	conv      string
	messages  int
	last      string
	sensitive bool
	// checked: sensitive is settled (loadAbsent asked the SensitiveIndex
	// already).
	checked bool
}

func (a *absentConv) add(c Captured) {
	a.messages++
	if c.Timestamp > a.last { // RFC 3339 in UTC with milliseconds: text order is time order
		a.last = c.Timestamp
	}
	a.sensitive = a.sensitive || c.Sensitive
}

// reportAbsent reports every captured conversation the export does not
// cover, one conversation_absent finding each, in conversation id order
// (after the missing_from_export findings, whichever index found them).
func (d *differ) reportAbsent(list []absentConv) error {
	slices.SortFunc(list, func(a, b absentConv) int { return strings.Compare(a.conv, b.conv) })
	d.s.ConversationsAbsent = len(list)
	si, _ := d.idx.(SensitiveIndex)
	for _, a := range list {
		if !a.sensitive && !a.checked && si != nil {
			var err error
			if a.sensitive, err = si.SensitiveData(d.ctx, a.conv); err != nil {
				return fmt.Errorf("diff: conversation %s: %w", a.conv, err)
			}
		}
		err := d.emit(Finding{Kind: finding.ConversationAbsent, ConversationID: a.conv,
			Detail: fmt.Sprintf("captured (%d messages) but the export has no file, folder or message of this conversation", a.messages),
			Cause:  d.opts.cause(a.last, a.sensitive, true)})
		if err != nil {
			return err
		}
	}
	return nil
}

// finishConversations is finish for a ConversationIndex: the captures the
// export lacks in the conversations it covers are the latest captures
// loaded but not seen, reported in ascending Seq (the order Each would
// give); conversations it does not cover are only counted.
func (d *differ) finishConversations() error {
	var never []string
	for conv, loaded := range d.covered {
		if loaded {
			continue // a message of it was looked up: not captured, it is that message's gap
		}
		// Covered, yet none of its messages was looked up (a file naming
		// the conversation without a usable message): every capture of it
		// is missing.
		all, err := d.ci.Conversation(d.ctx, conv)
		if err != nil {
			return fmt.Errorf("diff: load conversation %s: %w", conv, err)
		}
		if len(all) == 0 {
			never = append(never, conv)
		}
		d.loaded(conv, all)
	}
	d.s.Captured = d.latest.count()
	// Count the conversations the export lacks entirely beside reporting
	// the missing messages: two independent reads of the ledger.
	var absent []absentConv
	var absentMsgs int
	var g errgroup.Group
	g.Go(func() error {
		if err := d.loadAbsent(&absent, &absentMsgs); err != nil {
			return fmt.Errorf("diff: conversations absent from the export: %w", err)
		}
		return nil
	})
	missing := func(c Captured) error {
		return d.emit(Finding{Kind: finding.MissingFromExport, ConversationID: c.ConversationID, MessageID: c.MessageID,
			Expected: c.Timestamp, Detail: fmt.Sprintf("captured (seq %d) but not in the export", c.Seq), Cause: d.opts.cause(c.Timestamp, false, false)})
	}
	read := d.ci.Captures
	if mi, ok := d.ci.(MissingIndex); ok {
		read = mi.Missing
	}
	const batch = 1024 // captures read back per call
	seqs := make([]uint64, 0, batch)
	err := d.latest.eachNotIn(d.seen, func(seq uint64) error {
		if seqs = append(seqs, seq); len(seqs) < batch {
			return nil
		}
		err := read(d.ctx, seqs, missing)
		seqs = seqs[:0]
		return err
	})
	if err == nil && len(seqs) > 0 {
		err = read(d.ctx, seqs, missing)
	}
	if err != nil {
		err = fmt.Errorf("diff: captured messages missing from the export: %w", err)
	}
	if gerr := g.Wait(); err == nil {
		err = gerr
	}
	if err != nil {
		return err
	}
	if err := d.reportNeverCaptured(never); err != nil {
		return err
	}
	d.s.MessagesInAbsentConversations = absentMsgs
	d.s.Captured += absentMsgs
	return d.reportAbsent(absent)
}

// reportNeverCaptured reports the conversations of convs — covered by the
// export, none of them captured — that no not_captured finding names yet:
// no message of them could be matched (their only file cut short before
// its first message, or holding none, or only their metadata). The export
// proves each existed, so each is one conversation-level not_captured
// finding (no message id): a gap, so that refetch captures it, after
// which the next diff compares what the export kept of it. They come
// after the missing_from_export findings, in conversation id order,
// whichever index found them.
func (d *differ) reportNeverCaptured(convs []string) error {
	slices.Sort(convs)
	for _, conv := range convs {
		if d.s.PerConversation[conv].Get(finding.NotCaptured) > 0 {
			continue // a message of it is a gap already: refetch captures the conversation
		}
		detail := "the export names this conversation but custody never captured it, and no message of it could be matched: refetch"
		if d.s.PerConversation[conv].Get(finding.FileUnreadable) > 0 {
			detail = "the export names this conversation but custody never captured it, and no message of it could be read (see its file_unreadable finding): refetch"
		}
		if err := d.emit(Finding{Kind: finding.NotCaptured, ConversationID: conv, Detail: detail, Cause: finding.CauseNotCaptured}); err != nil {
			return err
		}
	}
	return nil
}

// loadAbsent loads every captured conversation the export does not cover
// (ConversationIndex.Conversations less d.covered) and appends those with
// captures to absent, counting their messages in msgs; with a
// SensitiveIndex, each one's sensitive flag is settled here too, beside
// the reading of the missing captures (reportAbsent asks nothing more).
// A BriefIndex loads them without opening their captures: their finding
// names nothing an opening holds. One at a time: unopened they are a
// small part of the diff, and a worker per processor (each with a ledger
// connection) raised the peak memory toward the 300 MB goal. Only the
// SensitiveIndex is asked several at a time, by an index that reads
// evidence across round trips (ParallelIndex).
func (d *differ) loadAbsent(absent *[]absentConv, msgs *int) error {
	si, _ := d.idx.(SensitiveIndex)
	load := d.ci.Conversation
	if bi, ok := d.ci.(BriefIndex); ok {
		load = bi.ConversationBrief
	}
	first := len(*absent)
	err := d.ci.Conversations(d.ctx, func(conv string) error {
		if _, ok := d.covered[conv]; ok {
			return nil
		}
		all, err := load(d.ctx, conv)
		if err != nil || len(all) == 0 {
			return err
		}
		a := absentConv{conv: strings.Clone(conv), checked: true}
		for _, c := range all {
			a.add(c)
		}
		*absent = append(*absent, a)
		*msgs += len(all)
		return nil
	})
	if err != nil || si == nil {
		return err
	}
	workers := 1
	if pi, ok := d.idx.(ParallelIndex); ok {
		workers = max(1, pi.Parallelism())
	}
	g, gctx := errgroup.WithContext(d.ctx)
	g.SetLimit(workers)
	for i := range (*absent)[first:] {
		a := &(*absent)[first+i]
		if a.sensitive {
			continue
		}
		g.Go(func() error {
			var err error
			if a.sensitive, err = si.SensitiveData(gctx, a.conv); err != nil {
				return fmt.Errorf("conversation %s: %w", a.conv, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// idKey is the first 128 bits of SHA-256 of a conversation and message id
// (length-prefixed, so no two pairs share an input): two pairs share a key
// with probability about n²/2¹²⁹, nil for any export.
func idKey(conv, msg string) [2]uint64 {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(conv)))
	h.Write(n[:])
	io.WriteString(h, conv)
	io.WriteString(h, msg)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return [2]uint64{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])}
}

// lackKey is a shape and a field it keeps nowhere.
type lackKey struct{ shape, field string }

// sourceNeverHeld says whether no Genesys export has ever carried field:
// legal hold and audit references, which custody supplies (deletion
// protection and its own holds, the audit API). A message of any shape
// without one lost nothing an export had, so its absence is counted for
// one format_lacks, never a field_stripped of the message, even where the
// shape's policy names a path for it (a value present there is still
// compared).
func sourceNeverHeld(field string) bool {
	return field == finding.FieldLegalHold || field == finding.FieldAuditTrailID
}

// lackCount is how many exported messages of a shape lack a field it
// keeps nowhere, and what custody holds for them, by value class
// (lackValue).
type lackCount struct {
	messages int
	values   map[string]int
}

// lacks notes an exported message of shape without field, which its
// shape keeps nowhere, captured with the value expected.
func (d *differ) lacks(shape, field, expected string) {
	if d.unheld == nil {
		d.unheld = map[lackKey]*lackCount{}
	}
	k := lackKey{shape, field}
	c := d.unheld[k]
	if c == nil {
		c = &lackCount{values: map[string]int{}}
		d.unheld[k] = c
	}
	c.messages++
	c.values[lackValue(field, expected)]++
}

// lackValue classes what custody holds for a field an export's format
// cannot hold: legal_hold true, false or unknown; audit_trail_id
// with_references or none; any other field held or empty. Classes, not
// values: a sender or a text would make the finding as long as the
// export.
func lackValue(field, expected string) string {
	switch field {
	case finding.FieldLegalHold:
		return cmp.Or(expected, "unknown")
	case finding.FieldAuditTrailID:
		if expected == "" || expected == "[]" {
			return "none"
		}
		return "with_references"
	}
	if expected == "" {
		return "empty"
	}
	return "held"
}

// emitLacks reports each field a shape of the export keeps nowhere once,
// for the whole export (format_lacks): shapes by name, fields in
// finding.ComplianceFields order.
func (d *differ) emitLacks() error {
	keys := slices.Collect(maps.Keys(d.unheld))
	slices.SortFunc(keys, func(a, b lackKey) int {
		return cmp.Or(strings.Compare(a.shape, b.shape),
			slices.Index(finding.ComplianceFields[:], a.field)-slices.Index(finding.ComplianceFields[:], b.field))
	})
	for _, k := range keys {
		c := d.unheld[k]
		if d.s.FormatLacks == nil {
			d.s.FormatLacks = map[string]int{}
		}
		d.s.FormatLacks[k.field] += c.messages
		classes := slices.Sorted(maps.Keys(c.values))
		pairs := make([]string, len(classes))
		for i, v := range classes {
			pairs[i] = v + "=" + strconv.Itoa(c.values[v])
		}
		detail := fmt.Sprintf("the %s shape keeps no %s (the policy lists no path for it): %d exported messages lack it, as every export of that shape does; custody holds it for them",
			k.shape, k.field, c.messages)
		if len(d.pol.Shapes[k.shape].Fields[k.field]) > 0 {
			detail = fmt.Sprintf("%d exported messages of the %s shape have no %s, which no Genesys export has ever carried: they lost nothing; custody holds it for them",
				c.messages, k.shape, k.field)
		}
		err := d.emit(Finding{Kind: finding.FormatLacks, Field: k.field, Expected: strings.Join(pairs, ";"), Count: c.messages, Detail: detail})
		if err != nil {
			return err
		}
	}
	return nil
}
