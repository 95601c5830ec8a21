package fetch

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/redact"
)

// Environment variables read by Config.ApplyEnv: the names the Genesys
// Terraform provider, CLI and samples use.
const (
	EnvClientID     = "GENESYSCLOUD_OAUTHCLIENT_ID"
	EnvClientSecret = "GENESYSCLOUD_OAUTHCLIENT_SECRET"
	EnvRegion       = "GENESYSCLOUD_REGION"
	EnvAccessToken  = "GENESYSCLOUD_ACCESS_TOKEN"
)

// Defaults for the zero values of Config.
const (
	DefaultRegion           = "us-east-1"
	DefaultRate             = 300               // requests per minute per client-credentials token
	DefaultMaxRetryAfter    = 180 * time.Second // the Java SDK's threshold
	DefaultMaxAttempts      = 8
	DefaultMaxElapsed       = 10 * time.Minute
	DefaultBackoffBase      = 500 * time.Millisecond
	DefaultBackoffCap       = 30 * time.Second
	DefaultRequestTimeout   = 2 * time.Minute
	DefaultSlowNotice       = 5 * time.Second
	DefaultUnreachableAfter = DefaultMaxAttempts // as many attempts as one call makes
	DefaultMaxResponseBytes = 64 << 20
	// DefaultMaxDownloadBytes bounds one attachment: above WhatsApp's
	// largest (a 100 MB document).
	DefaultMaxDownloadBytes = 128 << 20
	DefaultPollInitial      = 500 * time.Millisecond
	DefaultPollMax          = 30 * time.Second
	DefaultPollTimeout      = time.Hour
)

// DefaultDownloadIdle and DefaultMinDownloadRate bound a download's body
// (Config.DownloadIdle, Config.MinDownloadRate).
const (
	DefaultDownloadIdle    = time.Minute
	DefaultMinDownloadRate = 64 << 10 // bytes per second: 128 MiB in 34 minutes
)

// Config says how to reach and pace the Genesys Cloud API. Only the
// credentials are required; every zero field takes its default.
type Config struct {
	// ClientID and ClientSecret are OAuth client credentials. With them the
	// client fetches tokens and renews them before expiry and after a 401.
	ClientID, ClientSecret string
	// AccessToken is a ready bearer token. Without client credentials it
	// cannot be renewed: a 401 is final. With them, it is used first and
	// replaced by a fetched token once rejected.
	AccessToken string
	// Clients are more OAuth clients of the same org, for volumes beyond
	// one client's budget: each gets its own token and its own budget of
	// Rate (Genesys limits each client separately), and requests go to
	// whichever client can send soonest.
	Clients []Credentials

	// Region is a region name ("us-east-1", "eu-west-1", …) or a domain
	// ("mypurecloud.ie"); DefaultRegion when empty. APIURL and LoginURL
	// override what it implies (the simulator's api_url and login_url).
	// When only APIURL is given, LoginURL is its login.{domain} twin for an
	// api.{domain} host, else APIURL itself (a server answering both).
	Region           string
	APIURL, LoginURL string

	// Rate is the request limit to stay under, in requests per minute,
	// shared by every goroutine using the Client (DefaultRate when 0,
	// unlimited when +Inf). The client paces at Rate×(1−SafetyMargin),
	// starting with a minute's worth at once less a second's worth, and
	// slows down on 429s (Genesys sends no rate-limit headers to learn the
	// limit from).
	Rate float64
	// Burst is how many requests may go at once before the pace applies
	// (default: a minute's worth at the pace, what a per-minute limit
	// grants a fresh token, less a second's worth kept back for network
	// jitter; 1 paces from the first request). A 429 ends it.
	Burst int
	// SafetyMargin is the fraction of the budget left unused: 0, the
	// default, paces at the limit itself, which a token-bucket limit grants
	// without a 429 (the second's worth kept back absorbs varying network
	// delays). Set it when something else spends from the same token.
	// Negative values count as 0, values above 0.9 as 0.9. Paces learned
	// from 429s keep their own margin (learnedMargin).
	SafetyMargin float64
	// MaxRetryAfter: a 429, or a 5xx from the API, asking to wait longer
	// than this returns *DailyLimitError instead of waiting
	// (DefaultMaxRetryAfter when 0).
	MaxRetryAfter time.Duration

	// MaxAttempts bounds the attempts of one call (DefaultMaxAttempts when 0).
	MaxAttempts int
	// MaxElapsed bounds the time one call spends retrying, waits included
	// (DefaultMaxElapsed when 0).
	MaxElapsed time.Duration
	// BackoffBase and BackoffCap shape the capped exponential backoff with
	// full jitter: attempt n waits uniformly in [0, min(Cap, Base·2^(n-1))].
	BackoffBase, BackoffCap time.Duration
	// RequestTimeout bounds one attempt, body included
	// (DefaultRequestTimeout when 0); a download's, its wait for the
	// answer's headers only: its body is bounded by DownloadIdle and
	// MinDownloadRate.
	RequestTimeout time.Duration
	// DownloadIdle is how long a download's body may send no byte before
	// the attempt fails, to be retried (DefaultDownloadIdle when 0).
	DownloadIdle time.Duration
	// MinDownloadRate, in bytes per second, scales the time a download's
	// body may take in all: RequestTimeout plus its size (stated by the
	// API, or announced by Content-Length, or else the download limit)
	// at this rate (DefaultMinDownloadRate when 0). A large attachment on
	// a slow link then completes, where one RequestTimeout for the whole
	// body failed every attempt of it.
	MinDownloadRate int64
	// SlowNotice is how long an attempt may go without response headers
	// before an info line says so (DefaultSlowNotice when 0; never when negative): a
	// black-holed network otherwise stays silent until RequestTimeout.
	SlowNotice time.Duration
	// UnreachableAfter is how many attempts to the API host in a row,
	// across all workers, must have failed to connect (refused, DNS, TLS,
	// connect timeout), with no answer between, for a call that gives up
	// on such a failure to declare the host unreachable (ErrAPIUnreachable)
	// (DefaultUnreachableAfter when 0; never when negative).
	UnreachableAfter int
	// MaxResponseBytes bounds a body held in memory (DefaultMaxResponseBytes when 0).
	MaxResponseBytes int64
	// MaxDownloadBytes bounds one Download, an attachment (DefaultMaxDownloadBytes when 0).
	MaxDownloadBytes int64

	// PollInitial, PollMax and PollTimeout pace the polling of analytics
	// jobs and audit queries: the interval grows by half from PollInitial
	// to PollMax; past PollTimeout the listing fails with ErrJobFailed.
	PollInitial, PollMax, PollTimeout time.Duration

	// Version goes into the User-Agent "custody/<Version>" ("devel" when empty).
	Version string

	// HTTPClient carries the requests; a client with a tuned transport and
	// no overall timeout (RequestTimeout applies per attempt) when nil.
	HTTPClient *http.Client
	// Logger receives diagnostics (never secrets or tokens); discarded when nil.
	Logger *slog.Logger
	// Redactor, when set, is told the credentials and every token the
	// client obtains, so that the caller can redact its own logs and
	// outputs with it (Redactor.Handler); a private one when nil.
	Redactor *Redactor

	// Hooks for tests. Now is the clock (time.Now when nil). Sleep waits d
	// or until ctx is done, returning ctx.Err() then; every wait of the
	// client (pacing, pauses, backoff, polling) goes through it. Backoff,
	// when set, replaces the jittered backoff for retry n (1-based).
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error
	Backoff func(n int) time.Duration
}

// ApplyEnv fills the empty credential and region fields from the
// environment (getenv is os.Getenv in production), so flags set before it
// win over the environment.
func (c *Config) ApplyEnv(getenv func(string) string) {
	fill := func(dst *string, name string) {
		if *dst == "" {
			*dst = strings.TrimSpace(getenv(name))
		}
	}
	fill(&c.ClientID, EnvClientID)
	fill(&c.ClientSecret, EnvClientSecret)
	fill(&c.Region, EnvRegion)
	fill(&c.AccessToken, EnvAccessToken)
}

// regionDomains maps Genesys region names to their domains
// (shared/docs/genesys-api.md).
var regionDomains = map[string]string{
	"us-east-1":      "mypurecloud.com",
	"eu-west-1":      "mypurecloud.ie",
	"ap-southeast-2": "mypurecloud.com.au",
	"ap-northeast-1": "mypurecloud.jp",
	"eu-central-1":   "mypurecloud.de",
	"us-west-2":      "usw2.pure.cloud",
	"ca-central-1":   "cac1.pure.cloud",
	"ap-northeast-2": "apne2.pure.cloud",
	"eu-west-2":      "euw2.pure.cloud",
	"ap-south-1":     "aps1.pure.cloud",
	"us-east-2":      "use2.us-gov-pure.cloud",
	"sa-east-1":      "sae1.pure.cloud",
	"me-central-1":   "mec1.pure.cloud",
	"ap-northeast-3": "apne3.pure.cloud",
	"eu-central-2":   "euc2.pure.cloud",
	"mx-central-1":   "mxc1.pure.cloud",
	"ap-southeast-1": "apse1.pure.cloud",
}

// Region returns the API and login base URLs of a region name
// ("us-east-1", case and "_" for "-" tolerated) or of a domain
// ("mypurecloud.com"; a leading "api." or "login." is dropped). A domain
// not in the table is accepted if it is a plausible host name, since
// Genesys adds regions.
func Region(name string) (apiURL, loginURL string, err error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		n = DefaultRegion
	}
	domain, ok := regionDomains[strings.ReplaceAll(n, "_", "-")]
	if !ok {
		d := strings.TrimSuffix(n, ".")
		d = strings.TrimPrefix(d, "api.")
		d = strings.TrimPrefix(d, "login.")
		if !isDomain(d) {
			return "", "", fmt.Errorf("fetch: region %q: %w (want a name like us-east-1 or a domain like mypurecloud.com)", name, ErrUnknownRegion)
		}
		domain = d
	}
	return "https://api." + domain, "https://login." + domain, nil
}

// loginFor returns the login base URL that goes with an API base URL:
// https://login.{domain} for https://api.{domain}, as Genesys names its
// hosts; the API URL itself for any other host.
func loginFor(api string) string {
	u, err := url.Parse(api)
	if err != nil || !strings.HasPrefix(u.Host, "api.") {
		return api
	}
	u.Host = "login." + strings.TrimPrefix(u.Host, "api.")
	u.Path = ""
	return u.String()
}

// isDomain reports whether s is a host name with at least two labels.
func isDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

// baseURL checks an http(s) base URL and returns it without a trailing slash.
func baseURL(what, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		// Without user info, query or fragment: they hold secrets.
		return "", fmt.Errorf("fetch: %s %q: %w: want http(s)://host[:port][/prefix]", what, redact.URL(raw), ErrInvalidArgument)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.SafetyMargin < 0 {
		cfg.SafetyMargin = 0
	}
	if cfg.SafetyMargin > 0.9 {
		cfg.SafetyMargin = 0.9
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxElapsed <= 0 {
		cfg.MaxElapsed = DefaultMaxElapsed
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffCap <= 0 {
		cfg.BackoffCap = DefaultBackoffCap
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.SlowNotice == 0 {
		cfg.SlowNotice = DefaultSlowNotice
	}
	if cfg.DownloadIdle <= 0 {
		cfg.DownloadIdle = DefaultDownloadIdle
	}
	if cfg.MinDownloadRate <= 0 {
		cfg.MinDownloadRate = DefaultMinDownloadRate
	}
	if cfg.UnreachableAfter == 0 {
		cfg.UnreachableAfter = DefaultUnreachableAfter
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxDownloadBytes <= 0 {
		cfg.MaxDownloadBytes = DefaultMaxDownloadBytes
	}
	if cfg.PollInitial <= 0 {
		cfg.PollInitial = DefaultPollInitial
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = DefaultPollMax
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	if cfg.Version == "" {
		cfg.Version = "devel"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	return cfg
}

// validRate reports whether r is a usable requests-per-minute rate.
func validRate(r float64) bool { return r > 0 && !math.IsNaN(r) }

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RegionNames returns the region names Region knows, sorted (for shell
// completion and help).
func RegionNames() []string {
	names := make([]string, 0, len(regionDomains))
	for n := range regionDomains {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
