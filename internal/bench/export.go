package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
)

// Config of an export benchmark.
type Config struct {
	Conversations int    // conversations in the simulated org (some are not WhatsApp)
	RateLimit     int    // the simulator's limit, requests per minute per token
	Faults        string // simulator fault spec, for both methods
	Seed          int64  // org seed
	Concurrency   int    // custody's workers
	SkipNaive     bool   // measure custody only
	// Clients are the numbers of OAuth clients to measure custody with,
	// each against a fresh simulator with that many clients, each limited
	// to RateLimit apart ([1] when empty).
	Clients []int
	Dir     string // work folder: each run in a subfolder of its own (run-I-clients-N); a temp dir, removed after the last run, when empty
	// JSSDK is the folder holding the official Genesys JavaScript SDK's
	// node_modules: when set, the SDK export script runs (JSSDKWorkers
	// workers, 8 when 0) on a fresh simulator of the same org and faults,
	// after custody, as a "js-sdk" row. Run fails with ErrNoJSSDK when node
	// or the SDK is missing; callers check JSSDKAvailable first.
	JSSDK        string
	JSSDKWorkers int
	// JSSDKComplete adds a "js-sdk-complete" row: the same script told to
	// lose nothing (every call retried), on another fresh simulator.
	JSSDKComplete bool
	Log           *slog.Logger
}

// Row is one method's measurements.
type Row struct {
	Method        string
	Conversations int           // conversations to capture
	Requests      int64         // every API request the simulator counted (token requests and media downloads excluded)
	Listing       int64         // of which: listing (analytics jobs)
	TooMany       int64         // 429 answers
	Lost          int           // conversations not captured
	Wall          time.Duration // wall time
	Limit         int           // requests per minute allowed, per client
	Clients       int           // OAuth clients sharing the work (each with Limit)
	Setup         int64         // of Requests: run setup (the org limits read), neither listing nor capture
	JobDelay      time.Duration // the simulator's fixed delay of the listing job
	Messages      int           // messages captured (custody) or received (js-sdk); 0 for naive, which does not count them
	// MessagesLost is, for the js-sdk row, the messages custody captured
	// (first custody row) that the SDK did not receive; for custody, the
	// org's messages it did not capture.
	MessagesLost int
}

// budget is the requests a minute the run could spend: Limit per client.
func (r Row) budget() float64 { return float64(r.Limit) * float64(max(r.Clients, 1)) }

// PhysicalLimit is the least wall time the rate limits allow for the
// requests the run made: those beyond the initial allowance (each
// client's bucket starts with a minute's worth) at the budget, plus the
// simulator's fixed delay of the listing job, which nothing can overlap.
func (r Row) PhysicalLimit() time.Duration {
	beyond := float64(r.Requests) - r.budget()
	if beyond < 0 {
		beyond = 0
	}
	return time.Duration(beyond/r.budget()*float64(time.Minute)) + r.JobDelay
}

// OverLimit is wall time ÷ the physical limit (1.0: as fast as the
// limits allow).
func (r Row) OverLimit() float64 {
	l := r.PhysicalLimit()
	if l <= 0 {
		return 0
	}
	return r.Wall.Seconds() / l.Seconds()
}

// PerConversation is requests per conversation, listing excluded.
func (r Row) PerConversation() float64 {
	if r.Conversations == 0 {
		return 0
	}
	return float64(r.Requests-r.Listing-r.Setup) / float64(r.Conversations)
}

// Budget is the share of the rate-limit budget used: requests ÷ (limit × wall).
func (r Row) Budget() float64 {
	allowed := r.budget() / 60 * r.Wall.Seconds()
	if allowed == 0 {
		return 0
	}
	return float64(r.Requests) / allowed
}

// Allowance is the share of what the server granted that was used:
// requests ÷ (limit + limit × wall/60 s), the simulator's bucket starting
// full with a minute's worth and refilling at the limit. Unlike Budget it
// cannot pass 100 % without 429s; a run shorter than it takes to spend the
// first minute's worth cannot reach it either.
func (r Row) Allowance() float64 {
	granted := r.budget() * (1 + r.Wall.Minutes())
	if granted == 0 {
		return 0
	}
	return float64(r.Requests) / granted
}

// TooManyPerMinute is 429 answers per minute of wall time.
func (r Row) TooManyPerMinute() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.TooMany) / r.Wall.Minutes()
}

// TooManyShare is the share of requests answered 429.
func (r Row) TooManyShare() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.TooMany) / float64(r.Requests)
}

// listingRoutes are the requests that list conversations, not capture them.
var listingRoutes = []string{
	"POST /api/v2/analytics/conversations/details/jobs",
	"GET /api/v2/analytics/conversations/details/jobs/{jobId}",
	"GET /api/v2/analytics/conversations/details/jobs/{jobId}/results",
	"DELETE /api/v2/analytics/conversations/details/jobs/{jobId}",
}

// count sums the simulator's counters between two snapshots: API
// requests only, since neither token requests nor media downloads (a
// pre-signed URL on another host) count against the API rate limit.
func count(before, after sim.Stats) (requests, listing, setup, tooMany int64) {
	for route, a := range after.Routes {
		b := before.Routes[route]
		n := a.Requests - b.Requests
		if strings.Contains(route, "/oauth/token") || strings.Contains(route, "/sim/media/") {
			continue
		}
		requests += n
		tooMany += a.RateLimited - b.RateLimited
		for _, l := range listingRoutes {
			if route == l {
				listing += n
			}
		}
		if route == sim.LimitsRoute {
			setup += n
		}
	}
	return requests, listing, setup, tooMany
}

// jobDelay is the simulator's fixed analytics job delay in the benchmark.
const jobDelay = 500 * time.Millisecond

// Run measures custody's export once per Config.Clients entry, each
// against a fresh simulator, and, unless SkipNaive, the naive method on
// the first one's simulator after custody.
func Run(ctx context.Context, cfg Config) ([]Row, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	clients := cfg.Clients
	if len(clients) == 0 {
		clients = []int{1}
	}
	for _, n := range clients {
		if n < 1 {
			return nil, fmt.Errorf("bench: %d clients: want at least 1", n)
		}
	}
	if cfg.Dir == "" {
		// One folder for every run, removed when all have run: a run's
		// folder removed before the next run starts would slow that run
		// down on ext4 without a journal, whose inode allocator walks past
		// the inodes deleted in the last minutes (docs/benchmarks.md), and
		// make the speed-up column measure the file system.
		dir, err := os.MkdirTemp("", "custody-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	var rows []Row
	for i, n := range clients {
		row, naive, err := runOnce(ctx, cfg, filepath.Join(cfg.Dir, fmt.Sprintf("run-%d-clients-%d", i+1, n)), n, i == 0 && !cfg.SkipNaive)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
		if naive != nil {
			rows = append(rows, *naive)
		}
	}
	if cfg.JSSDK != "" {
		modes := []bool{false}
		if cfg.JSSDKComplete {
			modes = append(modes, true)
		}
		for _, complete := range modes {
			srv, interval, err := startSim(ctx, cfg, 1)
			if err != nil {
				return nil, err
			}
			row, err := runJSSDK(ctx, cfg, srv, interval, complete)
			srv.Close()
			if err != nil {
				return nil, err
			}
			row.MessagesLost = max(rows[0].Messages-row.Messages, 0)
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// benchStart is the start of the benchmark org's conversations.
var benchStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// startSim starts a fresh simulator of cfg's org with n clients and
// returns it with the export interval.
func startSim(ctx context.Context, cfg Config, n int) (*sim.Server, string, error) {
	start := benchStart
	end := start.AddDate(0, 0, 14)
	srv, err := sim.Start(ctx, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: cfg.Seed, Conversations: cfg.Conversations, Start: start, End: end, LegalHoldShare: 0.1, OtherMediaShare: 0.2},
		RateLimit: cfg.RateLimit, Faults: cfg.Faults, ExtraClients: n - 1,
		JobDelay: jobDelay, AuditDelay: 500 * time.Millisecond,
	})
	if err != nil {
		return nil, "", err
	}
	return srv, start.Format(time.RFC3339) + "/" + end.Add(96*time.Hour).Format(time.RFC3339), nil
}

// runOnce measures custody with n clients on a fresh simulator, its
// ledger and evidence in dir (new), and, when naive, the naive method
// after it on the same simulator.
func runOnce(ctx context.Context, cfg Config, dir string, n int, naive bool) (Row, *Row, error) {
	srv, interval, err := startSim(ctx, cfg, n)
	if err != nil {
		return Row{}, nil, err
	}
	defer srv.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Row{}, nil, err
	}

	// custody
	l, key, err := ledger.Create(ctx, filepath.Join(dir, "bench.db"), "bench", ledger.Options{})
	if err != nil {
		return Row{}, nil, err
	}
	defer l.Close()
	store, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		return Row{}, nil, err
	}
	defer store.Close()
	var more []fetch.Credentials
	for _, c := range srv.Clients[1:] {
		more = append(more, fetch.Credentials{ID: c.ID, Secret: c.Secret})
	}
	client, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Clients: more, APIURL: srv.APIURL, LoginURL: srv.LoginURL,
		Rate: float64(cfg.RateLimit), Logger: cfg.Log})
	if err != nil {
		return Row{}, nil, err
	}
	defer client.CloseIdleConnections()
	before := srv.Stats()
	t0 := time.Now()
	acct, err := export.Run(ctx, export.Deps{Client: client, Ledger: l, Evidence: store}, export.Options{
		Scope: export.Scope{Matter: "bench", Interval: interval,
			MediaType: "message", MessageType: "whatsapp"},
		Concurrency: cfg.Concurrency, SignerKey: key, Log: cfg.Log,
	})
	if err != nil {
		return Row{}, nil, fmt.Errorf("bench: custody export (%d clients): %w", n, err)
	}
	wall := time.Since(t0)
	req, listing, setup, tooMany := count(before, srv.Stats())
	captured := acct.MessagesAppended + acct.MessagesUnchanged + acct.MessagesChanged
	row := Row{Method: "custody", Conversations: acct.Listed, Requests: req, Listing: listing, Setup: setup, TooMany: tooMany,
		Lost: acct.Listed - acct.Exported, Wall: wall, Limit: cfg.RateLimit, Clients: n, JobDelay: jobDelay,
		Messages: captured, MessagesLost: max(expectedMessages(srv.Org)-captured-acct.MessagesGone, 0)}
	if !naive {
		return row, nil, nil
	}

	// naive, on the same conversations, with the first client
	var ids []string
	for i := range srv.Org.Len() {
		c, _ := srv.Org.Conversation(srv.Org.ConversationID(i))
		if c.MessageType == "whatsapp" {
			ids = append(ids, c.ID)
		}
	}
	nv := &Naive{APIURL: srv.APIURL, LoginURL: srv.LoginURL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret}
	before = srv.Stats()
	res, err := nv.Run(ctx, ids)
	if err != nil {
		return Row{}, nil, fmt.Errorf("bench: naive: %w", err)
	}
	req, listing, setup, tooMany = count(before, srv.Stats())
	return row, &Row{Method: "naive", Conversations: res.Conversations, Requests: req, Listing: listing, Setup: setup, TooMany: tooMany,
		Lost: res.Lost, Wall: res.Wall, Limit: cfg.RateLimit, Clients: 1}, nil
}

// SpeedUp is the first custody row's wall time ÷ r's (0 when r is not a
// custody row or there is none).
func SpeedUp(rows []Row, r Row) float64 {
	if r.Method != "custody" {
		return 0
	}
	for _, b := range rows {
		if b.Method == "custody" && r.Wall > 0 {
			return b.Wall.Seconds() / r.Wall.Seconds()
		}
	}
	return 0
}

// OverJSSDK is a custody row's wall time ÷ the js-sdk row's (0 when r is
// not a custody row or there is no js-sdk row).
func OverJSSDK(rows []Row, r Row) float64 { return over(rows, r, MethodJSSDK) }

// OverJSSDKComplete is a custody row's wall time ÷ the js-sdk-complete
// row's: against an SDK export that, like custody, loses nothing.
func OverJSSDKComplete(rows []Row, r Row) float64 { return over(rows, r, MethodJSSDKComplete) }

// over is a custody row's wall time ÷ that of the first row of method.
func over(rows []Row, r Row, method string) float64 {
	if r.Method != "custody" {
		return 0
	}
	for _, b := range rows {
		if b.Method == method && b.Wall > 0 {
			return r.Wall.Seconds() / b.Wall.Seconds()
		}
	}
	return 0
}

// PrintTable writes the rows and, when there is a naive row, the ratio of
// it to the first custody row.
func PrintTable(w io.Writer, cfg Config, rows []Row) {
	fmt.Fprintf(w, "export benchmark: %d conversations in the org, limit %d requests/min per client, faults %q\n", cfg.Conversations, cfg.RateLimit, cfg.Faults)
	fmt.Fprintf(w, "physical limit: requests beyond the initial allowance (a minute's worth per client) at the budget, plus the %s listing job delay\n", jobDelay)
	dir := cfg.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	fs := FileSystem(dir)
	fmt.Fprintf(w, "work folder (ledger, evidence): %s, on %s\n", dir, fs)
	if note := fsNote(fs); note != "" {
		fmt.Fprintf(w, "note: %s\n", note)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tclients\tconversations\trequests\tlisting\treq/conv\tbudget used\tallowance used\t429s\t429 share\t429/min\tlost\twall\tphysical limit\twall/limit\tspeed-up\tmessages\tmsgs lost\twall/js-sdk\twall/complete\t")
	for _, r := range rows {
		sp := "-"
		if v := SpeedUp(rows, r); v > 0 {
			sp = fmt.Sprintf("%.2fx", v)
		}
		msgs, mlost, sdk, sdkc := "-", "-", "-", "-"
		if r.Method != "naive" {
			msgs, mlost = strconv.Itoa(r.Messages), strconv.Itoa(r.MessagesLost)
		}
		if v := OverJSSDK(rows, r); v > 0 {
			sdk = fmt.Sprintf("%.2fx", v)
		}
		if v := OverJSSDKComplete(rows, r); v > 0 {
			sdkc = fmt.Sprintf("%.2fx", v)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.3f\t%.1f%%\t%.1f%%\t%d\t%.2f%%\t%.2f\t%d\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t\n", r.Method, max(r.Clients, 1), r.Conversations, r.Requests, r.Listing,
			r.PerConversation(), 100*r.Budget(), 100*r.Allowance(), r.TooMany, 100*r.TooManyShare(), r.TooManyPerMinute(), r.Lost, r.Wall.Round(10*time.Millisecond),
			r.PhysicalLimit().Round(10*time.Millisecond), r.OverLimit(), sp, msgs, mlost, sdk, sdkc)
	}
	var c, n *Row
	for i := range rows {
		switch {
		case rows[i].Method == "custody" && c == nil:
			c = &rows[i]
		case rows[i].Method == "naive" && n == nil:
			n = &rows[i]
		}
	}
	if c != nil && n != nil {
		ratio := func(a, b float64) string {
			if b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", a/b)
		}
		fmt.Fprintf(tw, "naive/custody\t\t\t%s\t\t%s\t%s\t%s\t%s\t\t%s\t%s\t%s\t\t\t\t\t\n", ratio(float64(n.Requests), float64(c.Requests)),
			ratio(n.PerConversation(), c.PerConversation()), ratio(n.Budget(), c.Budget()), ratio(n.Allowance(), c.Allowance()),
			ratio(float64(n.TooMany), float64(c.TooMany)), ratio(n.TooManyPerMinute(), c.TooManyPerMinute()),
			ratio(float64(n.Lost), float64(c.Lost)), ratio(n.Wall.Seconds(), c.Wall.Seconds()))
	}

	tw.Flush()
	for _, r := range rows {
		if r.Method == MethodJSSDK {
			workers := cfg.JSSDKWorkers
			if workers < 1 {
				workers = 8
			}
			fmt.Fprintf(w, "\njs-sdk: the official Genesys JavaScript SDK, %d workers, on a fresh simulator of the same org and faults;\nits msgs lost are messages custody captured that it did not receive; wall/js-sdk is custody's wall ÷ its wall\n", workers)
			if cfg.JSSDKComplete {
				fmt.Fprintf(w, "js-sdk-complete: the same script told to lose nothing, as custody must (every call retried on a 5xx, a reset\nor a truncated body with jittered backoff, ten tries; a 429 after Retry-After, a hundred); wall/complete is custody's wall ÷ its wall\n")
			}
			break
		}
	}
}

// fsExt4NoJournal is FileSystem's name for ext4 without a journal, the
// one file system fsNote warns of.
const fsExt4NoJournal = "ext4 (no journal)"

// fsNote is what a reader of the table should know about the work
// folder's file system, or "".
func fsNote(fs string) string {
	if fs == fsExt4NoJournal {
		// Measured: 1.6× the wall of a first run on the same file system
		// (docs/benchmarks.md, "file system by file system").
		return "ext4 without a journal makes each new file skip the inodes deleted in the last 1 – 6 minutes, so a run soon after another (or after any large delete) is slower; set TMPDIR to tmpfs or a journaled file system, or wait, to compare"
	}
	return ""
}
