package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault kinds of a fault spec.
const (
	Fault500      = "500"
	Fault502      = "502"
	Fault503      = "503"
	Fault504      = "504"
	Fault5xx      = "5xx" // one of 500, 502, 503, 504
	Fault429      = "429" // a spurious rate-limit refusal, Retry-After 1
	FaultReset    = "reset"
	FaultTruncate = "truncate"
	FaultSlow     = "slow"
	FaultRevoke   = "revoke"
	FaultJobFail  = "jobfail"
	// FaultAuditFail: N counts audit queries; that query ends Failed.
	FaultAuditFail = "auditfail"
	// FaultAuditPage: N counts audit queries; that query refuses every
	// cursor (400), so only its first page can be read.
	FaultAuditPage = "auditpage"
	FaultGone      = "404"
	FaultOAuth     = "oauth"
	// FaultEcho answers an API request as a hostile or buggy server
	// might: its Authorization header quoted in an error body, and the
	// bearer token sent back in response headers.
	FaultEcho = "echo"
	// FaultOAuthEcho does the same to a token request (N counts token
	// requests): the Basic credentials quoted and sent back.
	FaultOAuthEcho = "oauthecho"
)

// defaultEchoStatus is the status of echo faults without :STATUS.
const defaultEchoStatus = 500

// FaultRule is one item of a fault spec.
type FaultRule struct {
	Kind string
	// Rate, when positive, is the probability that a request (or job,
	// token request, conversation for 404) gets the fault.
	Rate float64
	// At, when positive, is the 1-based number of the request (API
	// request; analytics job for jobfail; audit query for auditfail and
	// auditpage; token request for oauth) that
	// gets the fault.
	At uint64
	// Delay is the delay of slow faults (default 2s).
	Delay time.Duration
	// ID is the conversation or message id of a 404=ID rule.
	ID string
	// Status is the answer of echo and oauthecho faults: 200 (the request
	// is served, only the headers echo) or 400–599 (an error body quoting
	// the request's headers); default 500.
	Status int
}

func (f FaultRule) String() string {
	var s string
	switch {
	case f.ID != "":
		return f.Kind + "=" + f.ID
	case f.At > 0:
		s = f.Kind + "@" + strconv.FormatUint(f.At, 10)
	default:
		s = f.Kind + "=" + strconv.FormatFloat(f.Rate, 'g', -1, 64)
	}
	switch f.Kind {
	case FaultSlow:
		s += ":" + f.Delay.String()
	case FaultEcho, FaultOAuthEcho:
		s += ":" + strconv.Itoa(f.Status)
	}
	return s
}

// ParseFaults parses a fault spec: comma-separated items
//
//	KIND=RATE[:DELAY]   each request gets the fault with probability RATE (0–1)
//	KIND@N[:DELAY]      the Nth request (1-based) gets the fault
//	404=ID              conversation or message ID answers 404 (deleted upstream)
//
// KIND is 500, 502, 503, 504, 5xx, 429, reset, truncate, slow (DELAY,
// default 2s), revoke (the request's token becomes invalid: 401), jobfail
// (N counts analytics jobs; the job ends FAILED), auditfail (N counts
// audit queries; the query ends Failed), auditpage (N counts audit
// queries; the query refuses every cursor with a 400, so only its first
// page can be read), 404 (RATE is the share of
// conversations deleted upstream; no @N), oauth (N counts token requests;
// a 503 from /oauth/token), echo (the request's Authorization header
// quoted in an error body and its token sent back in ININ-Correlation-Id
// and X-Echo-Authorization; the suffix is the status instead of a delay:
// 200 serves the request with the echoing headers, 400–599 answers that
// error; default 500) or oauthecho (the same on token requests, N counting
// them: the Basic credentials quoted and sent back). Example:
// "5xx=0.05,reset=0.01,truncate=0.01,slow=0.01:2s,revoke@200,jobfail@1,404=0.001".
func ParseFaults(spec string) ([]FaultRule, error) {
	var rules []FaultRule
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		r, err := parseFaultItem(item)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadFaultSpec, item, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseFaultItem(item string) (FaultRule, error) {
	i := strings.IndexAny(item, "=@")
	if i <= 0 {
		return FaultRule{}, errors.New("want KIND=RATE or KIND@N")
	}
	r := FaultRule{Kind: item[:i]}
	switch r.Kind {
	case Fault500, Fault502, Fault503, Fault504, Fault5xx, Fault429, FaultReset, FaultTruncate,
		FaultSlow, FaultRevoke, FaultJobFail, FaultAuditFail, FaultAuditPage, FaultGone, FaultOAuth, FaultEcho, FaultOAuthEcho:
	default:
		return r, fmt.Errorf("unknown fault kind %q", r.Kind)
	}
	val := item[i+1:]
	if r.Kind == FaultSlow {
		r.Delay = 2 * time.Second
		if v, d, ok := strings.Cut(val, ":"); ok {
			delay, err := time.ParseDuration(d)
			if err != nil || delay <= 0 {
				return r, fmt.Errorf("bad delay %q", d)
			}
			val, r.Delay = v, delay
		}
	}
	if r.Kind == FaultEcho || r.Kind == FaultOAuthEcho {
		r.Status = defaultEchoStatus
		if v, st, ok := strings.Cut(val, ":"); ok {
			n, err := strconv.Atoi(st)
			if err != nil || n != 200 && (n < 400 || n > 599) {
				return r, fmt.Errorf("bad status %q (want 200 or 400–599)", st)
			}
			val, r.Status = v, n
		}
	}
	if item[i] == '@' {
		if r.Kind == FaultGone {
			return r, errors.New("404 takes a rate or an id, not @N")
		}
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil || n == 0 {
			return r, fmt.Errorf("bad request number %q (want an integer ≥ 1)", val)
		}
		r.At = n
		return r, nil
	}
	p, err := strconv.ParseFloat(val, 64)
	if err == nil && !math.IsNaN(p) && p >= 0 && p <= 1 {
		r.Rate = p
		return r, nil
	}
	if r.Kind == FaultGone && val != "" {
		r.ID = val
		return r, nil
	}
	return r, fmt.Errorf("bad rate %q (want a number from 0 to 1)", val)
}

// faultPlan decides, reproducibly for a seed, which requests get a fault.
// A rate decision hashes (seed, request, how many times this exact request
// was seen, rule), so a sequential client sees the same faults on every
// run, and retries of a request are independent draws; schedules count
// requests in arrival order.
type faultPlan struct {
	rules    []FaultRule
	seed     int64
	goneIDs  map[string]bool
	goneRate float64

	mu   sync.Mutex
	seen map[uint64]uint32 // request key → occurrences
}

func newFaultPlan(rules []FaultRule, seed int64) *faultPlan {
	p := &faultPlan{seed: seed, goneIDs: map[string]bool{}, seen: map[uint64]uint32{}}
	for _, r := range rules {
		switch {
		case r.Kind == FaultGone && r.ID != "":
			p.goneIDs[r.ID] = true
		case r.Kind == FaultGone:
			p.goneRate = max(p.goneRate, r.Rate)
		default:
			p.rules = append(p.rules, r)
		}
	}
	return p
}

// requestFault returns the fault, if any, for API request number n with
// the given key (a hash of method, path, query and body).
func (p *faultPlan) requestFault(n, key uint64) (FaultRule, bool) {
	if len(p.rules) == 0 {
		return FaultRule{}, false
	}
	p.mu.Lock()
	occ := p.seen[key]
	p.seen[key] = occ + 1
	p.mu.Unlock()
	for j, r := range p.rules {
		switch r.Kind {
		case FaultJobFail, FaultAuditFail, FaultAuditPage, FaultOAuth, FaultOAuthEcho:
			continue
		}
		if r.At == n || r.Rate > 0 && unit(hash(p.seed, tagFault, key, uint64(occ), uint64(j))) < r.Rate {
			if r.Kind == Fault5xx {
				r.Kind = []string{Fault500, Fault502, Fault503, Fault504}[hash(p.seed, tagFault, key, uint64(occ), 99)%4]
			}
			return r, true
		}
	}
	return FaultRule{}, false
}

// counted reports whether item number n (1-based) of a counted kind
// (jobfail, oauth) gets the fault.
func (p *faultPlan) counted(kind string, n uint64) (FaultRule, bool) {
	for j, r := range p.rules {
		if r.Kind == kind && (r.At == n || r.Rate > 0 && unit(hash(p.seed, tagJob, uint64(j), n, hashString(kind))) < r.Rate) {
			return r, true
		}
	}
	return FaultRule{}, false
}

func (p *faultPlan) oauth(n uint64) (FaultRule, bool) { return p.counted(FaultOAuth, n) }
func (p *faultPlan) oauthEcho(n uint64) (FaultRule, bool) {
	return p.counted(FaultOAuthEcho, n)
}
func (p *faultPlan) jobFail(n uint64) (FaultRule, bool) { return p.counted(FaultJobFail, n) }
func (p *faultPlan) auditFail(n uint64) (FaultRule, bool) {
	return p.counted(FaultAuditFail, n)
}
func (p *faultPlan) auditPage(n uint64) (FaultRule, bool) {
	return p.counted(FaultAuditPage, n)
}

// goneConversation reports whether conversation i (id) was deleted upstream.
func (p *faultPlan) goneConversation(i int, id string) bool {
	return p.goneIDs[id] || p.goneRate > 0 && unit(hash(p.seed, tagGone, uint64(i))) < p.goneRate
}

// goneMessage reports whether a message was deleted upstream.
func (p *faultPlan) goneMessage(id string) bool { return p.goneIDs[id] }

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
