package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// simServeOptions are the flags of 'custody sim serve'.
type simServeOptions struct {
	Addr            string
	ReadyFile       string
	Conversations   int
	Seed            int64
	Start, End      string
	LegalHoldShare  float64
	OtherMediaShare float64
	Agents          int
	AuditService    string
	AuditEntity     string

	ClientID, ClientSecret string
	TokenTTL               time.Duration
	MediaURLTTL            time.Duration
	MediaURLPerRequest     bool
	MediaURLLife           time.Duration
	MediaExpiredAnswer     string
	MediaNoSHA256          bool
	MediaNoSize            bool
	MediaShort             int

	RateLimit           int
	ClientRateLimit     int
	ExtraClients        int
	LimitsForbidden     bool
	RecordingsForbidden bool
	AuditsForbidden     bool
	RecordingsOwnIDs    bool
	LegacyHeaders       bool
	EndpointLimits      []string
	DailyLimit          int
	DailyRetryAfter     time.Duration
	Faults              string
	FaultSeed           int64

	JobDelay, AuditDelay, RecordingJobDelay time.Duration
	QueryMaxPageSize                        int
	JobPageSize, JobMaxPageSize             int
	QueryMaxInterval                        time.Duration
	Lenient                                 bool

	ExportTo     string
	s3           s3store.Options // how --export-to s3://… is reached
	ExportShape  string
	ExportDamage string
	Manifest     string
}

func (o *simServeOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "listen address (port 0: a free port)")
	fs.IntVar(&o.Conversations, "conversations", 1000, "number of generated conversations")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the generated org: same seed, same org, ids, credentials and faults")
	fs.StringVar(&o.Start, "start", sim.DefaultStart.Format("2006-01-02"), "first day of conversation starts (YYYY-MM-DD or RFC 3339)")
	fs.StringVar(&o.End, "end", sim.DefaultEnd.Format("2006-01-02"), "end of conversation starts, exclusive (YYYY-MM-DD or RFC 3339)")
	fs.Float64Var(&o.LegalHoldShare, "legal-hold-share", 0.02, "share of conversations under recording deletion protection (a quarter of that share more had a hold applied, then revoked)")
	fs.Float64Var(&o.OtherMediaShare, "other-media-share", 0.1, "share of conversations that are SMS, web messaging or voice")
	fs.IntVar(&o.Agents, "agents", 24, "number of agents")
	fs.StringVar(&o.AuditService, "audit-service", sim.DefaultAuditServiceName, auditServiceUsage)
	deprecatedAlias(fs, "audit-service-name", "audit-service")
	fs.StringVar(&o.AuditEntity, "audit-entity", sim.AuditEntityConversation, "what protection audit entries name as their entity: conversation, recording (the conversation only in context) or recording-bare (the conversation nowhere)")
	fs.StringVar(&o.ClientID, "client-id", "", "OAuth client id (default: derived from --seed)")
	fs.StringVar(&o.ClientSecret, "client-secret", "", "OAuth client secret (default: derived from --seed)")
	daysDurationVar(fs, &o.TokenTTL, "token-ttl", sim.DefaultTokenTTL, "lifetime of access tokens (expires_in); days (1d) or a Go duration (90m)")
	fs.StringVar(&o.MediaExpiredAnswer, "media-expired-answer", sim.MediaExpiredRequest, "how the media host refuses an url past its expiry: "+strings.Join(sim.MediaExpiredAnswers, ", ")+" (Genesys documents none; the others are S3's and CloudFront's answers)")
	fs.BoolVar(&o.MediaURLPerRequest, "media-url-per-request", false, "sign attachment urls afresh in every response (a signing time in the url, as S3's X-Amz-Date), so a message read twice differs in its url")
	daysDurationVar(fs, &o.MediaURLLife, "media-url-life", 0, "also end each attachment url this long after it is served (a pre-signed url's own life; implies --media-url-per-request), days (7d) or a Go duration (15m); 0: only --media-url-ttl ends them")
	fs.BoolVar(&o.MediaNoSHA256, "media-no-sha256", false, "serve messages without attachment.sha256 (optional in Genesys's model): a client checks downloads against contentSizeBytes and mime alone")
	fs.BoolVar(&o.MediaNoSize, "media-no-size", false, "serve messages without attachment.contentSizeBytes (optional in Genesys's model)")
	fs.IntVar(&o.MediaShort, "media-short", 0, "serve the first N downloads of each attachment cut to half its bytes, with a Content-Length that says so (0: none)")
	daysDurationVar(fs, &o.MediaURLTTL, "media-url-ttl", sim.DefaultMediaURLTTL, "how long attachment urls stay valid after their message's time, as Genesys's expire 30 days after it: days (30d) or a Go duration (720h); 0: never")
	fs.IntVar(&o.RateLimit, "rate-limit", sim.DefaultRateLimit, "requests per minute per token (0: off)")
	fs.IntVar(&o.ClientRateLimit, "client-rate-limit", 0, "requests per minute per OAuth client, all its tokens together (Genesys's org.app.user.rate.per.minute, 3000 there; 0: off)")
	fs.StringVar(&o.ReadyFile, "ready-file", "", "also write the ready line to this file (mode 0600: it holds the client secret), before printing it; e.g. for jq in another terminal")
	fs.IntVar(&o.ExtraClients, "extra-clients", 0, "more OAuth clients of the org, each limited apart (listed in the ready line's clients)")
	fs.BoolVar(&o.LimitsForbidden, "limits-forbidden", false, "answer 403 to the org limits endpoint, as to a client without limits:organization:view")
	fs.BoolVar(&o.RecordingsForbidden, "recordings-forbidden", false, "answer 403 to conversations' recordings, as to a client without recording:recording:view")
	fs.BoolVar(&o.AuditsForbidden, "audits-forbidden", false, "answer 403 to audit queries, as to a client without audits:audit:view")
	fs.BoolVar(&o.RecordingsOwnIDs, "recordings-own-ids", false, "name messages and attachments in conversations' recordings with ids of the Recordings service's own, not the messages API's (Genesys documents no identity between them)")
	fs.BoolVar(&o.LegacyHeaders, "legacy-ratelimit-headers", false, "send the inin-ratelimit-* headers Genesys removed in 2021")
	fs.StringArrayVar(&o.EndpointLimits, "endpoint-limit", nil, `per-route limit, requests per minute per token: "POST /api/v2/audits/query=60" (repeatable)`)
	fs.IntVar(&o.DailyLimit, "daily-limit", 0, "API requests allowed per 24 hours (0: no daily limit)")
	fs.DurationVar(&o.DailyRetryAfter, "daily-retry-after", sim.DefaultDailyRetryAfter, "Retry-After of daily-limit 429s")
	fs.StringVar(&o.Faults, "faults", "", `fault spec, e.g. "5xx=0.05,reset=0.01,truncate=0.01,slow=0.01:2s,revoke@200,jobfail@1,404=0.001" (see docs/sim.md)`)
	fs.Int64Var(&o.FaultSeed, "fault-seed", 0, "seed of fault decisions (default: --seed)")
	fs.DurationVar(&o.JobDelay, "job-delay", 2*time.Second, "time an analytics job takes to be FULFILLED")
	fs.DurationVar(&o.AuditDelay, "audit-delay", time.Second, "time an audit query takes to succeed")
	fs.DurationVar(&o.RecordingJobDelay, "recording-job-delay", time.Second, "time a recording job takes to be READY")
	fs.IntVar(&o.QueryMaxPageSize, "query-max-page-size", sim.DefaultQueryMaxPageSize, "largest pageSize of the synchronous details query")
	fs.IntVar(&o.JobPageSize, "job-page-size", sim.DefaultJobPageSize, "default pageSize of analytics job results (at most --job-max-page-size)")
	fs.IntVar(&o.JobMaxPageSize, "job-max-page-size", sim.DefaultJobMaxPageSize, "largest pageSize of analytics job results; above it a 400 (Genesys documents none)")
	daysDurationVar(fs, &o.QueryMaxInterval, "query-max-interval", sim.DefaultQueryMaxInterval, "longest interval of the synchronous details query: days (31d) or a Go duration (744h)")
	fs.BoolVar(&o.Lenient, "lenient-bodies", false, "accept request bodies with unknown fields (default: 400)")
	fs.StringVar(&o.ExportTo, "export-to", "", "where recording EXPORT jobs write: a folder (made at startup if missing; one that cannot be written is an error then) or s3://bucket/prefix (default: jobs fail)")
	o.s3.AddFlags(fs)
	fs.StringVar(&o.ExportShape, "export-shape", recexport.ShapeGenesys, "export layout: genesys (the S3 layout) or reshape (a customer pipeline's)")
	fs.StringVar(&o.ExportDamage, "export-damage", "default", "damage done by exports: default (a mix of every kind) or clean")
	fs.StringVar(&o.Manifest, "manifest", "", "ground-truth manifest of each export (default: DIR.manifest.json beside a folder target; none for S3)")
}

func newSimCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the built-in Genesys Cloud simulator",
		Long: `The simulator serves the subset of the Genesys Cloud Platform API that
custody uses, on loopback, from a generated org: WhatsApp and other
conversations, legal holds with their audit trail, and Recording API bulk
exports. See docs/sim.md.

Examples:
  custody sim serve
  custody sim serve --conversations 500 --seed 3
  custody sim tsa --root-out tsa-root.pem
` + exitStatus(exit0, exit2),
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSimServeCommand(g), newSimTSACommand(g))
	return cmd
}

func newSimServeCommand(g *globalOptions) *cobra.Command {
	o := &simServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a generated Genesys Cloud org on loopback",
		Long: `Serve starts the simulator and, once it accepts requests, prints one JSON
line on stdout:

  {"api_url":…,"login_url":…,"client_id":…,"client_secret":…,"org_id":…}

then serves until interrupted: Ctrl-C or SIGTERM stops it, exit 0, after
a graceful shutdown (requests still open after 5 s are cut, and a
warning says so). A Ctrl-C or SIGTERM before that line — while it makes
the org or opens an s3:// --export-to — cancels it: exit 130, nothing
served. Login and API listen on different ports, as login.{domain} and
api.{domain} are different hosts: give clients both.

The org is generated from --seed: the same seed gives the same
conversations, ids, client credentials and (with --faults) the same faults
for the same sequence of requests. GET /sim/stats (no auth) counts requests,
429s and faults by route.

Recording EXPORT jobs write the Genesys S3 layout (or a customer reshape)
to --export-to, with the damage old exports do, and a ground-truth
manifest of that damage to --manifest.

Examples:
  custody sim serve --conversations 5000 --seed 7
  custody sim serve --rate-limit 0 --faults 5xx=0.05,reset=0.01,revoke@200
  custody sim serve --export-to /tmp/old-export --export-shape reshape
` + exitStatus(`0    stopped by Ctrl-C or SIGTERM once serving (also when requests
       still open were cut)`, exit1, exit2,
			`130  cancelled (Ctrl-C or SIGTERM) before it served: before the JSON
       line, while it made the org or opened an s3:// --export-to`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimServe(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// parseDay accepts YYYY-MM-DD or RFC 3339.
func parseDay(flag, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, usageError("--%s: want YYYY-MM-DD or RFC 3339, not %q", flag, s)
	}
	return t, nil
}

func (o *simServeOptions) options(ctx context.Context) (sim.Options, error) {
	if o.Conversations < 0 {
		return sim.Options{}, usageError("--conversations must not be negative")
	}
	if err := checkListenAddr(o.Addr); err != nil {
		return sim.Options{}, err
	}
	// Values the simulator would replace by its defaults, or that mean
	// nothing, rather than take as given.
	if o.Agents < 1 {
		return sim.Options{}, usageError("--agents must be at least 1, not %d", o.Agents)
	}
	for name, d := range map[string]time.Duration{"token-ttl": o.TokenTTL, "daily-retry-after": o.DailyRetryAfter, "query-max-interval": o.QueryMaxInterval} {
		if d <= 0 {
			return sim.Options{}, usageError("--%s must be positive, not %v", name, d)
		}
	}
	for name, d := range map[string]time.Duration{"job-delay": o.JobDelay, "audit-delay": o.AuditDelay, "recording-job-delay": o.RecordingJobDelay} {
		if d < 0 {
			return sim.Options{}, usageError("--%s must not be negative, not %v", name, d)
		}
	}
	if o.QueryMaxPageSize < 1 {
		return sim.Options{}, usageError("--query-max-page-size must be at least 1, not %d", o.QueryMaxPageSize)
	}
	start, err := parseDay("start", o.Start)
	if err != nil {
		return sim.Options{}, err
	}
	end, err := parseDay("end", o.End)
	if err != nil {
		return sim.Options{}, err
	}
	if !end.After(start) {
		return sim.Options{}, usageError("--end must be after --start")
	}
	for name, v := range map[string]float64{"legal-hold-share": o.LegalHoldShare, "other-media-share": o.OtherMediaShare} {
		if v < 0 || v > 1 {
			return sim.Options{}, usageError("--%s must be between 0 and 1, not %v", name, v)
		}
	}
	if o.RateLimit < 0 || o.DailyLimit < 0 || o.ClientRateLimit < 0 {
		return sim.Options{}, usageError("--rate-limit, --client-rate-limit and --daily-limit must not be negative")
	}
	if err := checkAuditService(o.AuditService); err != nil {
		return sim.Options{}, err
	}
	if !slices.Contains(sim.AuditEntities, o.AuditEntity) {
		return sim.Options{}, usageError("--audit-entity must be one of %s, not %q", strings.Join(sim.AuditEntities, ", "), o.AuditEntity)
	}
	if o.JobPageSize < 1 || o.JobMaxPageSize < 1 {
		return sim.Options{}, usageError("--job-page-size and --job-max-page-size must be at least 1")
	}
	if o.ExtraClients < 0 || o.ExtraClients > 64 {
		return sim.Options{}, usageError("--extra-clients must be 0 to 64, not %d", o.ExtraClients)
	}
	if o.MediaURLLife < 0 {
		return sim.Options{}, usageError("--media-url-life must not be negative (0: off)")
	}
	if !slices.Contains(sim.MediaExpiredAnswers, o.MediaExpiredAnswer) {
		return sim.Options{}, usageError("--media-expired-answer must be one of %s, not %q", strings.Join(sim.MediaExpiredAnswers, ", "), o.MediaExpiredAnswer)
	}
	if o.MediaShort < 0 {
		return sim.Options{}, usageError("--media-short must not be negative (0: off)")
	}
	if o.MediaURLTTL < 0 {
		return sim.Options{}, usageError("--media-url-ttl must not be negative (0: urls never expire)")
	}
	if _, err := sim.ParseFaults(o.Faults); err != nil {
		return sim.Options{}, usageError("--faults: %v", err)
	}
	limits := map[string]int{}
	for _, l := range o.EndpointLimits {
		route, n, ok := strings.Cut(l, "=")
		pm, err := strconv.Atoi(n)
		if !ok || err != nil || pm <= 0 || !strings.Contains(route, " /") {
			return sim.Options{}, usageError(`--endpoint-limit %q: want "METHOD /path/pattern=N"`, l)
		}
		limits[route] = pm
	}
	opts := sim.Options{
		OrgConfig: sim.OrgConfig{
			Seed: o.Seed, Conversations: o.Conversations, Start: start, End: end,
			LegalHoldShare: o.LegalHoldShare, OtherMediaShare: o.OtherMediaShare, Agents: o.Agents,
			AuditServiceName: o.AuditService, AuditEntity: o.AuditEntity,
		},
		Addr:     o.Addr,
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenTTL: o.TokenTTL,
		MediaURLTTL:        o.MediaURLTTL,
		MediaURLPerRequest: o.MediaURLPerRequest,
		MediaURLLife:       o.MediaURLLife,
		MediaExpiredAnswer: o.MediaExpiredAnswer,
		MediaNoSHA256:      o.MediaNoSHA256,
		MediaNoSize:        o.MediaNoSize,
		MediaShort:         o.MediaShort,
		RecordingsOwnIDs:   o.RecordingsOwnIDs,
		ClientRateLimit:    o.ClientRateLimit, ExtraClients: o.ExtraClients, LimitsForbidden: o.LimitsForbidden, RecordingsForbidden: o.RecordingsForbidden, AuditsForbidden: o.AuditsForbidden,
		RateLimit: o.RateLimit, LegacyRateLimitHeaders: o.LegacyHeaders, EndpointLimits: limits, DailyLimit: o.DailyLimit, DailyRetryAfter: o.DailyRetryAfter,
		Faults: o.Faults, FaultSeed: o.FaultSeed,
		JobDelay: o.JobDelay, AuditDelay: o.AuditDelay, RecordingJobDelay: o.RecordingJobDelay,
		QueryMaxPageSize: o.QueryMaxPageSize, QueryMaxInterval: o.QueryMaxInterval,
		JobPageSize: o.JobPageSize, JobMaxPageSize: o.JobMaxPageSize,
		LenientBodies: o.Lenient,
	}
	if o.ExportTo != "" {
		exp, err := o.exporter(ctx)
		if err != nil {
			return sim.Options{}, err
		}
		opts.RecordingExporter = exp
	}
	return opts, nil
}

func (o *simServeOptions) exporter(ctx context.Context) (*recexport.Exporter, error) {
	var profile recexport.Profile
	switch o.ExportShape {
	case recexport.ShapeGenesys, recexport.ShapeReshape:
	default:
		return nil, usageError("--export-shape must be %s or %s, not %q", recexport.ShapeGenesys, recexport.ShapeReshape, o.ExportShape)
	}
	switch o.ExportDamage {
	case "default":
		profile = recexport.DefaultProfile(o.ExportShape, uint64(o.Seed))
	case "clean":
		profile = recexport.CleanProfile(o.ExportShape, uint64(o.Seed))
	default:
		return nil, usageError("--export-damage must be default or clean, not %q", o.ExportDamage)
	}
	// OpenTarget reads only a lower-case "s3://" as S3.
	if strings.HasPrefix(o.ExportTo, s3util.Scheme) {
		if err := badS3Location(o.ExportTo); err != nil {
			return nil, usageError("sim serve: --export-to %s: %v", o.ExportTo, err)
		}
	}
	target, err := recexport.OpenTarget(ctx, o.ExportTo, o.s3.Config())
	if err != nil {
		return nil, fmt.Errorf("sim serve: --export-to: %w", err)
	}
	// A folder is made now if it is not there, and must take a file, as
	// the manifest's folder must (checked first: it is most often the
	// folder's parent): refused now, not when a job fails.
	if target.Dir != "" {
		if fi, err := os.Stat(target.Dir); err == nil && !fi.IsDir() {
			return nil, usageError("sim serve: --export-to %s: not a folder", o.ExportTo)
		}
	}
	manifest := o.Manifest
	if manifest == "" && target.Dir != "" {
		manifest = filepath.Clean(target.Dir) + ".manifest.json"
	}
	if manifest != "" {
		if err := recexport.CheckFolder(filepath.Dir(manifest)); err != nil {
			if o.Manifest == "" {
				return nil, fmt.Errorf("sim serve: --export-to %s: the ground-truth manifest beside it, %s (--manifest names another): %w", o.ExportTo, manifest, err)
			}
			return nil, fmt.Errorf("sim serve: --manifest %s: %w", manifest, err)
		}
	}
	if target.Dir != "" {
		if err := recexport.CheckFolder(target.Dir); err != nil {
			return nil, fmt.Errorf("sim serve: --export-to %s: %w", o.ExportTo, err)
		}
	}
	return &recexport.Exporter{Target: target, Profile: profile, ManifestPath: manifest}, nil
}

// checkListenAddr refuses an --addr that is not HOST:PORT as the flag's
// value (a usage error), not later as a failure to listen (exit 1).
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return usageError("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8080 (port 0: a free one)", addr)
	}
	return nil
}

// simReady is the line 'sim serve' prints once it accepts requests.
type simReady struct {
	APIURL       string `json:"api_url"`
	LoginURL     string `json:"login_url"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	OrgID        string `json:"org_id"`
	// Clients are the --extra-clients, for 'custody export --credentials'.
	Clients []simClient `json:"clients,omitempty"`
}

type simClient struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func runSimServe(ctx context.Context, o *simServeOptions, g *globalOptions) error {
	opts, err := o.options(ctx)
	if err != nil {
		return err
	}
	opts.Logger = g.log
	srv, err := sim.Start(context.Background(), opts)
	if err != nil {
		return fmt.Errorf("sim serve: %w", err)
	}
	if ctx.Err() != nil {
		// Ctrl-C while it made the org (or opened --export-to, which
		// does not always notice): it never served, so it is cancelled
		// (130), not stopped.
		_ = srv.Close()
		return cancelledSaying(errors.New("sim serve: cancelled before it served (Ctrl-C or SIGTERM)"))
	}
	ready := simReady{APIURL: srv.APIURL, LoginURL: srv.LoginURL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, OrgID: srv.OrgID}
	for _, c := range srv.Clients[1:] {
		ready.Clients = append(ready.Clients, simClient{ClientID: c.ID, ClientSecret: c.Secret})
	}
	line, _ := json.Marshal(ready)
	if o.ReadyFile != "" {
		// Written whole before the line is printed, so whoever waits for
		// the line finds the file complete.
		if err := writeReadyFile(o.ReadyFile, append(line, '\n')); err != nil {
			_ = srv.Close()
			return fmt.Errorf("sim serve: --ready-file: %w", err)
		}
	}
	if _, err := fmt.Fprintf(g.stdout, "%s\n", line); err != nil {
		_ = srv.Close()
		return fmt.Errorf("sim serve: %w", err)
	}
	if f, ok := g.stdout.(*os.File); ok {
		_ = f.Sync()
	}
	g.log.Info("simulator ready", "api_url", srv.APIURL, "conversations", srv.Org.Len(), "rate_limit", opts.RateLimit, "faults", opts.Faults)
	select {
	case <-ctx.Done():
	case <-srv.Done():
		return fmt.Errorf("sim serve: the server stopped unexpectedly")
	}
	g.log.Info("simulator shutting down")
	return stopServer(g, "sim serve", srv.Shutdown, nil)
}

// writeReadyFile replaces file with data, mode 0600, through a temporary
// file renamed into place (a reader never sees half a line).
func writeReadyFile(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".ready-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
