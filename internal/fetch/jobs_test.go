package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// fakeJobs serves one analytics job: pendingPolls PENDING answers, then
// finalState, and pages of results chained by cursors "p1", "p2", ….
type fakeJobs struct {
	mu           sync.Mutex
	creates      int
	polls        int
	pendingPolls int
	finalState   string
	pages        [][]string // conversation ids per page
	repeatCursor bool       // hostile: the last page points back to p1
	resultsURIs  []string
}

func (j *fakeJobs) handle(w http.ResponseWriter, r *http.Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	const base = "/api/v2/analytics/conversations/details/jobs"
	switch {
	case r.Method == "POST" && r.URL.Path == base:
		j.creates++
		writeJSON(w, 202, `{"jobId":"job-7"}`)
	case r.Method == "GET" && r.URL.Path == base+"/job-7":
		j.polls++
		state := genesys.JobPending
		if j.polls > j.pendingPolls {
			state = j.finalState
		}
		writeJSON(w, 200, fmt.Sprintf(`{"state":%q,"errorMessage":"disk on fire"}`, state))
	case r.Method == "GET" && r.URL.Path == base+"/job-7/results":
		j.resultsURIs = append(j.resultsURIs, r.URL.RawQuery)
		i := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			fmt.Sscanf(c, "p%d", &i)
		}
		var convs []string
		for _, id := range j.pages[i] {
			convs = append(convs, fmt.Sprintf(`{"conversationId":%q,"conversationStart":"2025-01-01T00:00:00.000Z"}`, id))
		}
		cursor := ""
		if i+1 < len(j.pages) {
			cursor = fmt.Sprintf(`,"cursor":"p%d"`, i+1)
		} else if j.repeatCursor {
			cursor = `,"cursor":"p1"`
		}
		writeJSON(w, 200, `{"conversations":[`+strings.Join(convs, ",")+`]`+cursor+`}`)
	default:
		http.NotFound(w, r)
	}
}

func collect(t *testing.T, it func(func(*ConversationPage, error) bool)) ([]string, []string, error) {
	t.Helper()
	var ids, cursors []string
	for p, err := range it {
		if err != nil {
			return ids, cursors, err
		}
		cursors = append(cursors, p.Cursor)
		for _, c := range p.Page.Conversations {
			ids = append(ids, c.ConversationID)
		}
		if p.JobID != "job-7" || p.Response == nil || !strings.Contains(string(p.Response.Body), "conversations") {
			t.Errorf("page %+v", p)
		}
	}
	return ids, cursors, nil
}

func TestListConversations(t *testing.T) {
	j := &fakeJobs{pendingPolls: 3, finalState: genesys.JobFulfilled, pages: [][]string{{"a", "b"}, {"c"}, {"d", "e"}}}
	f := newFakeAPI(t, j.handle)
	clk := newFakeClock()
	c := f.client(clk, func(cfg *Config) { cfg.PollInitial = 2 * time.Second; cfg.PollMax = 4 * time.Second })
	var seen []string
	opt := ListOptions{PageSize: 2, OnResponse: func(r *Response) { seen = append(seen, r.Route) }}
	q := genesys.AsyncConversationQuery{Interval: Interval(clk.Now().Add(-24*time.Hour), clk.Now()), SegmentFilters: WhatsAppSegmentFilter("")}
	ids, cursors, err := collect(t, c.ListConversations(context.Background(), q, opt))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "a,b,c,d,e" || strings.Join(cursors, ",") != ",p1,p2" {
		t.Errorf("ids %v cursors %q", ids, cursors)
	}
	if j.creates != 1 || j.polls != 4 {
		t.Errorf("creates %d polls %d; want 1, 4", j.creates, j.polls)
	}
	// First check at once, then 2s, 3s, 4s (capped).
	if got := fmt.Sprint(clk.Sleeps()); got != "[2s 3s 4s]" {
		t.Errorf("poll waits %s", got)
	}
	if len(seen) != 5 || seen[0] != RouteJobCreate || seen[4] != RouteJobStatus {
		t.Errorf("OnResponse saw %v", seen)
	}
	if j.resultsURIs[0] != "pageSize=2" || j.resultsURIs[1] != "cursor=p1&pageSize=2" {
		t.Errorf("results queries %v", j.resultsURIs)
	}
}

func TestListConversationsResume(t *testing.T) {
	j := &fakeJobs{finalState: genesys.JobFulfilled, pages: [][]string{{"a"}, {"b"}, {"c"}}}
	f := newFakeAPI(t, j.handle)
	c := f.client(newFakeClock())
	ids, cursors, err := collect(t, c.ListConversations(context.Background(), genesys.AsyncConversationQuery{}, ListOptions{JobID: "job-7", Cursor: "p1"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "b,c" || strings.Join(cursors, ",") != "p1,p2" || j.creates != 0 {
		t.Errorf("ids %v cursors %v creates %d", ids, cursors, j.creates)
	}
}

func TestListConversationsStopsEarly(t *testing.T) {
	j := &fakeJobs{finalState: genesys.JobFulfilled, pages: [][]string{{"a"}, {"b"}, {"c"}}}
	f := newFakeAPI(t, j.handle)
	c := f.client(newFakeClock())
	n := 0
	for _, err := range c.ListConversations(context.Background(), genesys.AsyncConversationQuery{}, ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 || len(j.resultsURIs) != 1 {
		t.Errorf("pages %d, results requests %d; want 1, 1", n, len(j.resultsURIs))
	}
}

func TestListConversationsFailures(t *testing.T) {
	t.Run("job failed", func(t *testing.T) {
		j := &fakeJobs{pendingPolls: 1, finalState: genesys.JobFailed}
		f := newFakeAPI(t, j.handle)
		c := f.client(newFakeClock())
		_, _, err := collect(t, c.ListConversations(context.Background(), genesys.AsyncConversationQuery{}, ListOptions{}))
		if !errors.Is(err, ErrJobFailed) || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("poll timeout", func(t *testing.T) {
		j := &fakeJobs{pendingPolls: 1 << 30}
		f := newFakeAPI(t, j.handle)
		c := f.client(newFakeClock(), func(cfg *Config) { cfg.PollTimeout = time.Minute; cfg.PollMax = 10 * time.Second })
		_, _, err := collect(t, c.ListConversations(context.Background(), genesys.AsyncConversationQuery{}, ListOptions{}))
		if !errors.Is(err, ErrJobFailed) || !strings.Contains(err.Error(), "PENDING") {
			t.Fatalf("err = %v", err)
		}
		// 0.5 s growing by half, capped at 10 s: 12 polls fill a minute.
		if j.polls > 12 {
			t.Errorf("%d polls within a one-minute timeout", j.polls)
		}
	})
	t.Run("cursor loop", func(t *testing.T) {
		j := &fakeJobs{finalState: genesys.JobFulfilled, pages: [][]string{{"a"}, {"b"}}, repeatCursor: true}
		f := newFakeAPI(t, j.handle)
		c := f.client(newFakeClock())
		ids, _, err := collect(t, c.ListConversations(context.Background(), genesys.AsyncConversationQuery{}, ListOptions{}))
		if !errors.Is(err, ErrMalformedBody) || len(ids) != 1 {
			t.Fatalf("ids %v err = %v", ids, err)
		}
	})
	t.Run("empty pages without end", func(t *testing.T) {
		// A fresh cursor with every empty page: refused after
		// maxEmptyPages in a row; fewer, then results, are read through.
		few := append(append([][]string{{"a"}}, make([][]string, maxEmptyPages-1)...), []string{"b"})
		many := append([][]string{{"a"}}, make([][]string, 3*maxEmptyPages)...)
		for _, tc := range []struct {
			pages [][]string
			ids   string
			fails bool
		}{{few, "a b", false}, {many, "a", true}} {
			j := &fakeJobs{finalState: genesys.JobFulfilled, pages: tc.pages}
			f := newFakeAPI(t, j.handle)
			ids, _, err := collect(t, f.client(newFakeClock()).ListConversations(context.Background(), genesys.AsyncConversationQuery{}, ListOptions{}))
			if errors.Is(err, ErrMalformedBody) != tc.fails || strings.Join(ids, " ") != tc.ids || len(j.resultsURIs) > maxEmptyPages+2 {
				t.Errorf("%d pages: ids %v after %d requests, err = %v", len(tc.pages), ids, len(j.resultsURIs), err)
			}
		}
	})
	t.Run("cancelled while polling", func(t *testing.T) {
		j := &fakeJobs{pendingPolls: 1 << 30}
		f := newFakeAPI(t, j.handle)
		clk := newFakeClock()
		ctx, cancel := context.WithCancel(context.Background())
		clk.onSleep = func(time.Duration) { cancel() }
		c := f.client(clk)
		_, _, err := collect(t, c.ListConversations(ctx, genesys.AsyncConversationQuery{}, ListOptions{}))
		if !errors.Is(err, context.Canceled) || j.polls != 1 {
			t.Fatalf("polls %d err = %v", j.polls, err)
		}
	})
}

func TestListAudits(t *testing.T) {
	var polls atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v2/audits/query":
			writeJSON(w, 200, `{"id":"tx-1","state":"Queued"}`)
		case r.URL.Path == "/api/v2/audits/query/tx-1":
			state := genesys.AuditRunning
			if polls.Add(1) > 1 {
				state = genesys.AuditSucceeded
			}
			writeJSON(w, 200, fmt.Sprintf(`{"id":"tx-1","state":%q}`, state))
		case r.URL.Path == "/api/v2/audits/query/tx-1/results":
			if r.URL.Query().Get("cursor") == "" {
				writeJSON(w, 200, `{"id":"tx-1","pageSize":1,"cursor":"n","entities":[{"id":"e1"}]}`)
				return
			}
			writeJSON(w, 200, `{"id":"tx-1","pageSize":1,"entities":[{"id":"e2"}]}`)
		default:
			http.NotFound(w, r)
		}
	})
	c := f.client(newFakeClock())
	var ids []string
	for p, err := range c.ListAudits(context.Background(), genesys.AuditQueryRequest{Interval: "i", ServiceName: "Recording"}, ListOptions{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Page.Entities {
			ids = append(ids, e.ID)
		}
	}
	if strings.Join(ids, ",") != "e1,e2" || polls.Load() != 2 {
		t.Errorf("ids %v polls %d", ids, polls.Load())
	}
}

func TestInterval(t *testing.T) {
	s := time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))
	if got := Interval(s, s.Add(time.Hour)); got != "2025-01-02T02:04:05.006Z/2025-01-02T03:04:05.006Z" {
		t.Errorf("Interval = %s", got)
	}
}

// TestListConversationsRefusedResults: a results request refused with
// 400 is Genesys's answer to that request. Only the job's status, read
// again, or a refused cursor says the listing expired; a first page
// refused at every page size fails with Genesys's error (its message,
// code and correlation id, never the bearer token), not as an expiry.
func TestListConversationsRefusedResults(t *testing.T) {
	const base = "/api/v2/analytics/conversations/details/jobs"
	type server struct {
		refuse func(r *http.Request) int // status to refuse a results request with, 0: serve it
		after  string                    // the job's state once a results request was refused
	}
	run := func(t *testing.T, s server, pageSize int) (ids, queries []string, logs *logBuffer, err error) {
		t.Helper()
		var mu sync.Mutex
		var seen []string
		refused := false
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Method == "POST" && r.URL.Path == base:
				writeJSON(w, 202, `{"jobId":"job-7"}`)
			case r.URL.Path == base+"/job-7":
				state := genesys.JobFulfilled
				if refused && s.after != "" {
					state = s.after
				}
				if state == "gone" {
					w.Header().Set("ININ-Correlation-Id", "corr-status")
					writeJSON(w, 404, `{"status":404,"code":"not.found","message":"The requested job could not be found.","contextId":"corr-status","details":[],"errors":[]}`)
					return
				}
				writeJSON(w, 200, fmt.Sprintf(`{"state":%q}`, state))
			case r.URL.Path == base+"/job-7/results":
				seen = append(seen, r.URL.RawQuery)
				if st := s.refuse(r); st != 0 {
					refused = true
					// A hostile or careless server quoting the request's
					// credentials back in its error.
					w.Header().Set("ININ-Correlation-Id", "corr-42")
					writeJSON(w, st, fmt.Sprintf(`{"status":%d,"code":"bad.request","message":"Invalid request (Authorization: Bearer %s)","messageWithParams":"Invalid request","messageParams":{},"contextId":"corr-42","details":[],"errors":[]}`, st, bearer(r)))
					return
				}
				if r.URL.Query().Get("cursor") == "" {
					writeJSON(w, 200, `{"conversations":[{"conversationId":"a"}],"cursor":"p1"}`)
					return
				}
				writeJSON(w, 200, `{"conversations":[{"conversationId":"b"}]}`)
			default:
				http.NotFound(w, r)
			}
		})
		logs = &logBuffer{}
		c := f.client(newFakeClock(), func(cfg *Config) { cfg.Logger = debugLogger(logs) })
		ids, _, err = collect(t, c.ListConversations(context.Background(), genesys.AsyncConversationQuery{}, ListOptions{PageSize: pageSize}))
		mu.Lock()
		defer mu.Unlock()
		return ids, slices.Clone(seen), logs, err
	}
	tooLarge := func(r *http.Request) int {
		if r.URL.Query().Get("pageSize") == "1000" {
			return 400
		}
		return 0
	}

	t.Run("page size refused, the default accepted", func(t *testing.T) {
		ids, queries, logs, err := run(t, server{refuse: tooLarge}, 1000)
		if err != nil {
			t.Fatalf("err = %v", err)
		}
		if strings.Join(ids, ",") != "a,b" || strings.Join(queries, " ") != "pageSize=1000  cursor=p1" {
			t.Errorf("ids %v, results queries %q; want a,b after pageSize=1000 refused, then the server's default for every page", ids, queries)
		}
		if l := logs.String(); !strings.Contains(l, "server's default page size") || !strings.Contains(l, "bad.request") || !strings.Contains(l, "corr-42") || strings.Contains(l, "tok-1") {
			t.Errorf("warning %q: want Genesys's code and correlation id, never the token", l)
		}
	})
	t.Run("first page refused at every page size", func(t *testing.T) {
		ids, queries, _, err := run(t, server{refuse: func(*http.Request) int { return 400 }}, 1000)
		if !errors.Is(err, ErrBadRequest) || errors.Is(err, ErrListingExpired) || len(ids) != 0 {
			t.Fatalf("ids %v err = %v; want Genesys's 400, not an expiry", ids, err)
		}
		msg := err.Error()
		for _, want := range []string{"400 Bad Request", "bad.request", "Invalid request", "corr-42", "pageSize 1000 and with the server's default page size"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
		}
		if strings.Contains(msg, "tok-1") {
			t.Errorf("error %q holds the bearer token", msg)
		}
		if strings.Join(queries, " ") != "pageSize=1000 " {
			t.Errorf("results queries %q: want one with pageSize, one without, nothing more", queries)
		}
	})
	t.Run("first page refused without a page size", func(t *testing.T) {
		_, queries, _, err := run(t, server{refuse: func(*http.Request) int { return 400 }}, 0)
		if !errors.Is(err, ErrBadRequest) || errors.Is(err, ErrListingExpired) || len(queries) != 1 {
			t.Fatalf("%d results requests, err = %v; want one, and Genesys's 400", len(queries), err)
		}
	})
	// A real expiry is still one: the caller lists again with a new job.
	for _, tc := range []struct {
		name string
		s    server
	}{
		{"job EXPIRED", server{refuse: func(*http.Request) int { return 400 }, after: genesys.JobExpired}},
		{"job gone", server{refuse: func(*http.Request) int { return 400 }, after: "gone"}},
		{"results 404", server{refuse: func(*http.Request) int { return 404 }}},
		{"cursor refused", server{refuse: func(r *http.Request) int {
			if r.URL.Query().Get("cursor") != "" {
				return 400
			}
			return 0
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := run(t, tc.s, 1000)
			if !errors.Is(err, ErrListingExpired) || !strings.Contains(err.Error(), "corr-42") || strings.Contains(err.Error(), "tok-1") {
				t.Fatalf("err = %v; want an expiry quoting Genesys's error", err)
			}
		})
	}
}

// TestJobExpiredWhilePolled: an analytics job that is EXPIRED when its
// status is read (it expired while queued or polled, or a resumed
// listing's job expired meanwhile) is an expiry, ErrListingExpired, which
// the export answers by listing again with a new job. Before, it was only
// ErrJobFailed, and the export failed the run.
func TestJobExpiredWhilePolled(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			writeJSON(w, 202, map[string]string{"jobId": "j1"})
		case strings.HasSuffix(r.URL.Path, "/j1"):
			writeJSON(w, 200, map[string]string{"state": genesys.JobExpired})
		default:
			writeJSON(w, 404, map[string]any{"status": 404})
		}
	})
	c := f.client(newFakeClock())
	n := 0
	for _, err := range c.ListConversations(context.Background(), genesys.AsyncConversationQuery{Interval: "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z"}, ListOptions{}) {
		n++
		if !errors.Is(err, ErrListingExpired) || !errors.Is(err, ErrJobFailed) || !strings.Contains(err.Error(), "EXPIRED") {
			t.Fatalf("err = %v; want an expiry (ErrListingExpired) naming the state", err)
		}
	}
	if n != 1 {
		t.Fatalf("%d results, want the one error", n)
	}
}

// TestListAuditsPollTimeout: ListOptions.PollTimeout bounds the wait for
// an audit query that never succeeds, in place of Config.PollTimeout (an
// hour, an analytics job's): the export's captures wait for the query, and
// a stuck one held them for the hour. Before, the option did not exist
// and the query was polled for the client's whole PollTimeout.
func TestListAuditsPollTimeout(t *testing.T) {
	var polls atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v2/audits/query":
			writeJSON(w, 200, `{"id":"tx-1","state":"Queued"}`)
		case r.URL.Path == "/api/v2/audits/query/tx-1":
			polls.Add(1)
			writeJSON(w, 200, `{"id":"tx-1","state":"Running"}`)
		default:
			http.NotFound(w, r)
		}
	})
	clk := newFakeClock()
	t0 := clk.Now()
	c := f.client(clk, func(cfg *Config) { cfg.PollTimeout = time.Hour; cfg.PollMax = 10 * time.Second })
	var err error
	for _, err = range c.ListAudits(context.Background(), genesys.AuditQueryRequest{Interval: "i", ServiceName: "Quality"}, ListOptions{PollTimeout: time.Minute}) {
	}
	if !errors.Is(err, ErrJobFailed) || !strings.Contains(err.Error(), "Running") || !strings.Contains(err.Error(), "1m0s") {
		t.Fatalf("err = %v, want the query still Running after 1m0s", err)
	}
	if waited := clk.Now().Sub(t0); waited > time.Minute || polls.Load() > 12 {
		t.Errorf("polled %d times over %s, want at most a minute", polls.Load(), waited)
	}
}
