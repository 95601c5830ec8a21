package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/verify"
	"github.com/custodyhq/custody/internal/witness"
)

// Config of a demo run. The zero value of each field takes its default.
type Config struct {
	Dir           string // where everything is written; must not exist or be empty
	Conversations int    // in the simulated org (default 400)
	Seed          int64  // org seed (default 1)
	RateLimit     int    // the simulator's limit, requests/min (default 6000, so the demo takes seconds)
	Faults        string // simulator fault spec (default: 5xx, resets, truncated bodies, a token revocation, 429s)
	ToolVersion   string
	Command       string // how the closing "Try:" lines call custody (default "custody"), e.g. the running binary's path
	Log           *slog.Logger
	Tool          report.Tool // the binary, as the report names it (default: custody ToolVersion)
	Operator      string      // who the report names (default "custody demo")
}

// Result is what the demo produced, for tests and --output json.
type Result struct {
	Dir          string                `json:"dir"`
	Ledger       string                `json:"ledger"`
	Evidence     string                `json:"evidence"`
	Export       string                `json:"old_export"`
	Manifest     string                `json:"ground_truth_manifest"`
	Checkpoint   string                `json:"checkpoint_file"`
	TSARoot      string                `json:"tsa_root"`    // the test TSA's root certificate
	WitnessKey   string                `json:"witness_key"` // the test witness's verifier key file
	ReportDir    string                `json:"report_dir"`
	Capture      *export.Accounting    `json:"capture"`
	FirstDiff    *reconcile.DiffResult `json:"first_diff"`
	Refetch      *reconcile.Result     `json:"refetch"`
	SecondDiff   *reconcile.DiffResult `json:"second_diff"`
	Verify       verify.Report         `json:"verify"` // with the evidence summary
	Report       *report.Result        `json:"report"`
	GoneUpstream string                `json:"gone_upstream_conversation"`
	// Damages is what the old export did, by the simulator's ground
	// truth, counted as if custody had captured every day it covers.
	// The second diff's findings are matched to them one to one (kind,
	// conversation, message, field), and every damage and finding is
	// counted once below: Damages = Accounted + GoneDamages +
	// AbsentUnseen + the sum of Unaccounted, and the second diff's
	// findings = Accounted + GoneGaps + the sum of Unexplained.
	Damages int `json:"recorded_damages"`
	// Accounted: damages that are one finding of the second diff each.
	Accounted int `json:"damages_accounted"`
	// GoneDamages: the damages in the conversation deleted upstream that
	// no diff can see; GoneGaps its not_captured findings that stand in
	// for them (its messages can only be not_captured).
	GoneDamages int `json:"damages_in_gone_conversation"`
	GoneGaps    int `json:"gone_conversation_gaps"`
	// AbsentUnseen: conversations the export left out that custody never
	// captured either, so no diff can report them absent.
	AbsentUnseen int `json:"absent_conversations_never_captured"`
	// Unaccounted: damages, by kind, with no finding and none of the
	// reasons above; Unexplained: findings, by kind, with no damage,
	// other than GoneGaps. Both empty when the diff is the ground truth.
	Unaccounted map[finding.Kind]int `json:"damages_without_finding,omitempty"`
	Unexplained map[finding.Kind]int `json:"findings_without_damage,omitempty"`
	Wall        float64              `json:"wall_seconds"`
}

// Accounts reports whether every damage and finding is accounted for:
// none Unaccounted or Unexplained.
func (r *Result) Accounts() bool { return len(r.Unaccounted) == 0 && len(r.Unexplained) == 0 }

var (
	orgStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	orgEnd   = time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	// The export captures the first ten days; the old Recording export
	// covers all fourteen, so it holds conversations never captured: gaps.
	captureEnd = time.Date(2024, 1, 11, 0, 0, 0, 0, time.UTC)
)

// Org is the simulated org a demo of cfg exports: its seed and size,
// two weeks of January 2024.
func Org(cfg Config) *sim.Org {
	return sim.NewOrg(sim.OrgConfig{Seed: cfg.Seed, Conversations: cfg.Conversations, Start: orgStart, End: orgEnd,
		LegalHoldShare: 0.1, OtherMediaShare: 0.15})
}

// Run runs the demo, writing the story to w.
func Run(ctx context.Context, cfg Config, w io.Writer) (*Result, error) {
	start := time.Now()
	if cfg.Conversations == 0 {
		cfg.Conversations = 400
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 6000
	}
	if cfg.Faults == "" {
		cfg.Faults = "5xx=0.03,reset=0.01,truncate=0.01,429=0.005,revoke@150"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := freshDir(cfg.Dir); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Dir: dir, Ledger: filepath.Join(dir, "custody.db"), Evidence: filepath.Join(dir, "evidence"),
		Export: filepath.Join(dir, "old-export"), Manifest: filepath.Join(dir, "old-export.manifest.json"),
		Checkpoint: filepath.Join(dir, "counsel.checkpoint"),
		TSARoot:    filepath.Join(dir, "tsa-root.pem"), WitnessKey: filepath.Join(dir, "witness.pub"), ReportDir: filepath.Join(dir, "report"),
	}
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }

	// 1. The simulated org. One conversation of the old export's range is
	// deleted upstream after the export: the refetch will find it gone.
	org := Org(cfg)
	res.GoneUpstream = goneCandidate(org)
	faults := cfg.Faults
	if res.GoneUpstream != "" {
		faults += ",404=" + res.GoneUpstream
	}
	target, err := recexport.OpenTarget(ctx, res.Export, s3util.Config{})
	if err != nil {
		return nil, err
	}
	exporter := &recexport.Exporter{Target: target, Profile: recexport.DefaultProfile(recexport.ShapeGenesys, uint64(cfg.Seed)), ManifestPath: res.Manifest}
	srv, err := sim.Start(ctx, sim.Options{Org: org, RateLimit: cfg.RateLimit, Faults: faults,
		JobDelay: 300 * time.Millisecond, AuditDelay: 300 * time.Millisecond, RecordingJobDelay: 200 * time.Millisecond,
		RecordingExporter: exporter})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	held := len(org.HeldIndexes())
	say("1. Simulated Genesys Cloud org %s at %s: %d conversations from %s to %s, %d under legal hold;",
		srv.OrgID, srv.APIURL, org.Len(), orgStart.Format("2006-01-02"), orgEnd.Add(-time.Hour).Format("2006-01-02"), held)
	say("   rate limit %d requests/min, faults on (%s).", cfg.RateLimit, faults)

	// 2. A fresh ledger and its key.
	mat, err := matter.Create(ctx, matter.Options{Ledger: res.Ledger, Evidence: res.Evidence}, "Demo matter")
	if err != nil {
		return nil, err
	}
	defer mat.Close()
	l := mat.Ledger
	signer, err := mat.SignerKey()
	if err != nil {
		return nil, err
	}
	store, err := mat.Evidence(ctx)
	if err != nil {
		return nil, err
	}
	say("2. Created ledger %s (origin %s) with its signing key.", res.Ledger, l.Origin())

	// A test timestamp authority: every checkpoint from here on gets an
	// RFC 3161 token; and a witness, standing in for counsel.
	ts, err := tsasim.Start(tsasim.Options{})
	if err != nil {
		return res, err
	}
	defer ts.Close()
	if err := os.WriteFile(res.TSARoot, ts.RootPEM, 0o644); err != nil {
		return res, err
	}
	if err := mat.AddTSAs(ctx, []string{ts.URL}); err != nil {
		return res, err
	}
	if err := mat.SetTSARoots(ctx, ts.RootPEM); err != nil {
		return res, err
	}
	wit, err := demoWitness(res.WitnessKey, l.VerifierKey(), filepath.Join(dir, "witness-state"))
	if err != nil {
		return res, err
	}
	say("   Every checkpoint is timestamped by a test RFC 3161 authority at %s (root: %s).", ts.URL, res.TSARoot)

	// 3. Export the first ten days.
	client, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL,
		Rate: float64(cfg.RateLimit), Version: cfg.ToolVersion, Logger: quietRetries(ctx, cfg.Log),
		BackoffBase: 50 * time.Millisecond, BackoffCap: time.Second, PollInitial: 200 * time.Millisecond, PollMax: time.Second})
	if err != nil {
		return nil, err
	}
	deps := export.Deps{Client: client, Ledger: l, Evidence: store}
	interval := orgStart.Format(genesys.TimeLayout) + "/" + captureEnd.Format(genesys.TimeLayout)
	acct, err := export.Run(ctx, deps, export.Options{
		Scope:     export.Scope{Matter: "Demo matter", Interval: interval, MediaType: "message", MessageType: "whatsapp", WithMedia: true},
		SignerKey: signer, ToolVersion: cfg.ToolVersion, Log: cfg.Log,
	})
	res.Capture = acct
	if err != nil {
		return res, fmt.Errorf("demo: export: %w", err)
	}
	// Attachment downloads go to the media host, not the API: counted apart.
	downloads := client.Stats().Endpoints[fetch.RouteDownload].Requests
	apiRequests := acct.Invocation.Requests - downloads
	say("3. Exported %s through the Conversation API: %d WhatsApp conversations, %d messages,",
		interval, acct.Exported, acct.MessagesAppended)
	say("   %d attachments downloaded and checked against the API's sha256, %d expired;", acct.MediaDownloaded, acct.MediaExpired)
	say("   %d API requests (%.2f per conversation) and %d attachment downloads, %d retries after injected faults,",
		apiRequests, float64(apiRequests)/float64(max(acct.Exported, 1)), downloads, acct.Invocation.Retries)
	say("   %d lost; checkpoint signed.", acct.Listed-acct.Exported)
	if !acct.Complete() {
		return res, fmt.Errorf("demo: export incomplete: %+v", acct.Failures)
	}

	// 4. The old Recording API bulk export, as Genesys would write it to S3.
	if err := recordingExport(ctx, client, orgStart, orgEnd.Add(72*time.Hour)); err != nil {
		return res, err
	}
	m := exporter.Last()
	res.Damages = len(m.Damages)
	say("4. Ran a Recording API bulk export job over all fourteen days into %s:", res.Export)
	say("   the Genesys S3 layout: no legal hold or audit fields, and %d recorded damages — the simulator's", len(m.Damages))
	say("   ground truth of what it did to the export (%s), counted as if every day had been captured.", res.Manifest)

	// 5. Diff it.
	src, err := exportfile.NewDirSource(res.Export)
	if err != nil {
		return res, err
	}
	first, err := reconcile.Diff(ctx, l, store, src, reconcile.DiffOptions{SignerKey: signer, Operator: cfg.Operator, ToolVersion: cfg.ToolVersion})
	if err != nil {
		return res, err
	}
	res.FirstDiff = first
	_, findings, err := reconcile.LoadGaps(ctx, l, store, first.RunID)
	if err != nil {
		return res, err
	}
	convGaps := 0 // conversations the export names of which no message could be read
	for _, f := range findings {
		if f.Kind == finding.NotCaptured && f.MessageID == "" {
			convGaps++
		}
	}
	say("5. Diffed the old export against the ledger: %d messages in %d files, %d findings:", first.Summary.Messages, first.Summary.Files, first.Summary.Counts.Total())
	printCounts(w, first.Summary.Counts)
	say("   %d findings, not %d: the ledger holds only the first ten days, so each of the %d messages it never",
		first.Summary.Counts.Total(), res.Damages, first.Summary.Counts[finding.NotCaptured]-convGaps)
	say("   captured is one not_captured finding and nothing more — what the export did to them cannot be seen")
	say("   until they are captured.")
	if convGaps > 0 {
		say("   So is each of the %d conversation(s) it never captured of which the export kept no readable message", convGaps)
		say("   (a file cut short before its first one): one not_captured finding for the conversation.")
	}
	say("   Recorded as %s: findings and the SHA-256 of every file read are evidence (ledger entry %d).", first.RunID, first.Seq)

	// 6. Refetch the gaps.
	rf, err := reconcile.Refetch(ctx, deps, findings, first.RunID, export.Options{
		Scope: export.Scope{Matter: "Demo matter", WithMedia: true}, SignerKey: signer, ToolVersion: cfg.ToolVersion, Log: cfg.Log}, reconcile.RefetchOptions{})
	res.Refetch = rf
	if err != nil {
		return res, fmt.Errorf("demo: refetch: %w", err)
	}
	say("6. Refetched the %d gaps: %d filled, %d confirmed at the source, %d gone at the source (deleted upstream),",
		rf.Gaps, rf.Counts[reconcile.Filled], rf.Counts[reconcile.Confirmed], rf.Counts[reconcile.GoneAtSource])
	say("   %d not at the source (the export holds messages Genesys never had), %d still missing.",
		rf.Counts[reconcile.NotAtSource], rf.Counts[reconcile.StillMissing])
	if rf.Export != nil {
		say("   The messages it captured came with their attachments, as the export's did: %d downloaded, %d expired.",
			rf.Export.MediaDownloaded, rf.Export.MediaExpired)
	}

	// 7. Diff again: the gaps that could be filled are gone.
	second, err := reconcile.Diff(ctx, l, store, src, reconcile.DiffOptions{SignerKey: signer, Operator: cfg.Operator, ToolVersion: cfg.ToolVersion})
	if err != nil {
		return res, err
	}
	res.SecondDiff = second
	say("7. Diffed again: not_captured %d → %d (what remains is gone from or was never at the source).",
		first.Summary.Counts[finding.NotCaptured], second.Summary.Counts[finding.NotCaptured])
	say("   The other counts grew: the refetched messages can now be compared, and what the export did to them")
	say("   shows. The fields the Recording format cannot hold (legal hold, audit trail) remain one finding each")
	say("   (format_lacks), as they must, now standing for %d messages instead of %d:",
		second.Summary.FormatLacks[finding.FieldLegalHold], first.Summary.FormatLacks[finding.FieldLegalHold])
	printCounts(w, second.Summary.Counts)
	if err := account(ctx, l, store, second, m.Damages, res); err != nil {
		return res, err
	}
	total := second.Summary.Counts.Total()
	say("   %d findings against %d recorded damages. No diff can see the %d damages in the conversation deleted",
		total, res.Damages, res.GoneDamages)
	say("   upstream (its messages can only be not_captured: %d findings), nor the %d conversation(s) the export left",
		res.GoneGaps, res.AbsentUnseen)
	if res.Accounts() {
		say("   out that custody never captured either (neither side holds them). Every other damage is one finding (%d):",
			res.Accounted)
		say("   %d + %d + %d = %d damages, %d + %d = %d findings.",
			res.Accounted, res.GoneDamages, res.AbsentUnseen, res.Damages, res.Accounted, res.GoneGaps, total)
	} else {
		say("   out that custody never captured either (neither side holds them). %d other damages are one finding each;",
			res.Accounted)
		say("   NOT accounted for: %d damages with no finding (%s) and %d findings with no damage (%s).",
			sum(res.Unaccounted), kindList(res.Unaccounted), sum(res.Unexplained), kindList(res.Unexplained))
	}

	// 8. Verify everything, against a checkpoint kept outside the ledger.
	cp, ok, err := l.LatestCheckpoint(ctx)
	if err != nil || !ok {
		return res, fmt.Errorf("demo: no checkpoint: %v", err)
	}
	sigs, err := cosign(ctx, l, wit, nil, cp)
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(res.Checkpoint, append(append([]byte(nil), cp.Note...), sigs...), 0o644); err != nil {
		return res, err
	}
	roots, err := tsa.ParseRoots(ts.RootPEM)
	if err != nil {
		return res, err
	}
	wkey, err := os.ReadFile(res.WitnessKey)
	if err != nil {
		return res, err
	}
	rep, err := verify.Ledger(ctx, l, verify.Options{VerifierKey: l.VerifierKey(), Evidence: store,
		External: []verify.ExternalCheckpoint{{Name: res.Checkpoint, Note: cp.Note}},
		TSARoots: roots, Witnesses: []string{strings.TrimSpace(string(wkey))}})
	if err == nil {
		err = rep.Incomplete()
	}
	if err != nil {
		return res, err
	}
	res.Verify = rep
	verdict := "OK"
	switch {
	case !rep.Holds():
		verdict = "FAILED: " + rep.First().String()
	case rep.Unsigned != nil: // not expected: the checkpoint above covers every entry
		verdict = "UNSIGNED: " + rep.Unsigned.String()
	}
	say("8. Verified the ledger: %d entries, chain and Merkle root, %d signed checkpoints, %d evidence objects re-hashed: %s.",
		rep.Entries, rep.Checkpoints, rep.Evidence.Referenced, verdict)
	if n := len(rep.CheckpointTimes); n > 0 {
		t := rep.CheckpointTimes[n-1]
		say("   Checkpoint %s is proven by an RFC 3161 token to have existed by %s; witness %s cosigned it.",
			t.Checkpoint, t.ProvenAt.Format(time.RFC3339), wit.Name())
	}
	// 9. The report an auditor reads, recorded in the ledger it describes.
	tool := cfg.Tool
	if tool.Name == "" {
		tool = report.Tool{Name: "custody", Version: cfg.ToolVersion}
	}
	rr, err := report.Generate(ctx, l, store, report.Options{Out: res.ReportDir, Operator: cmp.Or(cfg.Operator, "custody demo"), Tool: tool,
		SignerKey: signer, VerifierKey: l.VerifierKey(), External: []verify.ExternalCheckpoint{{Name: res.Checkpoint, Note: cp.Note}}})
	res.Report = rr
	if err != nil {
		return res, fmt.Errorf("demo: report: %w", err)
	}
	say("9. Wrote the report (legal hold first, findings, transcripts, integrity, certificate) and recorded its hash at seq %d.", *rr.Seq)
	// The report's entry has a checkpoint of its own: the witness cosigns
	// it too, with a consistency proof from the one it saw, so the latest
	// checkpoint — what verify --witness looks at — is witnessed.
	last, ok, err := l.LatestCheckpoint(ctx)
	if err != nil || !ok {
		return res, fmt.Errorf("demo: no checkpoint after the report: %v", err)
	}
	if last.ID != cp.ID {
		if _, err := cosign(ctx, l, wit, &cp, last); err != nil {
			return res, err
		}
	}
	// The test authority stops with the demo: it is taken off the
	// matter as any authority is (custody checkpoint --remove-tsa), by a
	// settings entry and the checkpoint covering it, which is not sent to
	// it, so that a command signing a checkpoint later does not ask it
	// and warn that it is unreachable. Its roots stay in the settings;
	// the tokens it gave are checked against them. The witness, still
	// running, cosigns that checkpoint, so the latest stays witnessed.
	removed, err := mat.CheckpointRemoving(ctx, signer, nil, matter.Removal{TSAs: []string{ts.URL}})
	if err != nil {
		return res, fmt.Errorf("demo: take the test authority off: %w", err)
	}
	if _, err := cosign(ctx, l, wit, &last, removed); err != nil {
		return res, err
	}
	res.Wall = time.Since(start).Seconds()
	say("   The test timestamp authority and witness stop with the demo: the authority was taken off the matter")
	say("   (settings entry at seq %d, 'log --kind settings'; custody checkpoint --tsa URL names another), and no", removed.Size-1)
	say("   witness cosigns a checkpoint signed from now on.")
	say("")
	command := cfg.Command
	if command == "" {
		command = "custody"
	}
	say("Report: %s", rr.HTML)
	say("Everything is in %s. Try:", dir)
	say("  %s --ledger %s verify --evidence", command, res.Ledger)
	say("  %s --ledger %s verify --tsa-roots %s --witness %s", command, res.Ledger, res.TSARoot, res.WitnessKey)
	say("  %s --ledger %s log --kind diff", command, res.Ledger)
	say("  %s --ledger %s diff %s --no-record --output csv", command, res.Ledger, res.Export)
	say("  %s --ledger %s verify --report %s", command, res.Ledger, rr.HTML)
	say("What each finding kind means, in plain words with an example: docs/findings.md")
	say("(https://github.com/custodyhq/custody/blob/main/docs/findings.md).")
	if !rep.OK {
		return res, errors.New("demo: verification failed")
	}
	return res, nil
}

// cosign has the witness cosign cp — with a consistency proof from seen,
// the checkpoint it cosigned before, unless this is its first — and
// stores the cosignature beside cp; it returns the cosignature lines.
func cosign(ctx context.Context, l *ledger.Ledger, wit *witness.Witness, seen *ledger.StoredCheckpoint, cp ledger.StoredCheckpoint) ([]byte, error) {
	req := witness.Request{Checkpoint: cp.Note}
	if seen != nil {
		proof, err := l.ConsistencyProof(ctx, seen.Size, cp.Size)
		if err != nil {
			return nil, err
		}
		req.OldSize, req.Proof = seen.Size, proof
	}
	sigs, err := wit.Add(req)
	if err != nil {
		return nil, fmt.Errorf("demo: witness: %w", err)
	}
	if err := l.AddCosignature(ctx, cp.ID, wit.Name(), string(sigs)); err != nil {
		return nil, err
	}
	return sigs, nil
}

// demoWitness makes a witness key pair (the verifier key written to
// pubFile) and a witness of the ledger whose verifier key is logKey.
func demoWitness(pubFile, logKey, stateDir string) (*witness.Witness, error) {
	skey, vkey, err := witness.GenerateKey("witness.demo.example")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(pubFile, []byte(vkey+"\n"), 0o644); err != nil {
		return nil, err
	}
	return witness.New(skey, []string{logKey}, stateDir)
}

// goneCandidate picks a WhatsApp conversation outside the captured days:
// it is in the old export, custody never captured it, and by the time of
// the refetch it has been deleted upstream.
func goneCandidate(o *sim.Org) string {
	for i := o.Len() - 1; i >= 0; i-- {
		c, ok := o.Conversation(o.ConversationID(i))
		if ok && c.MessageType == "whatsapp" && c.Start.After(captureEnd.Add(72*time.Hour)) && c.End.Before(orgEnd) {
			return c.ID
		}
	}
	return ""
}

// recordingExport creates, runs and waits for a Recording API EXPORT job.
func recordingExport(ctx context.Context, c *fetch.Client, from, to time.Time) error {
	job, _, err := c.CreateRecordingJob(ctx, genesys.RecordingJobsQuery{
		Action: "EXPORT", ActionDate: time.Now().UTC().Format(genesys.TimeLayout), IntegrationID: "demo-s3-integration",
		ConversationQuery: &genesys.AsyncConversationQuery{Interval: from.Format(genesys.TimeLayout) + "/" + to.Format(genesys.TimeLayout)},
	})
	if err != nil {
		return fmt.Errorf("demo: recording job: %w", err)
	}
	for state := job.State; ; {
		switch state {
		case genesys.RecJobReady:
			if _, _, err := c.SetRecordingJobState(ctx, job.ID, genesys.RecJobProcessing); err != nil {
				return fmt.Errorf("demo: run recording job: %w", err)
			}
		case genesys.RecJobFulfilled:
			return nil
		case genesys.RecJobFailed, genesys.RecJobCancelled:
			return fmt.Errorf("demo: recording job %s", state)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		j, _, err := c.RecordingJob(ctx, job.ID)
		if err != nil {
			return fmt.Errorf("demo: recording job: %w", err)
		}
		state = j.State
	}
}

// account matches the second diff's findings to the ground truth's
// damages one to one by kind, conversation, message and field, and fills
// in res how each damage and each finding is accounted for (Result.Damages).
func account(ctx context.Context, l *ledger.Ledger, store evidence.Store, second *reconcile.DiffResult, damages []recexport.Damage, res *Result) error {
	type key struct {
		kind             finding.Kind
		conv, msg, field string
	}
	open := map[key]int{} // damages not yet matched by a finding
	for _, d := range damages {
		open[key{d.Kind, d.ConversationID, d.MessageID, d.Field}]++
	}
	res.Accounted, res.GoneDamages, res.GoneGaps, res.AbsentUnseen = 0, 0, 0, 0
	res.Unaccounted, res.Unexplained = map[finding.Kind]int{}, map[finding.Kind]int{}
	err := reconcile.StreamFindings(ctx, store, second.RunID, second, func(f diff.Finding) error {
		k := key{f.Kind, f.ConversationID, f.MessageID, f.Field}
		switch {
		case open[k] > 0:
			open[k]--
			res.Accounted++
		case res.GoneUpstream != "" && f.ConversationID == res.GoneUpstream && f.Kind == finding.NotCaptured:
			res.GoneGaps++
		default:
			res.Unexplained[f.Kind]++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo: findings of %s: %w", second.RunID, err)
	}
	for _, d := range damages {
		k := key{d.Kind, d.ConversationID, d.MessageID, d.Field}
		if open[k] == 0 {
			continue
		}
		open[k]--
		switch {
		case res.GoneUpstream != "" && d.ConversationID == res.GoneUpstream:
			res.GoneDamages++
		case d.Kind == finding.ConversationAbsent:
			_, captured, err := l.LatestConversation(ctx, d.ConversationID)
			if err != nil {
				return err
			}
			if captured {
				res.Unaccounted[d.Kind]++
			} else {
				res.AbsentUnseen++
			}
		default:
			res.Unaccounted[d.Kind]++
		}
	}
	if len(res.Unaccounted) == 0 {
		res.Unaccounted = nil
	}
	if len(res.Unexplained) == 0 {
		res.Unexplained = nil
	}
	return nil
}

func sum(m map[finding.Kind]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// kindList is m as "kind n, kind n" in report order.
func kindList(m map[finding.Kind]int) string {
	var parts []string
	for _, in := range finding.Kinds() {
		if n := m[in.Kind]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", in.Kind, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func printCounts(w io.Writer, c diff.Counts) {
	for _, in := range finding.Kinds() {
		k := in.Kind
		if c[k] > 0 {
			fmt.Fprintf(w, "     %-26s %6d\n", k, c[k])
		}
	}
}

func freshDir(dir string) error {
	if dir == "" {
		return errors.New("demo: no directory")
	}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("demo: %s is not empty; give --dir a new folder", dir)
	}
	return nil
}

// quietRetries keeps the story readable: the demo injects faults on
// purpose, so the client's retry lines (info) would drown it. They show
// with --log-level debug; warnings always do.
func quietRetries(ctx context.Context, log *slog.Logger) *slog.Logger {
	if log.Enabled(ctx, slog.LevelDebug) {
		return log
	}
	return slog.New(minLevel{log.Handler(), slog.LevelWarn})
}

// minLevel passes records at or above its level to h.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{m.h.WithAttrs(as), m.min}
}
func (m minLevel) WithGroup(name string) slog.Handler { return minLevel{m.h.WithGroup(name), m.min} }
