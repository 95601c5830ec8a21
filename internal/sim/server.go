package sim

import (
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// Defaults of Options (and of `custody sim serve`).
const (
	DefaultRateLimit        = 300 // requests per minute per token, as Genesys
	DefaultTokenTTL         = 24 * time.Hour
	DefaultDailyRetryAfter  = time.Hour
	DefaultQueryMaxPageSize = 100
	DefaultQueryMaxInterval = 31 * 24 * time.Hour
	DefaultJobPageSize      = 100
	DefaultJobMaxPageSize   = 1000
	DefaultJobTTL           = 48 * time.Hour
	DefaultMediaURLTTL      = 30 * 24 * time.Hour
	DefaultMaxRecordingJobs = 2
	// MaxProtectedConversations is how many conversations an org may have
	// under deletion protection at once (Genesys: "1000 conversations can be
	// protected per organization").
	MaxProtectedConversations = 1000
	defaultQueryPageSize      = 25 // Genesys's documented default
	defaultAuditPageSize      = 25 // the SDK's default pageSize of audit results
	defaultListPageSize       = 25 // Genesys's default pageSize of entity listings
	maxListPageSize           = 100
	maxBodyBytes              = 8 << 20
)

// RecordingExporter writes what a Recording API bulk export job would: the
// conversations' files in the Genesys S3 layout. internal/sim/recexport
// implements it; the command wires it in (sim never imports it).
type RecordingExporter interface {
	// RunExport exports the job's conversations of org, calling progress
	// with the number of conversations done so far, and says how many
	// it left out. It returns early when ctx is cancelled.
	RunExport(ctx context.Context, org *Org, job ExportJob, progress func(done int)) (ExportResult, error)
}

// ExportJob is a recording EXPORT job as its exporter sees it.
type ExportJob struct {
	// ConversationIDs are the conversations the job's query chose.
	ConversationIDs []string
	// IncludeSensitiveData is the job's includeRecordingsWithSensitiveData:
	// without it, conversations with sensitive data (ConvData.SensitiveData)
	// are skipped, as Genesys skips their recordings.
	IncludeSensitiveData bool
	// RunAt is when the job runs, by the simulator's clock: conversations
	// that ended within the data lake's lag before it are not in the data
	// lake yet.
	RunAt time.Time
}

// ExportResult counts a job's conversations by outcome; it sets the job's
// totalFailedRecordings and totalSkippedRecordings.
type ExportResult struct {
	// Exported conversations have files in the export.
	Exported int
	// Failed: conversations the export should have had and left out.
	Failed int
	// Skipped: conversations with nothing to export by the job's terms
	// (no message recording, sensitive data not asked for, not yet in the
	// data lake).
	Skipped int
}

// Options configure a Server. The zero value serves an empty org with no
// rate limit, no faults and no delays; `custody sim serve` sets the
// documented defaults.
type Options struct {
	// Org to serve; when nil, NewOrg(OrgConfig). Either way an empty
	// MediaBaseURL is set to the server's own address (so attachment urls
	// download from it); set it before generating conversations from Org.
	Org       *Org
	OrgConfig OrgConfig
	// Addr is where the API listens (default "127.0.0.1:0": a free
	// loopback port). LoginAddr is where /oauth/token listens (default: a
	// free port on Addr's host), MediaAddr where attachment downloads do
	// (the same default): Genesys serves the API, login and pre-signed media
	// from different hosts, so a client that mixes them up fails here too.
	Addr, LoginAddr, MediaAddr string
	// ClientID and ClientSecret accepted by /oauth/token; derived from the
	// seed when empty.
	ClientID, ClientSecret string
	// Clients are more OAuth clients of the org, each with its own limits
	// (for exports that share their work between several clients).
	// ExtraClients adds that many more, derived from the seed.
	Clients      []Credentials
	ExtraClients int
	// TokenTTL is expires_in of issued tokens (default DefaultTokenTTL).
	TokenTTL time.Duration

	// RateLimit is requests per minute per token (a token bucket of that
	// capacity refilled evenly); 0 turns limiting off.
	RateLimit int
	// ClientRateLimit is requests per minute per OAuth client, all its
	// tokens together (Genesys's org.app.user.rate.per.minute, 3,000 by
	// default); 0 turns it off.
	ClientRateLimit int
	// LimitsForbidden answers 403 to the org limits endpoint, as Genesys
	// does to a client without limits:organization:view.
	LimitsForbidden bool
	// RecordingsForbidden answers 403 to a conversation's recordings, as
	// Genesys does to a client without recording:recording:view.
	RecordingsForbidden bool
	// AuditsForbidden answers 403 to every audit query route, as Genesys
	// does to a client without audits:audit:view.
	AuditsForbidden bool
	// RecordingsNotReady answers 202 with no body to a conversation's
	// recordings, as Genesys does while it is still readying them (a
	// failure export must not ask again of the same conversation).
	RecordingsNotReady bool
	// LegacyRateLimitHeaders sends inin-ratelimit-count/allowed/reset on
	// API responses, as Genesys did before it removed them in 2021; off by
	// default, as today.
	LegacyRateLimitHeaders bool
	// EndpointLimits adds per-token limits, requests per minute, for some
	// routes, keyed by route pattern ("POST /api/v2/audits/query").
	EndpointLimits map[string]int
	// DailyLimit, when positive, is the number of API requests the client
	// may make per 24 hours; beyond it every API call gets a 429 with
	// Retry-After DailyRetryAfter (default DefaultDailyRetryAfter).
	DailyLimit      int
	DailyRetryAfter time.Duration

	// Faults is a fault spec (see ParseFaults and docs/sim.md); FaultSeed
	// seeds its random choices (default: the org's seed).
	Faults    string
	FaultSeed int64

	// JobDelay is how long an analytics job stays QUEUED then PENDING
	// before it is FULFILLED (half each). AuditDelay is the same for audit
	// queries (Queued, Running, Succeeded) and RecordingJobDelay for a
	// recording job to go from PENDING to READY.
	JobDelay, AuditDelay, RecordingJobDelay time.Duration
	// MediaURLTTL is how long an attachment url in a message stays valid,
	// measured from the message's timestamp: Genesys's media urls stop
	// working 30 days after the message (DefaultMediaURLTTL, the default of
	// `custody sim serve`). Zero, the Options default, never expires them.
	// Either way the urls are pre-signed (X-Sim-Expires, X-Sim-Signature)
	// for the media listener, which answers 403 to an expired or wrong
	// signature and 400 to any request carrying an Authorization header.
	MediaURLTTL time.Duration
	// MediaURLPerRequest signs attachment urls afresh in every response,
	// with the signing time (X-Sim-Date) under the signature, as S3
	// pre-signed urls carry X-Amz-Date: the same message then comes back
	// with another url each time it is read. Off by default so that the
	// same seed gives the same bytes; custody must capture either way
	// without taking a new signature for a changed message.
	MediaURLPerRequest bool
	// MediaURLLife, when not zero, also ends each attachment url that long
	// after it is handed out (the earlier of the two ends wins), as a
	// pre-signed url has a life of its own; it implies signing afresh in
	// every response (MediaURLPerRequest), so a message read again carries
	// urls that work again. Genesys does not document that life: a setting.
	MediaURLLife time.Duration
	// MediaExpiredAnswer is how the media listener refuses an url past its
	// expiry: one of MediaExpiredAnswers ("" is MediaExpiredRequest, the
	// default). Genesys does not document how its storage host refuses a
	// lapsed url or an attachment no longer kept, so the client must not
	// depend on the words: the other answers are the ones S3 and
	// CloudFront give.
	MediaExpiredAnswer string
	// MediaNoSHA256 serves messages without attachment.sha256 (template
	// header media included): the model makes it optional, and a client
	// must then check a download against contentSizeBytes and mime.
	MediaNoSHA256 bool
	// MediaNoSize serves messages without attachment.contentSizeBytes
	// (optional too); with MediaNoSHA256 nothing states what the bytes
	// must be.
	MediaNoSize bool
	// MediaShort is how many downloads of each attachment the media
	// listener serves cut to half its bytes, with a Content-Length that
	// says so (a proxy or a cache that kept part of it): 0, none; a
	// number above the client's attempts, every one of a run.
	MediaShort int
	// RecordingsOwnIDs makes the Recordings service name a conversation's
	// messages and attachments with ids of its own, not the messages
	// API's: Genesys documents no identity between the two, and a client
	// must then match a copy by what both state of it (file name, size,
	// type). Stickers state nothing else, and cannot be matched.
	RecordingsOwnIDs bool
	// MediaURLWithheld, when set, names the attachments (and template
	// header media) the messages API serves without a url, as Genesys's
	// model allows (url is optional): the Recordings service still keeps
	// them.
	MediaURLWithheld func(attachmentID string) bool
	// Paging makes job results page as Genesys's do at scale: short
	// non-final pages, cursors and jobs expiring mid-iteration.
	Paging PagingFaults
	// DataAvailableUntil, when set and earlier than a job's creation, is
	// the job's dataAvailabilityDate: conversations that started after it
	// are not in its results yet (analytics lagging behind).
	DataAvailableUntil time.Time
	// JobTTL is how long analytics job results stay available (default
	// DefaultJobTTL); then the job is EXPIRED.
	JobTTL time.Duration
	// JobPageSize and JobMaxPageSize are the default and largest pageSize
	// of analytics job results (UNKNOWN in Genesys; defaults 100 and 1000;
	// the default is lowered to the maximum when above it). A larger
	// pageSize is a 400 in the normalized error body, with
	// messageWithParams and messageParams (pageSize, maxPageSize).
	JobPageSize, JobMaxPageSize int
	// QueryMaxPageSize and QueryMaxInterval bound the synchronous details
	// query (UNKNOWN in Genesys; defaults 100 and 31 days).
	QueryMaxPageSize int
	QueryMaxInterval time.Duration
	// MaxRecordingJobs is how many recording jobs may be unfinished at once
	// (default 2, as Genesys documents).
	MaxRecordingJobs int
	// RecordingExporter runs recording EXPORT jobs; without one they fail.
	RecordingExporter RecordingExporter
	// LenientBodies accepts request bodies with unknown fields; by default
	// they are a 400, which catches misspelt field names in clients.
	LenientBodies bool

	// Now is the clock (default time.Now); tests inject a fake one.
	Now func() time.Time
	// Logger gets one line per server event worth knowing (default: none).
	Logger *slog.Logger
}

// Server is a running simulator. The API, login and media listen apart,
// as api.{domain}, login.{domain} and a pre-signed media host do:
// APIURL, LoginURL and MediaURL are three http://127.0.0.1:PORT.
type Server struct {
	APIURL, LoginURL, MediaURL string
	ClientID, ClientSecret     string
	// Clients are every OAuth client the login accepts, the first being
	// ClientID and ClientSecret.
	Clients []Credentials
	OrgID   string
	Org     *Org

	opts Options
	seed int64
	// live seeds the ids of live traffic (correlation ids, tokens, job and
	// query ids): random per server, so two simulators with the same seed
	// never hand out the same token or correlation id.
	live   int64
	now    func() time.Time
	log    *slog.Logger
	faults *faultPlan
	srvs   []*http.Server
	done   chan struct{}
	// fresh are the connections no request has arrived on yet
	// (http.StateNew), which Shutdown closes: net/http counts such a
	// connection as busy for its first 5 s, and Go's client leaves one
	// whenever a dial it started ends after another connection took the
	// request, so closing a simulator that served media downloads waited
	// those 5 s.
	fresh sync.Map // net.Conn → struct{}

	seq    atomic.Uint64 // every request, for correlation ids
	apiSeq atomic.Uint64 // API requests, for fault schedules

	auth   authState
	limits limiter
	paging pagingState // under mu
	stats  statsState

	holdMu sync.Mutex // serialises deletion-protection changes, for the org's cap

	shortMu sync.Mutex
	shortN  map[string]int // attachment id → downloads served short (Options.MediaShort)

	mu        sync.Mutex
	jobs      map[string]*analyticsJob
	jobSeq    uint64
	audits    map[string]*auditQuery
	auditSeq  uint64
	recJobs   map[string]*recordingJob
	recJobSeq uint64

	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// Start listens and serves in the background until ctx is done or Close
// is called.
func Start(ctx context.Context, opts Options) (*Server, error) {
	faults, err := ParseFaults(opts.Faults)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	if opts.MediaShort < 0 {
		return nil, fmt.Errorf("sim: media short %d: want 0 or more downloads", opts.MediaShort)
	}
	if opts.MediaExpiredAnswer != "" && !slices.Contains(MediaExpiredAnswers, opts.MediaExpiredAnswer) {
		return nil, fmt.Errorf("sim: media expired answer %q: want one of %s", opts.MediaExpiredAnswer, strings.Join(MediaExpiredAnswers, ", "))
	}
	lns, err := listen(opts.Addr, opts.LoginAddr, opts.MediaAddr)
	if err != nil {
		return nil, err
	}
	apiLn, loginLn, mediaLn := lns[0], lns[1], lns[2]
	mediaBase := "http://" + mediaLn.Addr().String()
	org := opts.Org
	if org != nil && org.cfg.MediaBaseURL == "" {
		org.setMediaBaseURL(mediaBase)
	}
	if org == nil {
		cfg := opts.OrgConfig
		if cfg.MediaBaseURL == "" {
			cfg.MediaBaseURL = mediaBase
		}
		org = NewOrg(cfg)
	}
	seed := org.cfg.Seed
	s := &Server{
		APIURL: "http://" + apiLn.Addr().String(), LoginURL: "http://" + loginLn.Addr().String(), MediaURL: mediaBase,
		ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
		OrgID: org.OrgID(), Org: org,
		opts: opts, seed: seed, live: liveSeed(), now: opts.Now, log: opts.Logger,
		done: make(chan struct{}),
		jobs: map[string]*analyticsJob{}, audits: map[string]*auditQuery{}, recJobs: map[string]*recordingJob{},
	}
	if s.ClientID == "" {
		s.ClientID = uuidOf(seed, tagClient, 0)
	}
	if s.ClientSecret == "" {
		s.ClientSecret = secretOf(seed)
	}
	s.Clients = append([]Credentials{{ID: s.ClientID, Secret: s.ClientSecret}}, opts.Clients...)
	for i := range max(opts.ExtraClients, 0) {
		k := uint64(i + 1)
		s.Clients = append(s.Clients, Credentials{ID: uuidOf(seed, tagClient, k), Secret: secretOfN(seed, k)})
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.setDefaults()
	fseed := opts.FaultSeed
	if fseed == 0 {
		fseed = seed
	}
	s.faults = newFaultPlan(faults, fseed)
	s.auth.tokens = map[string]*token{}
	s.limits.init(opts.RateLimit, opts.ClientRateLimit, opts.EndpointLimits)
	s.stats.routes = map[string]*RouteStats{}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())

	api, login, media := s.routes()
	var wg sync.WaitGroup
	for k, h := range []http.Handler{api, login, media} {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: s.connState}
		s.srvs = append(s.srvs, srv)
		wg.Add(1)
		go func(ln net.Listener) {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("sim: serve", "err", err)
			}
		}(lns[k])
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	if ctx != nil && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = s.Close()
			case <-s.done:
			}
		}()
	}
	return s, nil
}

// listen opens the API, login and media listeners; login and media default
// to a free port on the API's host.
func listen(apiAddr, loginAddr, mediaAddr string) ([]net.Listener, error) {
	if apiAddr == "" {
		apiAddr = "127.0.0.1:0"
	}
	var lns []net.Listener
	fail := func(what string, err error) ([]net.Listener, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, fmt.Errorf("sim: listen (%s): %w", what, err)
	}
	for k, addr := range []string{apiAddr, loginAddr, mediaAddr} {
		if addr == "" {
			host, _, err := net.SplitHostPort(lns[0].Addr().String())
			if err != nil {
				return fail("address", err)
			}
			addr = net.JoinHostPort(host, "0")
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail([]string{"api", "login", "media"}[k], err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// liveSeed draws the seed of live-traffic ids from the system's randomness.
func liveSeed() int64 {
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails on supported platforms
	return int64(binary.LittleEndian.Uint64(b[:]))
}

func (s *Server) setDefaults() {
	o := &s.opts
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.DailyRetryAfter <= 0 {
		o.DailyRetryAfter = DefaultDailyRetryAfter
	}
	if o.JobTTL <= 0 {
		o.JobTTL = DefaultJobTTL
	}
	if o.JobPageSize <= 0 {
		o.JobPageSize = DefaultJobPageSize
	}
	if o.JobMaxPageSize <= 0 {
		o.JobMaxPageSize = DefaultJobMaxPageSize
	}
	// A server's default page size is one it accepts.
	o.JobPageSize = min(o.JobPageSize, o.JobMaxPageSize)
	if o.QueryMaxPageSize <= 0 {
		o.QueryMaxPageSize = DefaultQueryMaxPageSize
	}
	if o.QueryMaxInterval <= 0 {
		o.QueryMaxInterval = DefaultQueryMaxInterval
	}
	if o.MaxRecordingJobs <= 0 {
		o.MaxRecordingJobs = DefaultMaxRecordingJobs
	}
}

// Close stops the server: in-flight requests finish (up to 5 s), running
// recording exports are cancelled and waited for.
func (s *Server) Close() error {
	return s.Shutdown(context.Background())
}

// Shutdown is Close with a caller's deadline for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() {
		var err error
		for _, srv := range s.srvs {
			if e := srv.Shutdown(ctx); e != nil {
				_ = srv.Close()
				err = cmp.Or(err, e)
			}
		}
		stopped <- err
	}()
	// Shutdown closes the listeners, then waits for the connections to
	// go idle; one accepted just before its listener closed may still be
	// fresh, hence the repeats.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		s.fresh.Range(func(c, _ any) bool {
			_ = c.(net.Conn).Close()
			return true
		})
		select {
		case err = <-stopped:
			break wait
		case <-tick.C:
		}
	}
	s.bgCancel()
	s.bg.Wait()
	<-s.done
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sim: shutdown: %w", err)
	}
	return nil
}

// connState keeps the set of fresh connections (Server.fresh).
func (s *Server) connState(c net.Conn, st http.ConnState) {
	if st == http.StateNew {
		s.fresh.Store(c, struct{}{})
	} else {
		s.fresh.Delete(c)
	}
}

// Done is closed when the server has stopped serving.
func (s *Server) Done() <-chan struct{} { return s.done }

// route is one API endpoint.
type route struct {
	pattern string // ServeMux pattern, also the stats key
	// mutates marks routes whose handler changes state: reset and truncate
	// faults never hit them, so a faulted request changes nothing.
	mutates bool
	h       func(w *resp, r *http.Request)
}

// routes builds the handlers of the three listeners.
func (s *Server) routes() (api, login, media http.Handler) {
	apiMux := http.NewServeMux()
	apiMux.HandleFunc("GET /sim/stats", s.handleStats)
	for _, rt := range []route{
		{"POST /api/v2/analytics/conversations/details/jobs", true, s.createJob},
		{"GET /api/v2/analytics/conversations/details/jobs/{jobId}", false, s.getJob},
		{"DELETE /api/v2/analytics/conversations/details/jobs/{jobId}", true, s.deleteJob},
		{"GET /api/v2/analytics/conversations/details/jobs/{jobId}/results", false, s.jobResults},
		{"POST /api/v2/analytics/conversations/details/query", false, s.detailsQuery},
		{"GET /api/v2/conversations/messages/{conversationId}", false, s.getMessageConversation},
		{"GET /api/v2/conversations/messages/{conversationId}/messages/{messageId}", false, s.getMessage},
		{"POST /api/v2/conversations/messages/{conversationId}/messages/bulk", false, s.bulkMessages},
		{"GET /api/v2/conversations/{conversationId}", false, s.getConversation},
		{"POST /api/v2/recordings/deletionprotection", false, s.queryProtection},
		{"PUT /api/v2/recordings/deletionprotection", true, s.setProtection},
		{"POST /api/v2/audits/query", true, s.createAuditQuery},
		{"GET /api/v2/audits/query/servicemapping", false, s.auditServiceMapping},
		{"GET /api/v2/audits/query/{transactionId}", false, s.getAuditQuery},
		{"GET /api/v2/audits/query/{transactionId}/results", false, s.auditResults},
		{"POST /api/v2/recording/jobs", true, s.createRecordingJob},
		{"GET /api/v2/recording/jobs", false, s.listRecordingJobs},
		{LimitsRoute, false, s.getLimits},
		{"GET /api/v2/recording/jobs/{jobId}", false, s.getRecordingJob},
		{"PUT /api/v2/recording/jobs/{jobId}", true, s.putRecordingJob},
		{"DELETE /api/v2/recording/jobs/{jobId}", true, s.deleteRecordingJob},
	} {
		apiMux.Handle(rt.pattern, s.apiHandler(rt))
	}
	// …/{conversationId}/recordings overlaps …/messages/{conversationId}
	// (both match …/messages/recordings), which ServeMux refuses: the
	// wider pattern is registered, and its other paths get noRoute's 404.
	noRoute := s.noRoute(apiMux)
	recordings := s.apiHandler(route{"GET /api/v2/conversations/{conversationId}/recordings", false, s.getConversationRecordings})
	apiMux.Handle("GET /api/v2/conversations/{conversationId}/{sub}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("sub") != "recordings" {
			noRoute.ServeHTTP(w, r)
			return
		}
		recordings.ServeHTTP(w, r)
	}))
	apiMux.Handle("/", noRoute)

	loginMux := http.NewServeMux()
	loginMux.HandleFunc("POST /oauth/token", s.handleToken)
	loginMux.Handle("/", s.noRoute(loginMux))

	mediaMux := http.NewServeMux()
	mediaMux.HandleFunc(MediaRoute, s.handleMedia)
	mediaMux.Handle("/", s.noRoute(mediaMux))
	return apiMux, loginMux, mediaMux
}

// Stats keys of requests no route took.
const (
	pattern404 = "(no route)"
	pattern405 = "(method not allowed)"
)

// codeMethodNotAllowed is the error code of a 405. Genesys documents none;
// this follows the spelling of its other codes (docs/sim.md).
const codeMethodNotAllowed = "method.not.allowed"

// noRoute answers what mux has no route for: 405 with Allow when the path
// is known for other methods, else 404, both with the Genesys error body.
func (s *Server) noRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		corr := s.correlationID()
		w.Header().Set(genesys.HeaderCorrelationID, corr)
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			if _, p := mux.Handler(&http.Request{Method: m, URL: r.URL, Host: r.Host}); m != r.Method && p != "/" && p != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			s.stats.count(pattern404, false)
			s.stats.status(pattern404, http.StatusNotFound)
			writeErrorTo(w, http.StatusNotFound, genesys.CodeNotFound, "no route for "+r.Method+" "+r.URL.Path, corr)
			return
		}
		s.stats.count(pattern405, false)
		s.stats.status(pattern405, http.StatusMethodNotAllowed)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeErrorTo(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "HTTP "+r.Method+" is not supported by "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "), corr)
	})
}

func (s *Server) correlationID() string { return uuidOf(s.live, tagCorrelation, s.seq.Add(1)) }

// resp buffers a handler's response so faults can cut it and stats can
// see its status.
type resp struct {
	header http.Header
	status int
	body   *bytes.Buffer
	corr   string
	strict bool
}

// bufPool recycles response buffers: bodies run to tens of kilobytes.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // let the odd huge body go
		b.Reset()
		bufPool.Put(b)
	}
}

// json writes v as the response body with status.
func (w *resp) json(status int, v any) {
	w.status = status
	w.header.Set("Content-Type", "application/json")
	w.body.Reset()
	enc := json.NewEncoder(w.body)
	enc.SetEscapeHTML(false) // Genesys (Jackson) does not escape <, >, &
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("sim: encode %T: %v", v, err))
	}
	w.body.Truncate(w.body.Len() - 1) // Encode's newline
}

// error writes a Genesys error body.
func (w *resp) error(status int, code, msg string) {
	w.json(status, errorBody(status, code, msg, w.corr))
}

// errorParams writes a Genesys error body whose message is also given
// with its parameters: messageWithParams names them in braces,
// messageParams gives their values, and message is the text with the
// values in place.
func (w *resp) errorParams(status int, code, withParams string, params map[string]string) {
	msg := withParams
	for k, v := range params {
		msg = strings.ReplaceAll(msg, "{"+k+"}", v)
	}
	b := errorBody(status, code, msg, w.corr)
	b.MessageWithParams, b.MessageParams = withParams, params
	w.json(status, b)
}

func (w *resp) notFound(what string) {
	w.error(http.StatusNotFound, genesys.CodeNotFound, "The requested "+what+" could not be found.")
}

func (w *resp) badRequest(format string, args ...any) {
	w.error(http.StatusBadRequest, genesys.CodeBadRequest, fmt.Sprintf(format, args...))
}

func (w *resp) noContent(status int) {
	w.status = status
	w.body.Reset()
}

// decode reads a JSON body into v; on failure it writes the 400 and
// returns false.
func (w *resp) decode(r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		w.badRequest("could not read the request body: %v", err)
		return false
	}
	if len(body) > maxBodyBytes {
		w.error(http.StatusRequestEntityTooLarge, "request.entity.too.large", "The request body is too large.")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if w.strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		w.badRequest("The request could not be understood by the server due to malformed syntax: %v", err)
		return false
	}
	if dec.More() {
		w.badRequest("The request could not be understood by the server due to malformed syntax: trailing data after the JSON value")
		return false
	}
	return true
}

func errorBody(status int, code, msg, corr string) genesys.ErrorBody {
	return genesys.ErrorBody{Status: status, Code: code, Message: msg, ContextID: corr, Details: []genesys.Detail{}, Errors: []genesys.ErrorBody{}}
}

func writeErrorTo(w http.ResponseWriter, status int, code, msg, corr string) {
	b, _ := json.Marshal(errorBody(status, code, msg, corr))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s must be an integer, not %q", name, v)
	}
	return n, nil
}
