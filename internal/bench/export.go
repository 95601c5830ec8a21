package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
	Dir           string // work folder (ledger, evidence); a temp dir when empty
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
	Limit         int           // requests per minute allowed
}

// PerConversation is requests per conversation, listing excluded.
func (r Row) PerConversation() float64 {
	if r.Conversations == 0 {
		return 0
	}
	return float64(r.Requests-r.Listing) / float64(r.Conversations)
}

// Budget is the share of the rate-limit budget used: requests ÷ (limit × wall).
func (r Row) Budget() float64 {
	allowed := float64(r.Limit) / 60 * r.Wall.Seconds()
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
	granted := float64(r.Limit) * (1 + r.Wall.Minutes())
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
func count(before, after sim.Stats) (requests, listing, tooMany int64) {
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
	}
	return requests, listing, tooMany
}

// Run measures custody's export and, unless SkipNaive, the naive method,
// against one simulator at the same limit, one after the other.
func Run(ctx context.Context, cfg Config) ([]Row, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 14)
	srv, err := sim.Start(ctx, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: cfg.Seed, Conversations: cfg.Conversations, Start: start, End: end, LegalHoldShare: 0.1, OtherMediaShare: 0.2},
		RateLimit: cfg.RateLimit, Faults: cfg.Faults,
		JobDelay: 500 * time.Millisecond, AuditDelay: 500 * time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "custody-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}

	// custody
	l, key, err := ledger.Create(ctx, filepath.Join(dir, "bench.db"), "bench", ledger.Options{})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	store, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	client, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL,
		Rate: float64(cfg.RateLimit), Logger: cfg.Log})
	if err != nil {
		return nil, err
	}
	before := srv.Stats()
	t0 := time.Now()
	acct, err := export.Run(ctx, export.Deps{Client: client, Ledger: l, Evidence: store}, export.Options{
		Scope: export.Scope{Matter: "bench", Interval: start.Format(time.RFC3339) + "/" + end.Add(96*time.Hour).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp"},
		Concurrency: cfg.Concurrency, SignerKey: key, Log: cfg.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: custody export: %w", err)
	}
	wall := time.Since(t0)
	req, listing, tooMany := count(before, srv.Stats())
	rows := []Row{{Method: "custody", Conversations: acct.Listed, Requests: req, Listing: listing, TooMany: tooMany,
		Lost: acct.Listed - acct.Exported, Wall: wall, Limit: cfg.RateLimit}}
	if cfg.SkipNaive {
		return rows, nil
	}

	// naive, on the same conversations
	var ids []string
	for i := range srv.Org.Len() {
		c, _ := srv.Org.Conversation(srv.Org.ConversationID(i))
		if c.MessageType == "whatsapp" {
			ids = append(ids, c.ID)
		}
	}
	n := &Naive{APIURL: srv.APIURL, LoginURL: srv.LoginURL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret}
	before = srv.Stats()
	res, err := n.Run(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("bench: naive: %w", err)
	}
	req, listing, tooMany = count(before, srv.Stats())
	rows = append(rows, Row{Method: "naive", Conversations: res.Conversations, Requests: req, Listing: listing, TooMany: tooMany,
		Lost: res.Lost, Wall: res.Wall, Limit: cfg.RateLimit})
	return rows, nil
}

// PrintTable writes the rows and, when there are two, the ratio of the
// second (baseline) to the first.
func PrintTable(w io.Writer, cfg Config, rows []Row) {
	fmt.Fprintf(w, "export benchmark: %d conversations in the org, limit %d requests/min, faults %q\n\n", cfg.Conversations, cfg.RateLimit, cfg.Faults)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tconversations\trequests\tlisting\treq/conv\tbudget used\tallowance used\t429s\t429 share\t429/min\tlost\twall\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.1f%%\t%.1f%%\t%d\t%.2f%%\t%.2f\t%d\t%s\t\n", r.Method, r.Conversations, r.Requests, r.Listing,
			r.PerConversation(), 100*r.Budget(), 100*r.Allowance(), r.TooMany, 100*r.TooManyShare(), r.TooManyPerMinute(), r.Lost, r.Wall.Round(10*time.Millisecond))
	}
	if len(rows) == 2 {
		c, n := rows[0], rows[1]
		ratio := func(a, b float64) string {
			if b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", a/b)
		}
		fmt.Fprintf(tw, "naive/custody\t\t%s\t\t%s\t%s\t%s\t%s\t\t%s\t%s\t%s\t\n", ratio(float64(n.Requests), float64(c.Requests)),
			ratio(n.PerConversation(), c.PerConversation()), ratio(n.Budget(), c.Budget()), ratio(n.Allowance(), c.Allowance()),
			ratio(float64(n.TooMany), float64(c.TooMany)), ratio(n.TooManyPerMinute(), c.TooManyPerMinute()),
			ratio(float64(n.Lost), float64(c.Lost)), ratio(n.Wall.Seconds(), c.Wall.Seconds()))
	}
	tw.Flush()
}
