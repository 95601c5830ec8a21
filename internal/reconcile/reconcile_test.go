package reconcile_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// captureAll exports every WhatsApp conversation of a simulated org into a
// fresh ledger and returns the pieces.
func captureAll(t *testing.T, conversations int) (*sim.Server, *ledger.Ledger, evidence.Store, string) {
	t.Helper()
	start := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 5, Conversations: conversations, Start: start, End: start.AddDate(0, 0, 5), LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	dir := t.TempDir()
	ctx := context.Background()
	l, key, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	st, err := evidence.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, Rate: 1e9,
		PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(ctx, export.Deps{Client: c, Ledger: l, Evidence: st}, export.Options{
		Scope: export.Scope{Matter: "m", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp"}, SignerKey: key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	return srv, l, st, dir
}

// memIndex is what the simulator says custody should have captured.
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
			idx.Add(diff.CaptureOf(&c.Messages[j], c.ID, &hold, audits, 0))
		}
	}
	return idx
}

func runDiff(t *testing.T, src diff.Source, idx diff.Index) []string {
	t.Helper()
	var out []string
	_, err := diff.Run(context.Background(), src, idx, diff.Options{}, func(f diff.Finding) error {
		if f.Kind == diff.MissingFromExport {
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
// ground-truth manifests; this carries that proof to the ledger.)
func TestLedgerIndexAgreesWithSimulator(t *testing.T) {
	srv, l, _, dir := captureAll(t, 40)
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
			src, err := diff.NewDirSource(filepath.Join(dir, shape))
			if err != nil {
				t.Fatal(err)
			}
			got := runDiff(t, src, &reconcile.LedgerIndex{L: l})
			want := runDiff(t, src, memIndex(srv.Org))
			if len(m.Damages) == 0 || len(want) == 0 {
				t.Fatalf("no damage to find (%d damages, %d findings)", len(m.Damages), len(want))
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

// TestDiffIsRecorded checks what a recorded diff leaves in the chain of
// custody: a diff entry, findings that load back byte for byte, and the
// hash of every export file read.
func TestDiffIsRecorded(t *testing.T) {
	srv, l, st, dir := captureAll(t, 20)
	ctx := context.Background()
	target, err := recexport.OpenTarget(ctx, filepath.Join(dir, "x"), s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(ctx, srv.Org, nil, target, recexport.DefaultProfile(recexport.ShapeGenesys, 1)); err != nil {
		t.Fatal(err)
	}
	src, err := diff.NewDirSource(filepath.Join(dir, "x"))
	if err != nil {
		t.Fatal(err)
	}
	var emitted []diff.Finding
	res, err := reconcile.Diff(ctx, l, st, src, reconcile.DiffOptions{TempDir: dir, Emit: func(f diff.Finding) error {
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
	if err != nil || e.Kind != ledger.KindDiff || !strings.Contains(string(e.Detail), res.FindingsSHA256) || !strings.Contains(string(e.Detail), res.FilesSHA256) {
		t.Fatalf("diff entry %d: %v %s", res.Seq, err, e.Detail)
	}
	runID, loaded, err := reconcile.LoadDiff(ctx, l, st, "latest")
	if err != nil || runID != res.RunID {
		t.Fatalf("LoadDiff: %v (%s, want %s)", err, runID, res.RunID)
	}
	if len(loaded) != len(emitted) || (len(loaded) > 0 && loaded[0] != emitted[0]) {
		t.Errorf("loaded %d findings, emitted %d", len(loaded), len(emitted))
	}
}

// countUnopened counts files the diff refused to open (unsafe names and
// the like), which have no content hash.
func countUnopened(fs []diff.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Kind == diff.FileUnreadable && strings.Contains(f.Detail, "not opened") {
			n++
		}
	}
	return n
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
