package diff

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/testutil/s3test"
	"github.com/custodyhq/custody/internal/testutil/slowfs"
)

// orgIndex is what custody would have captured of the org's conversations:
// every message as the API serves it (content in normalizedMessage only,
// structured content included) with its millisecond timestamp, text,
// sender, the conversation's legal hold and audit references.
func orgIndex(t testing.TB, org *sim.Org) *MemIndex {
	t.Helper()
	idx := &MemIndex{}
	for i := range org.Len() {
		c := org.ConversationAt(i)
		hold := c.LegalHold
		var refs []string
		for _, a := range c.Audits {
			refs = append(refs, a.ID)
		}
		for k := range c.Messages {
			served := sim.APIMessage(c.Messages[k])
			idx.Add(CaptureOf(&served, c.ID, &hold, refs, 0))
		}
	}
	return idx
}

func testOrg() *sim.Org {
	return sim.NewOrg(sim.OrgConfig{Seed: 11, Conversations: 80, LegalHoldShare: 0.2, OtherMediaShare: 0.2})
}

// checkGroundTruth asserts that the diff found exactly the damage the
// export did: no finding missed, none invented.
func checkGroundTruth(t *testing.T, m recexport.Manifest, got []Finding, s Summary, kinds []finding.Kind) {
	t.Helper()
	var want []key
	for _, d := range m.Damages {
		want = append(want, key{d.Kind, d.ConversationID, d.MessageID, d.Field})
	}
	if d := diffKeys(want, keysOf(got)); d != "" {
		t.Errorf("findings differ from the ground truth:\n%s", d)
	}
	// Each gap's cause is the manifest's: the same (kind, conversation,
	// message) keys, with the cause in the field's place.
	want, have := []key{}, []key{}
	for _, d := range m.Damages {
		if d.Cause != "" {
			want = append(want, key{d.Kind, d.ConversationID, d.MessageID, string(d.Cause)})
		}
	}
	for _, f := range got {
		if f.Cause != "" {
			have = append(have, key{f.Kind, f.ConversationID, f.MessageID, string(f.Cause)})
		}
	}
	if d := diffKeys(want, have); d != "" {
		t.Errorf("causes differ from the ground truth:\n%s", d)
	}
	// A field the format cannot hold is one finding for the export,
	// standing for as many messages as the export says.
	for _, d := range m.Damages {
		if d.Kind != finding.FormatLacks {
			continue
		}
		for _, f := range got {
			if f.Kind == finding.FormatLacks && f.Field == d.Field && f.Count != d.Count {
				t.Errorf("format_lacks %s stands for %d messages, the manifest says %d", d.Field, f.Count, d.Count)
			}
		}
	}
	for _, k := range kinds {
		if m.Counts[k] == 0 {
			t.Errorf("the export did no %s damage: the test would prove nothing about it (counts %v)", k, m.Counts)
		}
	}
	if s.ConversationsAbsent != m.Counts[finding.ConversationAbsent] {
		t.Errorf("conversations absent = %d, manifest says %d", s.ConversationsAbsent, m.Counts[finding.ConversationAbsent])
	}
	if s.Messages != m.MessagesReadable {
		t.Errorf("messages read = %d, manifest says %d readable", s.Messages, m.MessagesReadable)
	}
	if s.FilesUnreadable != m.Counts[finding.FileUnreadable] {
		t.Errorf("files unreadable = %d, manifest says %d", s.FilesUnreadable, m.Counts[finding.FileUnreadable])
	}
	if t.Failed() {
		t.Logf("manifest counts %v; diff counts %v", m.Counts, s.Counts)
	}
}

// shapeKinds are the kinds a default damage profile must produce in
// shape: every finding kind of the table (so a kind added there without
// damage that produces it fails here); the reshape keeps no sender or
// media to alter.
func shapeKinds(shape string) []finding.Kind {
	var out []finding.Kind
	for _, in := range finding.Kinds() {
		// The reshape alters no sender (it has none) nor template header
		// media or attachments (it keeps no media: its format_lacks); the
		// Recording format's field_stripped are the template header media
		// and attachments a pipeline left out.
		if shape == recexport.ShapeReshape && in.Kind == finding.ValueAltered {
			continue
		}
		out = append(out, in.Kind)
	}
	return out
}

// runAt is an export time that leaves the org's last conversations in
// Genesys's data lake lag: a day after the last start.
func runAt(org *sim.Org) time.Time {
	_, end := org.Span(org.Len() - 1)
	return end.Add(24 * time.Hour)
}

// TestGroundTruthFolder: the findings, and the cause of each gap, are the
// manifest's: conversations not yet in the data lake, with sensitive data
// (not asked for), or with no recording; invented messages not captured.
func TestGroundTruthFolder(t *testing.T) {
	org := testOrg()
	idx := orgIndex(t, org)
	at := runAt(org)
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		for _, seed := range []uint64{1, 2} {
			t.Run(fmt.Sprintf("%s/seed%d", shape, seed), func(t *testing.T) {
				dir := t.TempDir()
				p := recexport.DefaultProfile(shape, seed)
				p.RunAt = at
				m, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, p)
				if err != nil {
					t.Fatal(err)
				}
				got, s := runDir(t, dir, idx, Options{ExportTime: at})
				checkGroundTruth(t, m, got, s, shapeKinds(shape))
				// WhatsApp templates' header media and messages'
				// attachments: the genesys export leaves out or replaces
				// some (field_stripped, value_altered), the reshape keeps
				// none (one format_lacks each for the export).
				for _, field := range []string{finding.FieldTemplateHeaderMedia, finding.FieldAttachments} {
					media := map[finding.Kind]int{}
					for _, d := range m.Damages {
						if d.Field == field {
							media[d.Kind]++
						}
					}
					if shape == recexport.ShapeGenesys && (media[finding.FieldStripped] == 0 || media[finding.ValueAltered] == 0) ||
						shape == recexport.ShapeReshape && media[finding.FormatLacks] != 1 {
						t.Errorf("%s damage %v: the test would prove nothing about it", field, media)
					}
				}
				causes := map[finding.Cause]int{}
				for _, d := range m.Damages {
					causes[d.Cause]++
				}
				for _, c := range []finding.Cause{finding.CausePendingDataLake, finding.CauseSensitiveDataExcluded, finding.CauseNoRecording, finding.CauseNotCaptured} {
					if causes[c] == 0 {
						t.Errorf("the export has no gap caused by %s: the test would prove nothing about it (%v)", c, causes)
					}
				}
			})
		}
	}
}

// TestGroundTruthSensitiveIncluded: a job that asks for recordings with
// sensitive data exports those conversations; the diff then finds no
// sensitive_data_excluded gap.
func TestGroundTruthSensitiveIncluded(t *testing.T) {
	org := testOrg()
	idx := orgIndex(t, org)
	dir := t.TempDir()
	p := recexport.DefaultProfile(recexport.ShapeGenesys, 1)
	p.IncludeSensitiveData = true
	m, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, p)
	if err != nil {
		t.Fatal(err)
	}
	got, s := runDir(t, dir, idx, Options{})
	checkGroundTruth(t, m, got, s, nil)
	for _, f := range got {
		if f.Cause == finding.CauseSensitiveDataExcluded {
			t.Fatalf("sensitive data asked for, yet %+v", f)
		}
	}
}

func TestGroundTruthCleanExport(t *testing.T) {
	org := testOrg()
	idx := orgIndex(t, org)
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		t.Run(shape, func(t *testing.T) {
			dir := t.TempDir()
			m, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, recexport.CleanProfile(shape, 3))
			if err != nil {
				t.Fatal(err)
			}
			got, s := runDir(t, dir, idx, Options{})
			checkGroundTruth(t, m, got, s, nil)
			// With a policy that requires nothing the format cannot carry,
			// a clean genesys export has no findings at all.
			if shape == recexport.ShapeGenesys {
				pol := DefaultPolicy()
				pol.Required = []string{finding.FieldTimestamp, finding.FieldContent, finding.FieldSender}
				got, _ := runDir(t, dir, idx, Options{Policy: pol})
				if len(got) != 0 {
					t.Errorf("clean export, lenient policy: %d findings, first %+v", len(got), got[0])
				}
			}
		})
	}
}

func TestGroundTruthS3(t *testing.T) {
	srv := s3test.Start(t)
	client := srv.Client(t)
	org := testOrg()
	idx := orgIndex(t, org)
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		t.Run(shape, func(t *testing.T) {
			bucket := srv.Bucket(t, false)
			prefix := "exports/2024-q1"
			m, err := recexport.Export(context.Background(), org, nil,
				recexport.Target{S3: client, Bucket: bucket, Prefix: prefix}, recexport.DefaultProfile(shape, 5))
			if err != nil {
				t.Fatal(err)
			}
			// A neighbour prefix that shares the name's start must not be read.
			if err := (recexport.Target{S3: client, Bucket: bucket, Prefix: prefix + "-old"}).Put(context.Background(), "x.json", []byte("junk")); err != nil {
				t.Fatal(err)
			}
			src, err := exportfile.NewSource(context.Background(), "s3://"+bucket+"/"+prefix, exportfile.SourceConfig{S3: srv.Config()})
			if err != nil {
				t.Fatal(err)
			}
			got, s := runSource(t, src, idx, Options{Concurrency: 8})
			checkGroundTruth(t, m, got, s, shapeKinds(shape))
			if s.Files != m.Files {
				t.Errorf("files = %d, want %d", s.Files, m.Files)
			}
		})
	}
}

// The same export read from a folder and from S3 gives the same findings,
// in the same order.
func TestFolderAndS3Agree(t *testing.T) {
	srv := s3test.Start(t)
	client := srv.Client(t)
	org := sim.NewOrg(sim.OrgConfig{Seed: 3, Conversations: 25})
	idx := orgIndex(t, org)
	p := recexport.DefaultProfile(recexport.ShapeGenesys, 9)
	p.TruncateFiles = 0.3
	dir := t.TempDir()
	if _, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, p); err != nil {
		t.Fatal(err)
	}
	bucket := srv.Bucket(t, false)
	if _, err := recexport.Export(context.Background(), org, nil, recexport.Target{S3: client, Bucket: bucket}, p); err != nil {
		t.Fatal(err)
	}
	fromDir, sd := runDir(t, dir, idx, Options{})
	fromS3, ss := runSource(t, exportfile.NewS3Source(client, bucket, ""), idx, Options{})
	if !slices.Equal(fromDir, fromS3) {
		t.Errorf("folder and S3 findings differ:\n%s", diffKeys(keysOf(fromDir), keysOf(fromS3)))
	}
	if !maps.Equal(sd.Counts, ss.Counts) {
		t.Errorf("counts differ: %v vs %v", sd.Counts, ss.Counts)
	}
}

// Every conversation the simulator left out is one conversation_absent
// finding in every output format — JSON, CSV, JSON Lines — and counted in
// the text summary, equal to the manifest.
func TestGroundTruthAbsentInEveryFormat(t *testing.T) {
	org := testOrg()
	idx := orgIndex(t, org)
	dir := t.TempDir()
	m, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, recexport.DefaultProfile(recexport.ShapeGenesys, 1))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range m.Damages {
		if d.Kind == finding.ConversationAbsent {
			want = append(want, d.ConversationID)
		}
	}
	slices.Sort(want)
	if len(want) < 2 {
		t.Fatalf("the export left out %d conversations: the test would prove little", len(want))
	}
	got, s := runDir(t, dir, idx, Options{})
	for _, format := range []string{OutputJSON, OutputCSV, OutputJSONL} {
		var buf bytes.Buffer
		w, err := NewWriter(format, &buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			if err := w.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(s); err != nil {
			t.Fatal(err)
		}
		var absent []string
		switch format {
		case OutputJSON:
			var doc struct{ Findings []Finding }
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			for _, f := range doc.Findings {
				if f.Kind == finding.ConversationAbsent {
					absent = append(absent, f.ConversationID)
				}
			}
		case OutputCSV:
			rows, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows[1:] {
				if r[0] == string(finding.ConversationAbsent) {
					absent = append(absent, r[1])
				}
			}
		case OutputJSONL:
			for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
				var f Finding
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatal(err)
				}
				if f.Kind == finding.ConversationAbsent {
					absent = append(absent, f.ConversationID)
				}
			}
		}
		slices.Sort(absent)
		if !slices.Equal(absent, want) {
			t.Errorf("%s: conversation_absent for %v, manifest %v", format, absent, want)
		}
	}
	var text bytes.Buffer
	if err := WriteSummary(&text, s); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^conversation_absent +%d$`, len(want))).Match(text.Bytes()) {
		t.Errorf("text summary does not count %d conversation_absent:\n%s", len(want), text.String())
	}
}

// The same export read from a local folder and from a network share (the
// slowfs model, 2 ms a request) gives the same findings in the same
// order, and the share's files are opened many at once rather than one
// round trip at a time by the walk.
func TestFolderAndShareAgree(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 4, Conversations: 40})
	idx := orgIndex(t, org)
	p := recexport.DefaultProfile(recexport.ShapeGenesys, 11)
	p.TruncateFiles = 0.2
	dir := t.TempDir()
	if _, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, p); err != nil {
		t.Fatal(err)
	}
	fromDir, sd := runDir(t, dir, idx, Options{})
	share := slowfs.Mount(t, dir, 2*time.Millisecond)
	src, err := exportfile.NewSource(context.Background(), share.Dir, exportfile.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.(io.Closer).Close()
	share.ResetPeak()
	fromShare, ss := runSource(t, src, idx, Options{})
	if !slices.Equal(fromDir, fromShare) {
		t.Errorf("folder and share findings differ:\n%s", diffKeys(keysOf(fromDir), keysOf(fromShare)))
	}
	if !maps.Equal(sd.Counts, ss.Counts) {
		t.Errorf("counts differ: %v vs %v", sd.Counts, ss.Counts)
	}
	if p := share.Peak(); p < 8 {
		t.Errorf("the share held at most %d requests at once: its files were not opened many at once", p)
	}
}

// TestGroundTruthNeverCapturedTruncated: a conversation whose only message
// file the export cut short before its first message, and which custody
// never captured, is one file_unreadable and one conversation-level
// not_captured gap (the damage the manifest records as its messages
// missing_from_export cannot be seen: custody holds none of them); once
// refetch has captured it, the diff is the manifest's again, the
// messages the cut lost each missing_from_export.
func TestGroundTruthNeverCapturedTruncated(t *testing.T) {
	org := testOrg()
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		t.Run(shape, func(t *testing.T) {
			dir := t.TempDir()
			p := recexport.DefaultProfile(shape, 1)
			p.TruncateFiles = 0.5
			m, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, p)
			if err != nil {
				t.Fatal(err)
			}
			// The conversations cut short before any message: every damage
			// of them the truncation's, every message of them lost.
			byConv := map[string][]recexport.Damage{}
			for _, d := range m.Damages {
				byConv[d.ConversationID] = append(byConv[d.ConversationID], d)
			}
			never := map[string]bool{}
			for i := range org.Len() {
				c := org.ConversationAt(i)
				ds, lost, cut := byConv[c.ID], 0, false
				for _, d := range ds {
					switch {
					case d.Kind == finding.FileUnreadable:
						cut = true
					case d.Kind == finding.MissingFromExport:
						lost++
					}
				}
				if cut && lost == len(ds)-1 && lost == len(c.Messages) {
					never[c.ID] = true
				}
			}
			if len(never) == 0 {
				t.Fatal("no conversation cut short before its first message: the test would prove nothing")
			}
			// custody never captured them.
			idx := &MemIndex{}
			full := orgIndex(t, org)
			if err := full.Each(context.Background(), func(c Captured) error {
				if !never[c.ConversationID] {
					idx.Add(c)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			want := m
			want.Damages = nil
			for _, d := range m.Damages {
				switch {
				case !never[d.ConversationID]:
					want.Damages = append(want.Damages, d)
				case d.Kind == finding.FileUnreadable:
					want.Damages = append(want.Damages, d,
						recexport.Damage{Kind: finding.NotCaptured, ConversationID: d.ConversationID, Cause: finding.CauseNotCaptured})
				}
			}
			got, s := runDir(t, dir, idx, Options{})
			checkGroundTruth(t, want, got, s, nil)
			// Refetched: captured now, the diff is the manifest's.
			got, s = runDir(t, dir, full, Options{})
			checkGroundTruth(t, m, got, s, nil)
			t.Logf("%d conversations cut short before any message, never captured", len(never))
		})
	}
}
