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
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/verify"
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
	ReportDir    string                `json:"report_dir"`
	Capture      *export.Accounting    `json:"capture"`
	FirstDiff    *reconcile.DiffResult `json:"first_diff"`
	Refetch      *reconcile.Result     `json:"refetch"`
	SecondDiff   *reconcile.DiffResult `json:"second_diff"`
	Verify       verify.Report         `json:"verify"` // with the evidence summary
	Report       *report.Result        `json:"report"`
	GoneUpstream string                `json:"gone_upstream_conversation"`
	Wall         float64               `json:"wall_seconds"`
}

var (
	orgStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	orgEnd   = time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	// The export captures the first ten days; the old Recording export
	// covers all fourteen, so it holds conversations never captured: gaps.
	captureEnd = time.Date(2024, 1, 11, 0, 0, 0, 0, time.UTC)
)

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
		Checkpoint: filepath.Join(dir, "counsel.checkpoint"), ReportDir: filepath.Join(dir, "report"),
	}
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }

	// 1. The simulated org. One conversation of the old export's range is
	// deleted upstream after the export: the refetch will find it gone.
	org := sim.NewOrg(sim.OrgConfig{Seed: cfg.Seed, Conversations: cfg.Conversations, Start: orgStart, End: orgEnd,
		LegalHoldShare: 0.1, OtherMediaShare: 0.15})
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

	// 3. Export the first ten days.
	client, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL,
		Rate: float64(cfg.RateLimit), Version: cfg.ToolVersion, Logger: cfg.Log,
		BackoffBase: 50 * time.Millisecond, BackoffCap: time.Second, PollInitial: 200 * time.Millisecond, PollMax: time.Second})
	if err != nil {
		return nil, err
	}
	deps := export.Deps{Client: client, Ledger: l, Evidence: store}
	interval := orgStart.Format(genesys.TimeLayout) + "/" + captureEnd.Format(genesys.TimeLayout)
	acct, err := export.Run(ctx, deps, export.Options{
		Scope:     export.Scope{Matter: "Demo matter", Interval: interval, MediaType: "message", MessageType: "whatsapp"},
		SignerKey: signer, ToolVersion: cfg.ToolVersion, Log: cfg.Log,
	})
	res.Capture = acct
	if err != nil {
		return res, fmt.Errorf("demo: export: %w", err)
	}
	say("3. Exported %s through the Conversation API: %d WhatsApp conversations, %d messages,",
		interval, acct.Exported, acct.MessagesAppended)
	say("   %d requests (%.2f per conversation), %d retries after injected faults, %d lost; checkpoint signed.",
		acct.Requests, float64(acct.Requests)/float64(max(acct.Exported, 1)), acct.Retries, acct.Listed-acct.Exported)
	if !acct.Complete() {
		return res, fmt.Errorf("demo: export incomplete: %+v", acct.Failures)
	}

	// 4. The old Recording API bulk export, as Genesys would write it to S3.
	if err := recordingExport(ctx, client, orgStart, orgEnd.Add(72*time.Hour)); err != nil {
		return res, err
	}
	m := exporter.Last()
	say("4. Ran a Recording API bulk export job over all fourteen days into %s:", res.Export)
	say("   the Genesys S3 layout: no legal hold or audit fields, and %d recorded damages (ground truth: %s).",
		len(m.Damages), res.Manifest)

	// 5. Diff it.
	src, err := exportfile.NewDirSource(res.Export)
	if err != nil {
		return res, err
	}
	first, err := reconcile.Diff(ctx, l, store, src, reconcile.DiffOptions{SignerKey: signer})
	if err != nil {
		return res, err
	}
	res.FirstDiff = first
	say("5. Diffed the old export against the ledger: %d messages in %d files, %d findings:", first.Summary.Messages, first.Summary.Files, first.Summary.Counts.Total())
	printCounts(w, first.Summary.Counts)
	say("   Recorded as %s: findings and the SHA-256 of every file read are evidence (ledger entry %d).", first.RunID, first.Seq)

	// 6. Refetch the gaps.
	_, findings, err := reconcile.LoadGaps(ctx, l, store, first.RunID)
	if err != nil {
		return res, err
	}
	rf, err := reconcile.Refetch(ctx, deps, findings, first.RunID, export.Options{
		Scope: export.Scope{Matter: "Demo matter"}, SignerKey: signer, ToolVersion: cfg.ToolVersion, Log: cfg.Log})
	res.Refetch = rf
	if err != nil {
		return res, fmt.Errorf("demo: refetch: %w", err)
	}
	say("6. Refetched the %d gaps: %d filled, %d confirmed at the source, %d gone at the source (deleted upstream),",
		rf.Gaps, rf.Counts[reconcile.Filled], rf.Counts[reconcile.Confirmed], rf.Counts[reconcile.GoneAtSource])
	say("   %d not at the source (the export holds messages Genesys never had), %d still missing.",
		rf.Counts[reconcile.NotAtSource], rf.Counts[reconcile.StillMissing])

	// 7. Diff again: the gaps that could be filled are gone.
	second, err := reconcile.Diff(ctx, l, store, src, reconcile.DiffOptions{SignerKey: signer})
	if err != nil {
		return res, err
	}
	res.SecondDiff = second
	say("7. Diffed again: not_captured %d → %d (what remains is not at the source); the stripped fields remain, as they must:",
		first.Summary.Counts[finding.NotCaptured], second.Summary.Counts[finding.NotCaptured])
	printCounts(w, second.Summary.Counts)

	// 8. Verify everything, against a checkpoint kept outside the ledger.
	cp, ok, err := l.LatestCheckpoint(ctx)
	if err != nil || !ok {
		return res, fmt.Errorf("demo: no checkpoint: %v", err)
	}
	if err := os.WriteFile(res.Checkpoint, cp.Note, 0o644); err != nil {
		return res, err
	}
	rep, err := verify.Ledger(ctx, l, verify.Options{VerifierKey: l.VerifierKey(), Evidence: store,
		External: []verify.ExternalCheckpoint{{Name: res.Checkpoint, Note: cp.Note}}})
	if err != nil {
		return res, err
	}
	res.Verify = rep
	verdict := "OK"
	if !rep.OK {
		verdict = "FAILED: " + rep.First().String()
	}
	say("8. Verified the ledger: %d entries, chain and Merkle root, %d signed checkpoints, %d evidence objects re-hashed: %s.",
		rep.Entries, rep.Checkpoints, rep.Evidence.Referenced, verdict)
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
	res.Wall = time.Since(start).Seconds()
	say("")
	command := cfg.Command
	if command == "" {
		command = "custody"
	}
	say("Report: %s", rr.HTML)
	say("Everything is in %s. Try:", dir)
	say("  %s --ledger %s verify --evidence", command, res.Ledger)
	say("  %s --ledger %s log --kind diff", command, res.Ledger)
	say("  %s --ledger %s diff %s --output csv", command, res.Ledger, res.Export)
	say("  %s --ledger %s verify --report %s", command, res.Ledger, rr.HTML)
	if !rep.OK {
		return res, errors.New("demo: verification failed")
	}
	return res, nil
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
