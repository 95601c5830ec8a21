package reconcile_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/exporttest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// captureAll exports every WhatsApp conversation of a simulated org into a
// fresh ledger, its media downloaded (as custody export does by default),
// and returns the pieces.
func captureAll(t *testing.T, conversations int) (*sim.Server, *ledger.Ledger, evidence.Store, string) {
	return captureSim(t, conversations, true)
}

// captureSim is captureAll, with media downloaded or not.
func captureSim(t *testing.T, conversations int, withMedia bool) (*sim.Server, *ledger.Ledger, evidence.Store, string) {
	t.Helper()
	start := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 5, Conversations: conversations, Start: start, End: start.AddDate(0, 0, 5), LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	le := ledgertest.New(t, "m")
	l, st, key, dir := le.Ledger, le.Store, le.Key, le.Dir
	ctx := context.Background()
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: 1e9,
		PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(ctx, export.Deps{Client: c, Ledger: l, Evidence: st}, export.Options{
		Scope: export.Scope{Matter: "m", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp", WithMedia: withMedia}, SignerKey: key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	return srv, l, st, dir
}

// memIndex is what the simulator says custody should have captured, with
// media or without: the same, the media being named by the messages.
func memIndex(o *sim.Org) *diff.MemIndex {
	idx := &diff.MemIndex{}
	for i := range o.Len() {
		c, _ := o.Conversation(o.ConversationID(i))
		if c.MessageType != "whatsapp" {
			continue
		}
		audits := []string{}
		for _, a := range c.Audits {
			audits = append(audits, a.ID)
		}
		slices.Sort(audits)
		hold := c.LegalHold
		for j := range c.Messages {
			cp := diff.CaptureOf(&c.Messages[j], c.ID, &hold, audits, 0)
			idx.Add(cp)
		}
	}
	return idx
}

func runDiff(t *testing.T, src exportfile.Source, idx diff.Index) []string {
	t.Helper()
	var out []string
	_, err := diff.Run(context.Background(), src, idx, diff.Options{}, func(f diff.Finding) error {
		if f.Kind == finding.MissingFromExport {
			f.Detail = "" // names the capture's seq, which only the ledger has
		}
		b, _ := json.Marshal(f)
		out = append(out, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestLedgerIndexAgreesWithSimulator diffs damaged exports of both shapes
// against the ledger and against the simulator's own data: the findings
// must be identical. (internal/diff proves the latter equal the exports'
// ground-truth manifests; this carries that proof to the ledger.) The
// ledger knows every message's template header media and attachments,
// read from its evidence, whether custody downloaded them or not: the
// exports' header media and attachment findings are found either way.
func TestLedgerIndexAgreesWithSimulator(t *testing.T) {
	for _, withMedia := range []bool{true, false} {
		t.Run(fmt.Sprintf("media=%v", withMedia), func(t *testing.T) { ledgerIndexAgrees(t, withMedia) })
	}
}

func ledgerIndexAgrees(t *testing.T, withMedia bool) {
	srv, l, st, dir := captureSim(t, 40, withMedia)
	// Message by message (Lookup: the entry's own evidence read), the
	// ledger knows every template's header media and every message's
	// attachments, as the simulator's data says.
	ctx := context.Background()
	x := &reconcile.LedgerIndex{L: l, Evidence: st}
	headers, attachments := 0, 0
	err := memIndex(srv.Org).Each(ctx, func(want diff.Captured) error {
		if want.HeaderMedia == "" && want.Attachments == "" {
			return nil
		}
		got, ok, err := x.Lookup(ctx, want.ConversationID, want.MessageID)
		if err != nil || !ok {
			return fmt.Errorf("lookup %s: %v %v", want.MessageID, ok, err)
		}
		if want.HeaderMedia != "" {
			headers++
			if got.HeaderMedia != want.HeaderMedia || !got.HeaderMediaKnown || !want.HeaderMediaKnown {
				t.Errorf("message %s: header media %q known %v, want %q %v", want.MessageID, got.HeaderMedia, got.HeaderMediaKnown, want.HeaderMedia, want.HeaderMediaKnown)
			}
		}
		if want.Attachments != "" {
			attachments++
			if got.Attachments != want.Attachments || !got.AttachmentsKnown || !want.AttachmentsKnown {
				t.Errorf("message %s: attachments %q known %v, want %q %v", want.MessageID, got.Attachments, got.AttachmentsKnown, want.Attachments, want.AttachmentsKnown)
			}
		}
		return nil
	})
	if err != nil || headers == 0 || attachments == 0 {
		t.Fatalf("%d template header media and %d messages' attachments looked up: %v", headers, attachments, err)
	}
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		t.Run(shape, func(t *testing.T) {
			target, err := recexport.OpenTarget(context.Background(), filepath.Join(dir, shape), s3util.Config{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := recexport.Export(context.Background(), srv.Org, nil, target, recexport.DefaultProfile(shape, 9))
			if err != nil {
				t.Fatal(err)
			}
			src, err := exportfile.NewDirSource(filepath.Join(dir, shape))
			if err != nil {
				t.Fatal(err)
			}
			got := runDiff(t, src, &reconcile.LedgerIndex{L: l, Evidence: st})
			want := runDiff(t, src, memIndex(srv.Org))
			if len(m.Damages) == 0 || len(want) == 0 {
				t.Fatalf("no damage to find (%d damages, %d findings)", len(m.Damages), len(want))
			}
			header, attached := 0, 0
			for _, f := range got {
				if strings.Contains(f, `"field":"template_header_media"`) {
					header++
				}
				if strings.Contains(f, `"field":"attachments"`) {
					attached++
				}
			}
			if header == 0 {
				t.Errorf("no finding on template header media in the %s export, captured with media %v", shape, withMedia)
			}
			if attached == 0 {
				t.Errorf("no finding on attachments in the %s export, captured with media %v", shape, withMedia)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ledger index: %d findings, simulator's data: %d", len(got), len(want))
				for _, f := range got {
					if !slices.Contains(want, f) {
						t.Errorf("invented: %s", f)
					}
				}
				for _, f := range want {
					if !slices.Contains(got, f) {
						t.Errorf("missed: %s", f)
					}
				}
			}
		})
	}
}

// recordingExport writes a Recording API export of srv's org, in the
// Genesys layout with its default damage, to the folder dir.
func recordingExport(t *testing.T, srv *sim.Server, dir string) {
	t.Helper()
	ctx := context.Background()
	target, err := recexport.OpenTarget(ctx, dir, s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(ctx, srv.Org, nil, target, recexport.DefaultProfile(recexport.ShapeGenesys, 1)); err != nil {
		t.Fatal(err)
	}
}

// TestDiffIsRecorded checks what a recorded diff leaves in the chain of
// custody: a diff entry, findings that load back byte for byte, and the
// hash of every export file read.
func TestDiffIsRecorded(t *testing.T) {
	defer reconcile.SetPartSize(4 << 10)()
	srv, l, st, dir := captureAll(t, 20)
	ctx := context.Background()
	recordingExport(t, srv, filepath.Join(dir, "x"))
	// A large file the parser gives up on early: hashed whole all the same.
	junk := append([]byte("not json at all "), bytes.Repeat([]byte("x"), 300<<10)...)
	if err := os.WriteFile(filepath.Join(dir, "x", "junk.json"), junk, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := exportfile.NewDirSource(filepath.Join(dir, "x"))
	if err != nil {
		t.Fatal(err)
	}
	var emitted []diff.Finding
	res, err := reconcile.Diff(ctx, l, st, src, reconcile.DiffOptions{Emit: func(f diff.Finding) error {
		emitted = append(emitted, f)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRead == 0 || res.FilesRead != res.Summary.Files-countUnopened(emitted) {
		t.Errorf("files read %d, summary files %d", res.FilesRead, res.Summary.Files)
	}
	e, err := l.Entry(ctx, res.Seq)
	if err != nil || e.Kind != leaf.KindDiff || !strings.Contains(string(e.Detail), res.FindingsSHA256) || !strings.Contains(string(e.Detail), res.FilesSHA256) {
		t.Fatalf("diff entry %d: %v %s", res.Seq, err, e.Detail)
	}
	// The stored parts, concatenated, are one gzip stream of exactly the
	// emitted findings as JSON Lines.
	if len(res.FindingsEvidence) < 3 || len(res.FilesEvidence) < 2 {
		t.Fatalf("findings in %d parts, manifest in %d; with 4 KiB parts want several of each", len(res.FindingsEvidence), len(res.FilesEvidence))
	}
	var want bytes.Buffer
	for _, f := range emitted {
		b, _ := json.Marshal(f)
		want.Write(append(b, '\n'))
	}
	if got := gunzipParts(t, st, res.FindingsEvidence); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("stored findings (%d bytes) differ from the emitted ones (%d bytes)", len(got), want.Len())
	}
	if h := sha256.Sum256(want.Bytes()); hex.EncodeToString(h[:]) != res.FindingsSHA256 {
		t.Errorf("findings_sha256 %s is not the hash of the findings", res.FindingsSHA256)
	}
	manifest := gunzipParts(t, st, res.FilesEvidence)
	if bytes.Count(manifest, []byte("\n")) != res.FilesRead {
		t.Errorf("manifest has %d lines, %d files read", bytes.Count(manifest, []byte("\n")), res.FilesRead)
	}
	// Every record names the bytes on disk, whether the parser read the
	// file to the end or stopped early.
	for _, line := range bytes.Split(bytes.TrimSpace(manifest), []byte("\n")) {
		var rec reconcile.FileRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "x", filepath.FromSlash(rec.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(data); rec.SHA256 != hex.EncodeToString(h[:]) || rec.Size != int64(len(data)) {
			t.Errorf("manifest: %s: %d bytes, sha256 %s; on disk %d bytes, %x", rec.Name, rec.Size, rec.SHA256, len(data), h)
		}
	}

	runID, gaps, err := reconcile.LoadGaps(ctx, l, st, "latest")
	if err != nil || runID != res.RunID {
		t.Fatalf("LoadGaps: %v (%s, want %s)", err, runID, res.RunID)
	}
	var wantGaps []diff.Finding
	for _, f := range emitted {
		if finding.IsGap(f.Kind) && f.ConversationID != "" {
			wantGaps = append(wantGaps, f)
		}
	}
	if len(wantGaps) == 0 || !slices.Equal(gaps, wantGaps) {
		t.Errorf("loaded %d gaps, emitted %d", len(gaps), len(wantGaps))
	}

	// An altered part is said to be altered (it was a gzip or JSON error
	// of whatever the bytes made, or no error at all until the whole
	// stream's hash was checked at the end).
	sum, _ := hashchain.ParseHash(res.FindingsEvidence[1])
	partFile := filepath.Join(dir, "evidence", evidence.Key(sum))
	orig, err := os.ReadFile(partFile)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(partFile, 0o644)
	if err := os.WriteFile(partFile, append(bytes.Clone(orig[:len(orig)-1]), orig[len(orig)-1]^1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reconcile.LoadGaps(ctx, l, st, "latest"); !errors.Is(err, evidence.ErrCorrupt) {
		t.Errorf("LoadGaps with a part altered in the store: %v, want evidence.ErrCorrupt", err)
	}

	// A lost part is an error, not fewer gaps.
	if err := os.Remove(filepath.Join(dir, "evidence", evidence.Key(sum))); err != nil {
		t.Fatal(err)
	}
	// It says how to get the findings back: an erasure deletes the parts
	// that name what it erased.
	if _, _, err := reconcile.LoadGaps(ctx, l, st, "latest"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "run custody diff again") {
		t.Errorf("LoadGaps with a part missing from the store: %v, want it missing and how to record the findings anew", err)
	}
}

// gunzipParts reads evidence objects as one gzip stream.
func gunzipParts(t *testing.T, st evidence.Store, parts []string) []byte {
	t.Helper()
	var all bytes.Buffer
	for _, p := range parts {
		sum, err := hashchain.ParseHash(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.Get(context.Background(), sum)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	zr, err := gzip.NewReader(&all)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// countUnopened counts files the diff refused to open (unsafe names and
// the like), which have no content hash.
func countUnopened(fs []diff.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Kind == finding.FileUnreadable && strings.Contains(f.Detail, "not opened") {
			n++
		}
	}
	return n
}

// TestReadFindings reads both forms custody diff writes, after any JSON
// white space (more than a read buffer of it too).
func TestReadFindings(t *testing.T) {
	one := `{"kind":"not_captured","conversation_id":"c1","message_id":"m1"}`
	two := `{"kind":"field_stripped","field":"legal_hold"}`
	want := []diff.Finding{
		{Kind: finding.NotCaptured, ConversationID: "c1", MessageID: "m1"},
		{Kind: finding.FieldStripped, Field: "legal_hold"},
	}
	long := strings.Repeat(" \t\r\n", 3000)
	for name, tc := range map[string]struct {
		in   string
		want []diff.Finding
	}{
		"lines":             {one + "\n" + two + "\n", want},
		"array":             {"[" + one + ",\n" + two + "]", want},
		"spaced array":      {"\n\t [" + one + "," + two + "]\n", want},
		"long space, array": {long + "[" + one + "," + two + "]", want},
		"long space, lines": {long + one + "\n" + two, want},
		"empty":             {"", nil},
		"only space":        {long, nil},
		"empty array":       {" []", []diff.Finding{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := reconcile.ReadFindings(strings.NewReader(tc.in))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, in := range []string{"\v[]", "\u00a0[]", "x", "[" + one, "[" + one + "] x", "[" + one + "][]"} {
		if got, err := reconcile.ReadFindings(strings.NewReader(in)); err == nil {
			t.Errorf("%q: read as %+v, want an error", in, got)
		}
	}
}

func FuzzReadFindings(f *testing.F) {
	f.Add([]byte(`{"kind":"not_captured","conversation_id":"c1","message_id":"m1"}` + "\n"))
	f.Add([]byte(`[{"kind":"field_stripped","field":"legal_hold"}]`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"kind":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = reconcile.ReadFindings(strings.NewReader(string(b)))
	})
}

// TestEvidenceListReadsOldDiffs: diffs recorded before findings were
// stored in parts named one object as a string; they still load.
func TestEvidenceListReadsOldDiffs(t *testing.T) {
	for in, want := range map[string]leaf.EvidenceList{
		`{"findings_evidence_sha256":"ab"}`:        {"ab"},
		`{"findings_evidence_sha256":["ab","cd"]}`: {"ab", "cd"},
		`{"findings_evidence_sha256":null}`:        nil,
		`{}`:                                       nil,
	} {
		var res reconcile.DiffResult
		if err := json.Unmarshal([]byte(in), &res); err != nil || !slices.Equal(res.FindingsEvidence, want) {
			t.Errorf("%s: %q, %v; want %q", in, res.FindingsEvidence, err, want)
		}
	}
	var res reconcile.DiffResult
	if err := json.Unmarshal([]byte(`{"findings_evidence_sha256":7}`), &res); err == nil {
		t.Error("a number for findings_evidence_sha256: no error")
	}
}

// TestRecordedDiffReadsRemoteExportInParallel: a recorded diff (what
// custody diff runs) reads an export that asks for reads in flight (S3)
// that many files at a time, as diff.Run does, not 4: the wrapper that
// hashes the files read passes the figure on.
func TestRecordedDiffReadsRemoteExportInParallel(t *testing.T) {
	srv, l, st, dir := captureAll(t, 20)
	ctx := context.Background()
	recordingExport(t, srv, filepath.Join(dir, "x"))
	ds, err := exportfile.NewDirSource(filepath.Join(dir, "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	src := &exporttest.RemoteSource{DirSource: ds}
	res, err := reconcile.Diff(ctx, l, st, src, reconcile.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRead < 20 {
		t.Fatalf("%d files read: too few to see them overlap", res.FilesRead)
	}
	if most := src.Opening.Most(); most <= diff.DefaultConcurrency || most > 12 {
		t.Errorf("at most %d files opening at once, want more than %d and at most 12", most, diff.DefaultConcurrency)
	}
}

// TestRefetchNotRefetchable: a gap whose conversation id is not a Genesys
// id (export content) cannot be asked for; refetch lists it as
// not_refetchable and counts it among the gaps, never drops it silently.
func TestRefetchNotRefetchable(t *testing.T) {
	findings := []diff.Finding{
		{Kind: finding.NotCaptured, ConversationID: "x\x1b[2Jy", MessageID: "m1"},
		{Kind: finding.MissingFromExport, ConversationID: "../etc", MessageID: "m2"},
		{Kind: finding.NotCaptured, MessageID: "m3"},
		{Kind: finding.ContentDiffers, ConversationID: "not an id", MessageID: "m4"}, // not a gap
	}
	res, err := reconcile.Refetch(context.Background(), export.Deps{}, findings, "", export.Options{}, reconcile.RefetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Gaps != 3 || res.Counts[reconcile.NotRefetchable] != 3 || len(res.Outcomes) != 3 || res.Export != nil {
		t.Fatalf("gaps %d, counts %v, outcomes %+v; want 3 not_refetchable, nothing run", res.Gaps, res.Counts, res.Outcomes)
	}
	for i, oc := range res.Outcomes {
		if oc.Outcome != reconcile.NotRefetchable || oc.ConversationID != findings[i].ConversationID || oc.MessageID != findings[i].MessageID ||
			!strings.Contains(oc.Detail, "not a Genesys id") {
			t.Errorf("outcome %d: %+v", i, oc)
		}
	}
	if res.Retryable() != 0 {
		t.Errorf("retryable %d: no rerun can fill them", res.Retryable())
	}
}
