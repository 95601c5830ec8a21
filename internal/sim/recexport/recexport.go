package recexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/sim"
)

// Errors callers match with errors.Is.
var (
	// ErrNoTarget: neither a folder nor an S3 bucket was given.
	ErrNoTarget = errors.New("no export target")
	// ErrBadProfile: a damage profile is out of range or names an unknown shape.
	ErrBadProfile = errors.New("bad damage profile")
	// ErrManifestInTarget: the ground truth would be written inside the export.
	ErrManifestInTarget = errors.New("manifest path inside the export target")
)

// Export shapes.
const (
	// ShapeGenesys is the Genesys S3 layout: per conversation a folder
	// {orgId}/year=YYYY/month=MM/day=DD/hour=HH/conversation_id={id}/ (the
	// conversation's start, UTC) holding {recordingId}.json, a Recording
	// with its messagingTranscript, and {recordingId}_metadata.json.
	ShapeGenesys = "genesys"
	// ShapeReshape is a customer pipeline's reshape: per conversation
	// {orgId}/{channel}/{YYYY-MM-DD}/{conversationId}.json holding
	// {"channel":…,"messages":[{"id","content","timestamp"}]}, timestamps
	// cut to whole seconds.
	ShapeReshape = "reshape"
)

// Profile says how an export is damaged. Shares are probabilities (0 to 1)
// drawn per message, or per conversation where noted, from Seed: equal
// profiles over equal orgs give byte-identical exports and manifests.
type Profile struct {
	Shape string `json:"shape"`
	Seed  uint64 `json:"seed"`
	// TruncateTimestamps: share of messages whose timestamp is cut to whole
	// seconds (the reshape always cuts).
	TruncateTimestamps float64 `json:"truncate_timestamps"`
	// ShiftTimestamps: share of messages moved by 1 s to 2 h, either way.
	ShiftTimestamps float64 `json:"shift_timestamps"`
	// DropMessages: share of messages left out.
	DropMessages float64 `json:"drop_messages"`
	// AlterContent: share of messages whose text is changed.
	AlterContent float64 `json:"alter_content"`
	// AlterSender: share of messages whose sender is replaced (genesys only:
	// the reshape has no sender).
	AlterSender float64 `json:"alter_sender"`
	// Duplicate: share of messages written twice.
	Duplicate float64 `json:"duplicate"`
	// Extra: share of messages followed by a fabricated one custody never
	// captured.
	Extra float64 `json:"extra"`
	// TruncateFiles: share of conversations whose message file is cut short.
	TruncateFiles float64 `json:"truncate_files"`
	// DropConversations: share of conversations left out entirely.
	DropConversations float64 `json:"drop_conversations"`
	// ZoneOffsets: share of conversations whose timestamps are written with
	// a +05:30 offset — the same instants, so no damage.
	ZoneOffsets float64 `json:"zone_offsets"`
	// Cosmetic: share of messages whose text gains harmless differences
	// (padding, CRLF, Unicode NFD) that normalisation removes — no damage.
	Cosmetic float64 `json:"cosmetic"`
	// StripHeaderMedia: share of WhatsApp templates with header media
	// written without it (notificationTemplate.header.media left out);
	// AlterHeaderMedia: share of the others whose header media is
	// replaced by another (another id). Genesys only: the reshape keeps
	// no media. Drawn from a stream of their own, so the other damage of
	// a seed is what it was without them.
	StripHeaderMedia float64 `json:"strip_header_media"`
	AlterHeaderMedia float64 `json:"alter_header_media"`
	// DropAttachments: share of messages with attachments written
	// without them (messageMediaAttachments left out);
	// ReplaceAttachments: share of the others with one of them replaced
	// by another (another id). Genesys only: the reshape keeps
	// no media. Drawn from a stream of their own (and only when either is
	// above 0), so the other damage of a seed is what it was without them
	// (a truncated file is cut at the same share of its length, which
	// they change).
	DropAttachments    float64 `json:"drop_attachments"`
	ReplaceAttachments float64 `json:"replace_attachments"`
	// IncludeSensitiveData exports conversations with sensitive data
	// (sim.ConvData.SensitiveData), as includeRecordingsWithSensitiveData
	// does; without it they are left out (Genesys's default).
	IncludeSensitiveData bool `json:"include_sensitive_data,omitempty"`
	// RunAt is when the export runs; conversations that ended less than
	// DataLakeLag before it are left out, not yet in Genesys's data lake.
	// Zero: every conversation is in the data lake.
	RunAt time.Time `json:"run_at,omitzero"`
	// DataLakeLag is how long a conversation takes to reach the data lake
	// (default 48 hours, Genesys's stated maximum).
	DataLakeLag time.Duration `json:"data_lake_lag,omitempty"`
	// CountOnly keeps only counts in the Manifest (large benchmark exports).
	CountOnly bool `json:"count_only,omitempty"`
	// Concurrency is how many conversations are generated and written at
	// once (default GOMAXPROCS).
	Concurrency int `json:"-"`
}

// DefaultDataLakeLag is Profile.DataLakeLag's default.
const DefaultDataLakeLag = 48 * time.Hour

func (p *Profile) dataLakeLag() time.Duration {
	if p.DataLakeLag > 0 {
		return p.DataLakeLag
	}
	return DefaultDataLakeLag
}

// Origin says who does a kind of damage: Genesys's own bulk exporter,
// a customer's pipeline that reshapes exports, or someone tampering with
// them. Profile's shares each belong to one origin:
//
//   - genesys_exporter: the export formats' missing provenance fields
//     (legal hold, audit trail reference), DropConversations (no
//     recording), conversations with sensitive data (unless
//     IncludeSensitiveData) or not yet in the data lake (RunAt),
//     TruncateFiles (and the messages the cut loses);
//   - customer_pipeline: TruncateTimestamps (and the reshape's seconds,
//     missing sender, missing template header media and attachments),
//     ZoneOffsets (no damage), DropMessages, Duplicate, StripHeaderMedia,
//     DropAttachments;
//   - tampering: ShiftTimestamps, AlterContent, AlterSender, Extra
//     (invented messages), AlterHeaderMedia, ReplaceAttachments.
type Origin string

// Origins.
const (
	OriginGenesysExporter  Origin = "genesys_exporter"
	OriginCustomerPipeline Origin = "customer_pipeline"
	OriginTampering        Origin = "tampering"
)

// DefaultProfile is a mix of every damage, in shares that give each kind
// several occurrences in a few hundred messages.
func DefaultProfile(shape string, seed uint64) Profile {
	p := Profile{
		Shape: shape, Seed: seed,
		TruncateTimestamps: 0.3, ShiftTimestamps: 0.03, DropMessages: 0.03,
		AlterContent: 0.03, AlterSender: 0.02, Duplicate: 0.02, Extra: 0.02,
		TruncateFiles: 0.05, DropConversations: 0.05, ZoneOffsets: 0.2, Cosmetic: 0.1,
		// Templates with header media are a few in a hundred messages.
		StripHeaderMedia: 0.2, AlterHeaderMedia: 0.25,
		// Messages with attachments are about one in ten.
		DropAttachments: 0.08, ReplaceAttachments: 0.08,
	}
	if shape == ShapeReshape {
		p.TruncateTimestamps = 1
		p.AlterSender, p.StripHeaderMedia, p.AlterHeaderMedia = 0, 0, 0
		p.DropAttachments, p.ReplaceAttachments = 0, 0
	}
	return p
}

// CleanProfile damages nothing beyond what the shape's format itself loses
// (no legal hold or audit fields; the reshape's seconds and missing sender);
// it asks for recordings with sensitive data, so it leaves nothing out.
func CleanProfile(shape string, seed uint64) Profile {
	p := Profile{Shape: shape, Seed: seed, IncludeSensitiveData: true}
	if shape == ShapeReshape {
		p.TruncateTimestamps = 1
	}
	return p
}

func (p *Profile) check() error {
	if p.Shape != ShapeGenesys && p.Shape != ShapeReshape {
		return fmt.Errorf("recexport: %w: shape %q (want %s or %s)", ErrBadProfile, p.Shape, ShapeGenesys, ShapeReshape)
	}
	for name, v := range map[string]float64{
		"truncate_timestamps": p.TruncateTimestamps, "shift_timestamps": p.ShiftTimestamps,
		"drop_messages": p.DropMessages, "alter_content": p.AlterContent, "alter_sender": p.AlterSender,
		"duplicate": p.Duplicate, "extra": p.Extra, "truncate_files": p.TruncateFiles,
		"drop_conversations": p.DropConversations, "zone_offsets": p.ZoneOffsets, "cosmetic": p.Cosmetic,
		"strip_header_media": p.StripHeaderMedia, "alter_header_media": p.AlterHeaderMedia,
		"drop_attachments": p.DropAttachments, "replace_attachments": p.ReplaceAttachments,
	} {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("recexport: %w: %s = %v, want 0 to 1", ErrBadProfile, name, v)
		}
	}
	return nil
}

// Damage is one thing the export did to a message, a file or a
// conversation. Field names the compliance field for field_stripped,
// value_altered and the timestamp and content kinds; File is the export
// file (relative to the target) where a diff finds it. Origin says who
// did it; Cause is the cause a diff should name for a gap
// (conversation_absent, not_captured), empty for other damage.
type Damage struct {
	Kind           finding.Kind  `json:"kind"`
	Origin         Origin        `json:"origin"`
	Cause          finding.Cause `json:"cause,omitempty"`
	ConversationID string        `json:"conversation_id"`
	MessageID      string        `json:"message_id,omitempty"`
	Field          string        `json:"field,omitempty"`
	File           string        `json:"file,omitempty"`
	Detail         string        `json:"detail,omitempty"`
	// Count, for format_lacks (one damage for the whole export), is how
	// many exported messages the diff compares lack the field.
	Count int `json:"count,omitempty"`
}

// Manifest is the ground truth of one export.
type Manifest struct {
	Version int     `json:"version"`
	OrgID   string  `json:"org_id"`
	Target  string  `json:"target"`
	Profile Profile `json:"profile"`
	// Conversations written; skipped because there was nothing to export
	// by the job's terms (voice: no message recording; sensitive data not
	// asked for; not yet in the data lake); failed: left out with no
	// reason the job could give (no recording exported). Skipped and
	// failed are the job's totalSkippedRecordings and totalFailedRecordings.
	Conversations        int `json:"conversations"`
	ConversationsSkipped int `json:"conversations_skipped"`
	ConversationsFailed  int `json:"conversations_failed"`
	// Files written (message files and metadata).
	Files int `json:"files"`
	// Messages written (before any file truncation), counting copies and
	// fabricated messages; MessagesReadable those a reader can reach.
	Messages         int `json:"messages"`
	MessagesReadable int `json:"messages_readable"`
	// Counts are the damages by kind; Damages lists them (unless
	// Profile.CountOnly) in conversation order, then file order.
	Counts  map[finding.Kind]int `json:"counts"`
	Damages []Damage             `json:"damages,omitempty"`
}

// WriteFile writes the manifest as indented JSON.
func (m *Manifest) WriteFile(path string) error {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("recexport: encode manifest: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("recexport: write manifest: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("recexport: write manifest: %w", err)
	}
	return nil
}

// ReadManifest reads a manifest written by WriteFile.
func ReadManifest(path string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("recexport: read manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("recexport: read manifest %s: %w", path, err)
	}
	return m, nil
}

// Export writes convIDs of org (all of them when nil) to t, damaged as p
// says, and returns the ground truth. It never writes the manifest itself:
// see Exporter, or Manifest.WriteFile.
func Export(ctx context.Context, org *sim.Org, convIDs []string, t Target, p Profile) (Manifest, error) {
	return export(ctx, org, convIDs, t, p, nil)
}

func export(ctx context.Context, org *sim.Org, convIDs []string, t Target, p Profile, progress func(int)) (Manifest, error) {
	m := Manifest{Version: 1, OrgID: org.OrgID(), Target: t.String(), Profile: p, Counts: map[finding.Kind]int{}}
	if err := p.check(); err != nil {
		return m, err
	}
	if err := t.check(); err != nil {
		return m, err
	}
	if convIDs == nil {
		convIDs = make([]string, org.Len())
		for i := range convIDs {
			convIDs[i] = org.ConversationID(i)
		}
	}
	conc := p.Concurrency
	if conc <= 0 {
		conc = runtime.GOMAXPROCS(0)
	}
	results := make([]convResult, len(convIDs))
	var done atomic.Int64
	var progMu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for i, id := range convIDs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			c, ok := org.Conversation(id)
			if !ok {
				return fmt.Errorf("recexport: conversation %s: not in the org", id)
			}
			res, err := exportConversation(gctx, org.OrgID(), c, t, &p)
			if err != nil {
				return err
			}
			if p.CountOnly {
				res.counts = countKinds(res.damages)
				res.damages = nil
			}
			results[i] = res
			n := done.Add(1)
			if progress != nil {
				progMu.Lock()
				progress(int(n))
				progMu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return m, err
	}
	if err := ctx.Err(); err != nil {
		return m, err
	}
	unheld := 0
	var lacks [len(mediaLacks)]int
	for _, r := range results {
		switch {
		case r.skipped:
			m.ConversationsSkipped++
		case r.failed:
			m.ConversationsFailed++
		}
		if r.files > 0 {
			m.Conversations++
		}
		m.Files += r.files
		m.Messages += r.messages
		m.MessagesReadable += r.readable
		counts := r.counts
		if counts == nil {
			counts = countKinds(r.damages)
		}
		for k, n := range counts {
			m.Counts[k] += n
		}
		m.Damages = append(m.Damages, r.damages...)
		unheld += r.unheld
		for f, n := range r.mediaLacks {
			lacks[f] += n
		}
	}
	if unheld > 0 {
		// What no Genesys export holds, once for the export: the
		// Recording format has no such fields, and a reshape of it has
		// nothing to keep them from.
		what := "the Recording export format has no "
		if p.Shape == ShapeReshape {
			what = "the reshape of a Recording export, which has none, has no "
		}
		for _, f := range [...]struct{ field, detail string }{
			{finding.FieldLegalHold, what + "legal hold"},
			{finding.FieldAuditTrailID, what + "audit trail reference"},
		} {
			d := Damage{Kind: finding.FormatLacks, Origin: OriginGenesysExporter, Field: f.field, Count: unheld, Detail: f.detail}
			m.Counts[d.Kind]++
			if !p.CountOnly {
				m.Damages = append(m.Damages, d)
			}
		}
	}
	for f, n := range lacks {
		if n == 0 {
			continue
		}
		// The reshape keeps no media: once for the export, counting the
		// messages whose template header media, or attachments, custody
		// holds.
		d := Damage{Kind: finding.FormatLacks, Origin: OriginCustomerPipeline, Field: mediaLacks[f].field, Count: n, Detail: mediaLacks[f].detail}
		m.Counts[d.Kind]++
		if !p.CountOnly {
			m.Damages = append(m.Damages, d)
		}
	}
	return m, nil
}

func countKinds(ds []Damage) map[finding.Kind]int {
	c := map[finding.Kind]int{}
	for _, d := range ds {
		c[d.Kind]++
	}
	return c
}

// Exporter runs the simulator's recording EXPORT jobs
// (sim.Options.RecordingExporter): each job writes its conversations to
// Target, damaged per Profile, and the ground truth to ManifestPath.
type Exporter struct {
	Target  Target
	Profile Profile
	// ManifestPath is where the ground truth goes; it must lie outside a
	// folder target. A second job writes NAME-2.json, and so on. Empty:
	// no manifest file (Last still returns it).
	ManifestPath string

	mu   sync.Mutex
	runs int
	last Manifest
}

var _ sim.RecordingExporter = (*Exporter)(nil)

// RunExport implements sim.RecordingExporter: the job's sensitive-data
// choice and time override the Profile's.
func (e *Exporter) RunExport(ctx context.Context, org *sim.Org, job sim.ExportJob, progress func(done int)) (sim.ExportResult, error) {
	if e.ManifestPath != "" && e.Target.contains(e.ManifestPath) {
		return sim.ExportResult{}, fmt.Errorf("recexport: %w: %s is inside %s", ErrManifestInTarget, e.ManifestPath, e.Target.Dir)
	}
	convIDs := job.ConversationIDs
	if convIDs == nil {
		convIDs = []string{} // a job over nothing exports nothing, not the whole org
	}
	p := e.Profile
	// The manifest keeps RunAt as JSON: no monotonic reading, UTC.
	p.IncludeSensitiveData, p.RunAt = job.IncludeSensitiveData, job.RunAt.UTC().Round(0)
	m, err := export(ctx, org, convIDs, e.Target, p, progress)
	if err != nil {
		return sim.ExportResult{}, err
	}
	res := sim.ExportResult{Exported: m.Conversations, Failed: m.ConversationsFailed, Skipped: m.ConversationsSkipped}
	e.mu.Lock()
	e.runs++
	path := e.ManifestPath
	if path != "" && e.runs > 1 {
		ext := filepath.Ext(path)
		path = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), e.runs, ext)
	}
	e.last = m
	e.mu.Unlock()
	if path != "" {
		return res, m.WriteFile(path)
	}
	return res, nil
}

// Last returns the manifest of the latest finished job.
func (e *Exporter) Last() Manifest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}
