package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/redact"
)

// apiOptions say how to reach Genesys Cloud (or the simulator).
type apiOptions struct {
	APIURL, LoginURL string
	Region           string
	ClientID         string
	Clients          []string // more OAuth client ids (--client)
	Credentials      string   // a client_id:client_secret file (--credentials)
	Rate             float64
	MaxAttachment    int64 // --max-attachment-bytes of the commands that capture; 0: the default
	// DownloadStall and DownloadMinRate are --download-stall-timeout and
	// --download-min-rate of the commands that capture; 0: the default.
	DownloadStall   time.Duration
	DownloadMinRate int64
	fs              *pflag.FlagSet
}

func (o *apiOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.APIURL, "api-url", "", "API base URL, e.g. the simulator's api_url (overrides --region)")
	fs.StringVar(&o.LoginURL, "login-url", "", "OAuth base URL, e.g. the simulator's login_url (default: the login host beside --api-url's api. host, or the region's)")
	fs.StringVar(&o.Region, "region", "", "Genesys region (us-east-1, eu-west-1, …) or domain (env GENESYSCLOUD_REGION); required unless --api-url is given")
	fs.StringVar(&o.ClientID, "client-id", "", "OAuth client id (env GENESYSCLOUD_OAUTHCLIENT_ID); the secret is read only from GENESYSCLOUD_OAUTHCLIENT_SECRET")
	fs.StringArrayVar(&o.Clients, "client", nil, "another OAuth client id of the org to share the work with, each with its own budget (repeatable); its secret comes from --credentials or env "+envClientSecretPrefix+"<ID>, never the command line")
	fs.StringVar(&o.Credentials, "credentials", "", "file of client_id:client_secret lines (mode 600): the clients to share the work between")
	fs.Float64Var(&o.Rate, "rate-limit", fetch.DefaultRate, "the API's rate limit per OAuth client in requests per minute, a positive finite number: custody paces all workers together under it (default: the org's limits when it may read them, else 300)")
	hideDefault(fs, "rate-limit") // 300 is only the fallback: the text says so
	deprecatedAlias(fs, "rate", "rate-limit")
	o.fs = fs
}

// config is the client's configuration as the flags give it, before the
// environment's.
func (o *apiOptions) config(g *globalOptions) fetch.Config {
	return fetch.Config{
		ClientID: o.ClientID, APIURL: o.APIURL, LoginURL: o.LoginURL, Region: o.Region,
		Rate: o.Rate, Version: toolVersion(), Logger: g.log, Redactor: g.redact,
		MaxDownloadBytes: o.MaxAttachment, DownloadIdle: o.DownloadStall, MinDownloadRate: o.DownloadMinRate,
	}
}

// client builds the API client; credentials come from the environment.
func (o *apiOptions) client(g *globalOptions) (*fetch.Client, error) {
	cfg := o.config(g)
	cfg.ApplyEnv(os.Getenv)
	if err := o.check(cfg.Region); err != nil {
		return nil, err
	}
	if o.fs != nil && !o.fs.Changed("rate-limit") && !o.fs.Changed("rate") {
		cfg.Rate = 0 // the default: the org's limits, when read, replace it
	}
	if err := o.clientsConfig(&cfg, os.Getenv); err != nil {
		return nil, err
	}
	if cfg.AccessToken == "" && (cfg.ClientID == "" || cfg.ClientSecret == "") {
		return nil, usageError("no Genesys credentials: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET (or GENESYSCLOUD_ACCESS_TOKEN)")
	}
	return fetch.New(cfg)
}

// check refuses, as usage errors naming the flag, what fetch.New would
// refuse or silently replace: a rate that is not a positive number (0
// would mean the default), a URL without http(s)://, an unknown region,
// and no region at all when no --api-url says where the API is (Genesys
// has no global host: guessing us-east-1 would send the credentials to
// the wrong region and fail with a misleading 401). region is --region or
// else GENESYSCLOUD_REGION.
func (o *apiOptions) check(region string) error {
	if math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) || o.Rate <= 0 {
		return usageError("--rate-limit must be a positive number of requests per minute (the API's limit; Genesys grants %d per OAuth client), not %v", fetch.DefaultRate, o.Rate)
	}
	for _, u := range []struct{ flag, val string }{{"--api-url", o.APIURL}, {"--login-url", o.LoginURL}} {
		if u.val == "" {
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return usageError("%s %q: want a URL with its scheme, http(s)://host[:port][/prefix], e.g. http://127.0.0.1:8080", u.flag, redact.URL(u.val))
		}
		if p.User != nil || p.RawQuery != "" || p.ForceQuery || p.Fragment != "" {
			// fetch refuses them too (an error, exit 1); the flag is what is wrong.
			return usageError("%s %q: want no user info, query or fragment: the OAuth client's id and secret go in --credentials or the environment, never in a URL", u.flag, redact.URL(u.val))
		}
	}
	if o.APIURL != "" && o.LoginURL != "" {
		return nil
	}
	if region == "" {
		if o.APIURL != "" {
			return nil // the login URL follows the API URL
		}
		return usageError("no Genesys region: set --region or %s (e.g. us-east-1, eu-west-1, or a domain like mypurecloud.ie), or give --api-url", fetch.EnvRegion)
	}
	if _, _, err := fetch.Region(region); err != nil {
		return usageError("--region (or %s) %q: not a Genesys region name (us-east-1, eu-west-1, …) or domain (mypurecloud.ie)", fetch.EnvRegion, region)
	}
	return nil
}

// captureOptions are what every command that captures (export, refetch)
// needs: the API, the evidence store, workers, the signer key, the audit
// service and whether attachments are downloaded.
type captureOptions struct {
	api         apiOptions
	ev          evidenceOptions
	Concurrency int
	Key         string
	AuditSvc    string
	Media       bool
}

func (o *captureOptions) AddFlags(fs *pflag.FlagSet) {
	o.api.AddFlags(fs)
	o.ev.AddFlags(fs, true)
	fs.IntVar(&o.Concurrency, "concurrency", export.DefaultConcurrency, "conversations captured at once (the rate budget is shared)")
	fs.StringVar(&o.Key, "key", "", "checkpoint signer key (default: the key beside the ledger)")
	fs.StringVar(&o.AuditSvc, "audit-service", export.DefaultAuditServiceName, auditServiceUsage)
	fs.Int64Var(&o.api.MaxAttachment, "max-attachment-bytes", fetch.DefaultMaxDownloadBytes, "the largest attachment downloaded, in bytes; a larger one is recorded as too_large (each is held in memory until stored)")
	fs.DurationVar(&o.api.DownloadStall, "download-stall-timeout", fetch.DefaultDownloadIdle, "cut off an attachment download whose body sends no byte for this long, and try it again as any timeout (within the call's retry budget): raise it for a storage host or proxy that pauses long mid-file, lower it to give up sooner on a dead connection (e.g. 30s, 5m; at most "+maxDownloadStall.String()+")")
	fs.Int64Var(&o.api.DownloadMinRate, "download-min-rate", fetch.DefaultMinDownloadRate, "the slowest an attachment download may be, in bytes per second: an attempt is cut off, and tried again, when its body is not complete within 2 minutes plus its size at this rate (at the default 64 KiB/s a 128 MiB attachment may take 36 minutes); lower it for a slow link, at least "+fmt.Sprint(minDownloadRate))
	fs.BoolVar(&o.Media, "media", true, "download attachments (without the bearer token), check them against the API's sha256 and keep them as evidence; expired urls are recorded as such (--media=false: skip attachments; a later run with --media downloads those of the messages captured so, re-capturing them unchanged, while their urls work or the Recordings service keeps a copy; an unfinished run resumes only with its own setting)")
	deprecatedAlias(fs, "with-media", "media")
}

// maxDownloadStall and minDownloadRate bound --download-stall-timeout
// and --download-min-rate: past them a stalled or crawling download holds
// a worker for hours (a 128 MiB attachment at 1 KiB/s takes 36 hours).
const (
	maxDownloadStall = time.Hour
	minDownloadRate  = 1 << 10
)

// checkDownloadBounds is the rule of --download-stall-timeout and
// --download-min-rate: 0 or less would not mean "no bound" to fetch but
// its default, so it is refused rather than silently replaced.
func checkDownloadBounds(stall time.Duration, rate int64) error {
	if stall <= 0 || stall > maxDownloadStall {
		return usageError("--download-stall-timeout must be a duration above 0 and at most %s, e.g. 30s or 5m (how long a download may receive no byte; default %s), not %s", maxDownloadStall, fetch.DefaultDownloadIdle, stall)
	}
	if rate < minDownloadRate {
		return usageError("--download-min-rate must be at least %d bytes per second (the slowest a download may be in all; default %d, 64 KiB/s), not %d", minDownloadRate, fetch.DefaultMinDownloadRate, rate)
	}
	return nil
}

// capture is an open matter with what a capture run needs.
type capture struct {
	m    *matter.Matter
	deps export.Deps
	key  string
}

func (c *capture) Close() { c.m.Close() }

// open checks the flags, builds the client and opens the matter: its
// ledger, evidence store and signer key.
func (o *captureOptions) open(ctx context.Context, g *globalOptions) (*capture, error) {
	if err := checkConcurrency(o.Concurrency); err != nil {
		return nil, err
	}
	if err := checkAuditService(o.AuditSvc); err != nil {
		return nil, err
	}
	if o.api.MaxAttachment <= 0 {
		return nil, usageError("--max-attachment-bytes must be a positive number of bytes, not %d", o.api.MaxAttachment)
	}
	if err := checkDownloadBounds(o.api.DownloadStall, o.api.DownloadMinRate); err != nil {
		return nil, err
	}
	client, err := o.api.client(g)
	if err != nil {
		return nil, err
	}
	mo := o.ev.matterOptions()
	mo.SignerKey = o.Key
	m, err := openMatter(ctx, g, mo)
	if err != nil {
		return nil, err
	}
	c := &capture{m: m, deps: export.Deps{Client: client, Ledger: m.Ledger}}
	if c.key, err = m.SignerKey(); err != nil {
		c.Close()
		return nil, err
	}
	if c.deps.Evidence, err = evidenceStore(ctx, m); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// options are the export options common to capture runs.
func (o *captureOptions) options(c *capture, g *globalOptions, label string) (export.Options, *progress) {
	prog := newProgress(g, label)
	return export.Options{
		Scope: export.Scope{Matter: c.deps.Ledger.Matter(), WithMedia: o.Media}, Concurrency: o.Concurrency, SignerKey: c.key,
		ToolVersion: toolVersion(), Log: g.log, Progress: prog, AuditServiceName: o.AuditSvc,
	}, prog
}

type exportOptions struct {
	captureOptions
	Matter      string
	Interval    string
	IDsFile     string
	MessageType string
}

func (o *exportOptions) AddFlags(fs *pflag.FlagSet) {
	o.captureOptions.AddFlags(fs)
	fs.StringVar(&o.Matter, "matter", "", "matter name recorded in every entry (default: the ledger's)")
	fs.StringVar(&o.Interval, "interval", "", "conversations whose lifetime overlaps START/END (dates or RFC 3339), e.g. 2024-01-01/2024-02-01")
	fs.StringVar(&o.IDsFile, "ids-file", "", "file of conversation ids, one per line ('-' for stdin; ids in UUID form are taken in lower case, as Genesys writes them), instead of --interval")
	fs.StringVar(&o.MessageType, "message-type", fetch.MessageTypeWhatsApp, "analytics messageType filter for --interval: "+strings.Join(fetch.MessageTypes, ", "))
}

func newExportCommand(g *globalOptions) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export (--interval START/END | --ids-file FILE)",
		Short: "Capture conversations into evidence and the ledger",
		Long: `Export captures WhatsApp conversations through the Genesys Cloud
Conversation API: it lists them (an analytics job over --interval, or the
ids in --ids-file), then for each conversation stores the raw responses as
evidence and appends a conversation entry and one entry per message —
with legal hold, audit-trail references and the original millisecond
timestamp — to the ledger. A signed checkpoint ends every run.

It costs about two requests per conversation (one GET, one bulk read of
up to 1,000 messages) plus one legal-hold check per 100 conversations, and
paces itself under --rate-limit (by default the org's effective limits,
read at start where the OAuth client may), honouring 429 Retry-After for
every worker. For volumes beyond one OAuth client's budget, --client ID
(repeatable) or --credentials FILE adds clients of the same org, each with
its own budget; secrets come from the environment
(GENESYSCLOUD_OAUTHCLIENT_SECRET_<ID>) or the file (mode 600), never the
command line.

Rerunning the same command resumes an unfinished run; messages already
captured unchanged are not appended again, and a message that changed at
the source is appended as a new capture naming the one it supersedes.
--media is part of the scope: a run begun with --media=false is resumed
only with --media=false (with --media a new run starts, with a warning).
A run with --media downloads the attachments of messages captured with
--media=false and unchanged since, and appends each such message again
with them, superseding its capture with the same payload hash: a
re-capture, not a change at the source (messages_recaptured). So is a
message whose capture recorded some attachments as expired or refused:
a later run with --media tries again those that may still be had, and
re-captures the message when it downloads one of them (which are tried
again, and which not: docs/commands.md, export).

Credentials come from the environment: GENESYSCLOUD_OAUTHCLIENT_ID and
GENESYSCLOUD_OAUTHCLIENT_SECRET, or GENESYSCLOUD_ACCESS_TOKEN. The region
(GENESYSCLOUD_REGION or --region) is required unless --api-url says where
the API is: custody does not guess one. The ledger must exist ('custody
init').

Examples:
  custody export --interval 2024-01-01/2024-02-01
  custody export --ids-file ids.txt --media=false --evidence s3://bucket/matter-42
  custody export --api-url http://127.0.0.1:8080 --login-url http://127.0.0.1:8081 --interval 2024-01-01/2024-01-08 --output json
  custody export --interval 2024-01-01/2024-02-01 --credentials ~/.config/custody/clients   # several OAuth clients
` + exitStatus(exit0, exit1, exit2,
			`3    some conversations failed or are gone at the source, a daily rate
       limit stopped the run, or analytics data is not yet available for the
       whole interval (rerun to retry); or the ledger is damaged`,
			exit130Run),
		Args:        cobra.NoArgs,
		Annotations: map[string]string{resumableAnnotation: "yes"},
		RunE:        func(cmd *cobra.Command, _ []string) error { return runExport(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runExport(ctx context.Context, o *exportOptions, g *globalOptions) error {
	if !slices.Contains(fetch.MessageTypes, o.MessageType) {
		// A messageType Genesys never gives would list no conversation:
		// a run recorded as done that captured nothing.
		return usageError("export: --message-type %q: not a Genesys messageType (one of %s)", o.MessageType, strings.Join(fetch.MessageTypes, ", "))
	}
	scope := export.Scope{MediaType: "message", MessageType: o.MessageType, WithMedia: o.Media}
	switch {
	case (o.Interval == "") == (o.IDsFile == ""):
		return usageError("give exactly one of --interval or --ids-file")
	case o.Interval != "":
		iv, _, _, err := export.ParseInterval(o.Interval)
		if err != nil {
			return usageError("--interval: %v", err)
		}
		scope.Interval = iv
	default:
		ids, err := readIDsFile(o.IDsFile, g)
		if err != nil {
			return err
		}
		scope.IDs, scope.MessageType, scope.MediaType = ids, "", ""
	}
	c, err := o.open(ctx, g)
	if err != nil {
		return err
	}
	defer c.Close()
	opts, prog := o.options(c, g, "export")
	scope.Matter = cmp.Or(o.Matter, opts.Scope.Matter)
	opts.Scope = scope
	defer collectLess(exportGCPercent, exportMemoryLimit)()
	acct, runErr := export.Run(ctx, c.deps, opts)
	prog.Finish()
	if acct != nil {
		if err := printAccounting(g, acct); err != nil {
			return err
		}
	}
	var dl *fetch.DailyLimitError
	switch {
	case runErr != nil && ctx.Err() != nil:
		return runErr // a Ctrl-C (exit 130), whatever else the run met
	case errors.As(runErr, &dl):
		return withCode(exitFindings, fmt.Errorf("export stopped: %w; state is saved: rerun the same command after %s", runErr, dl.Until.Local().Format(time.RFC1123)))
	case runErr != nil:
		return runErr
	case acct.DataAvailableUntil != "":
		return withCode(exitFindings, fmt.Errorf("export: analytics data is available only up to %s, before the interval's end: conversations that started after it are not listed yet (%d of %d listed exported); rerun later to capture them",
			acct.DataAvailableUntil, acct.Exported, acct.Listed))
	case !acct.Complete():
		return withCode(exitFindings, fmt.Errorf("export: %d of %d conversations not exported (%d failed, %d gone at the source); rerun to retry",
			acct.Listed-acct.Exported-acct.Erased, acct.Listed, acct.Failed, acct.Gone))
	}
	return nil
}

func readIDsFile(name string, g *globalOptions) ([]string, error) {
	if name == "-" {
		return export.ReadIDs(g.stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--ids-file: %w", err)
	}
	defer f.Close()
	return export.ReadIDs(f)
}

// printAccounting prints a run's final accounting on stdout: what the
// whole run captured (all its invocations), then what this invocation did.
func printAccounting(g *globalOptions, a *export.Accounting) error {
	if g.jsonOutput() {
		return g.writeJSON(a)
	}
	w := g.stdout
	fmt.Fprintf(w, "run %s (%s)%s\n", a.RunID, a.Status, map[bool]string{true: ", resumed: counts cover every invocation of the run", false: ""}[a.Resumed])
	fmt.Fprintf(w, "  conversations  listed %d  exported %d  unchanged %d  changed at source %d  failed %d  gone %d  pending %d\n",
		a.Listed, a.Exported, a.Unchanged, a.Changed, a.Failed, a.Gone, a.Pending)
	if whole := a.Erased - a.ErasedInPart; whole > 0 {
		fmt.Fprintf(w, "  erased: %d listed %s erased whole from this matter (custody erase) and not captured again\n", whole, plural(whole, "conversation was", "conversations were"))
	}
	if a.ErasedInPart > 0 {
		// Said apart: erasing one message freezes the capture of its whole
		// conversation, which an ongoing chat keeps adding to.
		fmt.Fprintf(w, "  erased in part: %d listed %s some messages erased (custody erase) and %s not captured again: new messages in them are not captured\n",
			a.ErasedInPart, plural(a.ErasedInPart, "conversation had", "conversations had"), plural(a.ErasedInPart, "is", "are"))
	}
	fmt.Fprintf(w, "  messages       appended %d  unchanged %d  changed %d  gone %d", a.MessagesAppended, a.MessagesUnchanged, a.MessagesChanged, a.MessagesGone)
	if a.MediaDownloaded > 0 || a.MediaExpired > 0 || a.MediaRefused > 0 {
		fmt.Fprintf(w, "\n  media          downloaded %d  expired %d  refused %d  sha256 mismatch %d", a.MediaDownloaded, a.MediaExpired, a.MediaRefused, a.MediaMismatch)
	}
	fmt.Fprintln(w)
	// Every run says what the ledger lacks, not only the run that met it:
	// a rerun that downloads nothing would otherwise say nothing of it.
	fmt.Fprintf(w, "  attachments not captured: %d", a.MediaNotCaptured)
	if a.MediaRetryable > 0 {
		fmt.Fprintf(w, " (%d may still be had: a rerun with --media tries them again)", a.MediaRetryable)
	}
	fmt.Fprintln(w)
	if a.MessagesRecaptured > 0 {
		fmt.Fprintf(w, "  re-captured with media: %d messages appended again with attachments their capture lacked (captured with --media=false, or recorded not downloaded and had now), unchanged at the source (each supersedes its capture with the same payload hash: not a change)\n", a.MessagesRecaptured)
	}
	if a.MessagesWithoutMedia > 0 {
		fmt.Fprintf(w, "  without media: %d captured messages have attachments the ledger does not hold (captured with --media=false; a run with --media downloads them and re-captures the messages with them, while their urls work or the Recordings service keeps a copy)\n", a.MessagesWithoutMedia)
	}
	if a.MediaOtherRun != "" {
		fmt.Fprintf(w, "  new run: the unfinished run %s of the same scope has the other --media setting, and is left unfinished\n", a.MediaOtherRun)
	}
	if a.CountsPartial {
		fmt.Fprintln(w, "  partial counts: the run began under a custody that kept no whole-run tally; messages, media and unchanged or changed conversations count only what was captured since")
	}
	inv := a.Invocation
	fmt.Fprintf(w, "  this invocation: %d conversations captured, %d messages appended, %d requests, %d 429s, %d retries, wall %.1fs\n",
		inv.ConversationsCaptured, inv.MessagesAppended, inv.Requests, inv.TooMany, inv.Retries, inv.Wall)
	for _, c := range a.ChangedAtSource {
		fmt.Fprintf(w, "  changed at source: conversation %s message %s (seq %d supersedes %d)\n", c.ConversationID, c.MessageID, c.Seq, c.Supersedes)
	}
	for _, f := range a.Failures {
		fmt.Fprintf(w, "  not exported: %s: %s\n", f.ConversationID, f.Reason)
	}
	if a.StopReason != "" {
		fmt.Fprintf(w, "  stopped: %s\n", a.StopReason)
	}
	if a.DataAvailableUntil != "" {
		fmt.Fprintf(w, "  not listed yet: analytics data is available only up to %s\n", a.DataAvailableUntil)
	}
	if a.AuditUnmatched > 0 {
		types := make([]string, 0, len(a.AuditUnmatchedTypes))
		for _, k := range slices.Sorted(maps.Keys(a.AuditUnmatchedTypes)) {
			types = append(types, fmt.Sprintf("%s %d", k, a.AuditUnmatchedTypes[k]))
		}
		fmt.Fprintf(w, "  audit entries naming none of this run's conversations: %d of %d (%s)\n", a.AuditUnmatched, a.AuditEntries, strings.Join(types, ", "))
	}
	if a.Checkpoint != "" {
		fmt.Fprintf(w, "checkpoint:\n%s", a.Checkpoint)
	}
	return nil
}
