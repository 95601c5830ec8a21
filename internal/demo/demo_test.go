package demo_test

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/demo"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestDemo runs the whole flow and checks the story's claims: everything
// listed was exported despite faults, every gap the refetch could fill was
// filled, what remains is exactly what the source no longer has, and the
// ledger and evidence verify.
// It runs a small org, and the demo as custody demo runs it by default
// (seed 1, 400 conversations: there the export cut short the only file
// of conversations custody never captured before any message, whose lost
// messages the story once counted as findings they were not).
func TestDemo(t *testing.T) {
	for name, cfg := range map[string]demo.Config{
		"seed3":   {Conversations: 160, Seed: 3},
		"default": {},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg.Dir = filepath.Join(t.TempDir(), "d")
			checkDemo(t, cfg)
		})
	}
}

// equation is the story's accounting of the second diff.
var equation = regexp.MustCompile(`Every other damage is one finding \((\d+)\):\n +(\d+) \+ (\d+) \+ (\d+) = (\d+) damages, (\d+) \+ (\d+) = (\d+) findings\.`)

func checkDemo(t *testing.T, cfg demo.Config) {
	var story strings.Builder
	res, err := demo.Run(context.Background(), cfg, io.MultiWriter(&story))
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, story.String())
	}
	t.Log(story.String())
	if c := res.Capture; !c.Complete() || c.Invocation.Retries == 0 {
		t.Errorf("capture %+v: want complete, with retries after the injected faults", c)
	}
	// Attachments are downloaded, by the export and by the refetch alike
	// (the simulator's urls do not expire): none is left undownloaded.
	if c := res.Capture; c.MediaDownloaded == 0 || c.MediaExpired+c.MediaRefused+c.MediaMismatch != 0 {
		t.Errorf("capture: %d attachments downloaded, %d expired, %d refused, %d sha256 mismatches; want all downloaded",
			c.MediaDownloaded, c.MediaExpired, c.MediaRefused, c.MediaMismatch)
	}
	if e := res.Refetch.Export; e == nil || e.MediaDownloaded == 0 || e.MediaExpired+e.MediaRefused+e.MediaMismatch != 0 {
		t.Errorf("refetch: accounting %+v; want its attachments all downloaded", e)
	}
	for _, want := range []string{"attachments downloaded and checked against the API's sha256", "came with their attachments"} {
		if !strings.Contains(story.String(), want) {
			t.Errorf("the story does not say %q", want)
		}
	}
	first, second, rf := res.FirstDiff.Summary.Counts, res.SecondDiff.Summary.Counts, res.Refetch
	if first[finding.NotCaptured] == 0 {
		t.Fatal("the first diff found no gaps: the demo's export and old export cover the same days")
	}
	if rf.Counts[reconcile.StillMissing] != 0 {
		t.Errorf("refetch left %d gaps still missing", rf.Counts[reconcile.StillMissing])
	}
	if rf.Counts[reconcile.GoneAtSource] == 0 || res.GoneUpstream == "" {
		t.Errorf("no gap reported gone at the source (deleted upstream: %q)", res.GoneUpstream)
	}
	for _, o := range rf.Outcomes {
		if o.Outcome == reconcile.GoneAtSource && o.ConversationID != res.GoneUpstream {
			t.Errorf("gap %+v reported gone, but only %s was deleted upstream", o, res.GoneUpstream)
		}
	}
	if got, want := second[finding.NotCaptured], rf.Counts[reconcile.GoneAtSource]+rf.Counts[reconcile.NotAtSource]; got != want {
		t.Errorf("second diff: %d not_captured, want exactly the %d gaps gone or not at the source", got, want)
	}
	// The story's arithmetic: every damage the ground truth records is
	// one finding, except those in the conversation deleted upstream,
	// whose messages are each one not_captured finding instead, and the
	// conversations dropped by the export that were never captured; and
	// the equation it prints holds.
	if !res.Accounts() || res.GoneDamages == 0 {
		t.Errorf("second diff: damages without a finding %v, findings without a damage %v; %d damages in the gone conversation",
			res.Unaccounted, res.Unexplained, res.GoneDamages)
	}
	if got, want := res.Accounted+res.GoneDamages+res.AbsentUnseen, res.Damages; got != want {
		t.Errorf("%d accounted + %d gone + %d absent unseen = %d damages, want %d", res.Accounted, res.GoneDamages, res.AbsentUnseen, got, want)
	}
	if got, want := res.Accounted+res.GoneGaps, second.Total(); got != want {
		t.Errorf("%d accounted + %d gone gaps = %d findings, want %d", res.Accounted, res.GoneGaps, got, want)
	}
	if eq := equation.FindStringSubmatch(story.String()); eq == nil {
		t.Errorf("the story states no equation (%q)", equation)
	} else {
		n := make([]int, len(eq))
		for i := 1; i < len(eq); i++ {
			n[i], _ = strconv.Atoi(eq[i])
		}
		if n[1] != n[2] || n[2]+n[3]+n[4] != n[5] || n[5] != res.Damages || n[6]+n[7] != n[8] || n[8] != second.Total() || n[6] != n[2] {
			t.Errorf("the story's equation does not hold: %q (%d damages, %d findings)", eq[0], res.Damages, second.Total())
		}
	}
	if gone := res.SecondDiff.Summary.PerConversation[res.GoneUpstream]; gone.Get(finding.NotCaptured) != res.GoneGaps {
		t.Errorf("gone conversation: findings %v, %d gaps counted", gone.Map(), res.GoneGaps)
	}
	lacksBefore, lacksAfter := res.FirstDiff.Summary.FormatLacks[finding.FieldLegalHold], res.SecondDiff.Summary.FormatLacks[finding.FieldLegalHold]
	if first.Total() == res.Damages || lacksAfter <= lacksBefore || first[finding.FormatLacks] != 2 || second[finding.FormatLacks] != 2 {
		t.Errorf("the story says the first diff's findings are not the damages (%d, %d) and the two format_lacks (%d, %d) stand for more messages after the refetch (%d → %d)",
			first.Total(), res.Damages, first[finding.FormatLacks], second[finding.FormatLacks], lacksBefore, lacksAfter)
	}
	for _, want := range []string{"counted as if every day had been captured", "one not_captured finding and nothing more", "The other counts grew", "docs/findings.md"} {
		if !strings.Contains(story.String(), want) {
			t.Errorf("the story does not say %q", want)
		}
	}
	if !res.Verify.OK || res.Verify.Evidence == nil || res.Verify.Evidence.Referenced == 0 || res.Verify.Evidence.Missing+res.Verify.Evidence.Altered != 0 {
		t.Errorf("verify: %+v evidence %+v", res.Verify.Findings, res.Verify.Evidence)
	}
	if res.Verify.ExternalCheckpoints != 1 || res.Verify.CoveredEntries != res.Verify.Entries {
		t.Errorf("verify: %d external checkpoints, %d of %d entries covered", res.Verify.ExternalCheckpoints, res.Verify.CoveredEntries, res.Verify.Entries)
	}
}

// TestDemoRemovesItsAuthority: the demo takes its test authority off the
// matter as checkpoint --remove-tsa does — a settings entry, covered by a
// checkpoint the witness cosigned — not by editing the settings alone.
func TestDemoRemovesItsAuthority(t *testing.T) {
	ctx := context.Background()
	res, err := demo.Run(ctx, demo.Config{Conversations: 20, Seed: 5, Dir: filepath.Join(t.TempDir(), "d")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ctx, res.Ledger, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []leaf.SettingsDetail
	var seq uint64
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindSettings}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
		got, seq = append(got, *d.(*leaf.SettingsDetail)), e.Seq
	}
	if len(got) != 1 || got[0].Setting != leaf.SettingTSA || got[0].Action != leaf.SettingsRemove || len(got[0].URLs) != 1 || len(got[0].Now) != 0 {
		t.Fatalf("settings entries %+v: want the test authority's removal", got)
	}
	if v, _, _ := l.State(ctx, "tsa_urls"); v != "" {
		t.Errorf("tsa_urls = %q after the demo", v)
	}
	last, ok, err := l.LatestCheckpoint(ctx)
	if err != nil || !ok || last.Size <= seq {
		t.Fatalf("latest checkpoint %+v, %v: want one covering the settings entry at seq %d", last, err, seq)
	}
	cos, err := l.Cosignatures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cos); n == 0 || cos[n-1].CheckpointID != last.ID {
		t.Errorf("the checkpoint covering the removal (#%d) is not cosigned: %+v", last.ID, cos)
	}
}

// TestDemoDiffsSayWhoRanThem: the demo's diff entries record who ran the
// demo, on which host, with which custody, as its export's run entries
// and as custody diff's entries do.
func TestDemoDiffsSayWhoRanThem(t *testing.T) {
	ctx := context.Background()
	res, err := demo.Run(ctx, demo.Config{Conversations: 20, Seed: 5, Dir: filepath.Join(t.TempDir(), "d"), Operator: "dpo", ToolVersion: "v9.9.9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ctx, res.Ledger, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	diffs := 0
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindDiff}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
		diffs++
		if dd := d.(*leaf.DiffDetail); dd.Operator != "dpo" || dd.ToolVersion != "v9.9.9" || dd.Host == "" {
			t.Errorf("diff entry %d: operator %q, host %q, tool_version %q; want dpo, the host, v9.9.9", e.Seq, dd.Operator, dd.Host, dd.ToolVersion)
		}
	}
	if diffs != 2 {
		t.Errorf("%d diff entries; the demo records two", diffs)
	}
}
