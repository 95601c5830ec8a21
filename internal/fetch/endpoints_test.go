package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
)

// seenRequest is what the fake API saw of one request.
type seenRequest struct {
	Method, RequestURI, Path, RawQuery string
	Header                             http.Header
	Body                               string
}

// recorder answers every API request with body and records it.
type recorder struct {
	mu   sync.Mutex
	reqs []seenRequest
	body string
}

func (rc *recorder) handle(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, seenRequest{r.Method, r.RequestURI, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
	body := rc.body
	rc.mu.Unlock()
	w.Header().Set("ININ-Correlation-Id", "corr-1")
	writeJSON(w, 200, body)
}

func (rc *recorder) last(t *testing.T) seenRequest {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return rc.reqs[len(rc.reqs)-1]
}

func TestResponseMetadataAndRawBody(t *testing.T) {
	// Odd spacing, key order and escapes: the body must come back byte for
	// byte, never re-encoded.
	raw := "{ \"participants\" : [], \"id\":\"c1\",\n \"name\":\"caf\\u00e9\" }"
	rc := &recorder{body: raw}
	f := newFakeAPI(t, rc.handle)
	c := f.client(newFakeClock())
	conv, resp, err := c.GetMessageConversation(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != raw {
		t.Errorf("body %q, want the raw %q", resp.Body, raw)
	}
	if conv.ID != "c1" || conv.Name != "café" {
		t.Errorf("decoded %+v", conv)
	}
	if resp.Method != "GET" || resp.Path != "/api/v2/conversations/messages/c1" || resp.Status != 200 ||
		resp.CorrelationID != "corr-1" || resp.Route != RouteMessageConversation || resp.Attempts != 1 ||
		resp.Header.Get("Content-Type") != "application/json" || resp.Received.IsZero() {
		t.Errorf("response metadata %+v", resp)
	}
	got := rc.last(t)
	if ua := got.Header.Get("User-Agent"); ua != "custody/test" {
		t.Errorf("User-Agent %q", ua)
	}
	if a := got.Header.Get("Accept"); a != "application/json" {
		t.Errorf("Accept %q", a)
	}
}

func TestPathIDsEscaped(t *testing.T) {
	rc := &recorder{body: `{"id":"x","timestamp":"t"}`}
	f := newFakeAPI(t, rc.handle)
	c := f.client(newFakeClock())
	ctx := context.Background()

	for _, tc := range []struct{ conv, msg, wantURI string }{
		{"a/b", "m", "/api/v2/conversations/messages/a%2Fb/messages/m"},
		{"../../users", "m", "/api/v2/conversations/messages/..%2F..%2Fusers/messages/m"},
		{"c", "m?x=1#f", "/api/v2/conversations/messages/c/messages/m%3Fx=1%23f"},
		{"c", "100%", "/api/v2/conversations/messages/c/messages/100%25"},
		{"c d", "é", "/api/v2/conversations/messages/c%20d/messages/%C3%A9"},
	} {
		_, resp, err := c.GetMessage(ctx, tc.conv, tc.msg)
		if err != nil {
			t.Fatalf("GetMessage(%q, %q): %v", tc.conv, tc.msg, err)
		}
		if got := rc.last(t).RequestURI; got != tc.wantURI {
			t.Errorf("GetMessage(%q, %q) sent %s, want %s", tc.conv, tc.msg, got, tc.wantURI)
		}
		if resp.Path != tc.wantURI {
			t.Errorf("Response.Path %q, want %q", resp.Path, tc.wantURI)
		}
	}

	before := f.apiCalls.Load()
	for _, id := range []string{"", ".", "..", "a\x00b", "a\nb", "\x7f", strings.Repeat("x", 300), "\xff"} {
		if _, _, err := c.GetMessage(ctx, "c1", id); !errors.Is(err, ErrBadID) {
			t.Errorf("GetMessage(c1, %q) err = %v, want ErrBadID", id, err)
		}
		if _, _, err := c.GetConversation(ctx, id); !errors.Is(err, ErrBadID) {
			t.Errorf("GetConversation(%q) err = %v, want ErrBadID", id, err)
		}
		if _, _, err := c.BulkMessages(ctx, "c1", []string{"ok", id}); !errors.Is(err, ErrBadID) {
			t.Errorf("BulkMessages with %q err = %v, want ErrBadID", id, err)
		}
	}
	if f.apiCalls.Load() != before {
		t.Error("a request was sent for a bad id")
	}
}

func TestEndpointRequests(t *testing.T) {
	ctx := context.Background()
	q := genesys.AsyncConversationQuery{Interval: "2025-01-01T00:00:00.000Z/2025-01-02T00:00:00.000Z", SegmentFilters: WhatsAppSegmentFilter("")}
	for _, tc := range []struct {
		name       string
		body       string // answered
		call       func(c *Client) (any, error)
		method     string
		uri        string
		reqBody    string // "" for none
		wantResult any
	}{
		{"create job", `{"jobId":"job-1"}`,
			func(c *Client) (any, error) { id, _, err := c.CreateConversationDetailsJob(ctx, q); return id, err },
			"POST", "/api/v2/analytics/conversations/details/jobs", mustJSON(q), "job-1"},
		{"job status", `{"state":"FULFILLED"}`,
			func(c *Client) (any, error) {
				s, _, err := c.ConversationDetailsJobStatus(ctx, "job-1")
				return s.State, err
			},
			"GET", "/api/v2/analytics/conversations/details/jobs/job-1", "", "FULFILLED"},
		{"job results", `{"conversations":[{"conversationId":"c1","conversationStart":"s"}],"cursor":"n"}`,
			func(c *Client) (any, error) {
				p, _, err := c.ConversationDetailsJobResults(ctx, "job-1", "a b&c", 500)
				return p.Cursor + "/" + p.Conversations[0].ConversationID, err
			},
			"GET", "/api/v2/analytics/conversations/details/jobs/job-1/results?cursor=a+b%26c&pageSize=500", "", "n/c1"},
		{"job results first page", `{"conversations":[]}`,
			func(c *Client) (any, error) {
				p, _, err := c.ConversationDetailsJobResults(ctx, "job-1", "", 0)
				return len(p.Conversations), err
			},
			"GET", "/api/v2/analytics/conversations/details/jobs/job-1/results", "", 0},
		{"cancel job", ``,
			func(c *Client) (any, error) {
				r, err := c.CancelConversationDetailsJob(ctx, "job-1")
				return r.Status, err
			},
			"DELETE", "/api/v2/analytics/conversations/details/jobs/job-1", "", 200},
		{"details query", `{"conversations":[],"totalHits":7}`,
			func(c *Client) (any, error) {
				r, _, err := c.QueryConversationDetails(ctx, genesys.ConversationQuery{Interval: "i", Paging: &genesys.PagingSpec{PageSize: 100, PageNumber: 2}})
				return r.TotalHits, err
			},
			"POST", "/api/v2/analytics/conversations/details/query", `{"interval":"i","paging":{"pageSize":100,"pageNumber":2}}`, 7},
		{"conversation", `{"id":"c1","participants":[],"recordingState":"none"}`,
			func(c *Client) (any, error) { v, _, err := c.GetConversation(ctx, "c1"); return v.RecordingState, err },
			"GET", "/api/v2/conversations/c1", "", "none"},
		{"message", `{"id":"m1","timestamp":"2025-01-01T00:00:00.123Z"}`,
			func(c *Client) (any, error) { v, _, err := c.GetMessage(ctx, "c1", "m1"); return v.Timestamp, err },
			"GET", "/api/v2/conversations/messages/c1/messages/m1", "", "2025-01-01T00:00:00.123Z"},
		{"bulk messages", `{"entities":[{"id":"m1","timestamp":"t"},{"id":"m2","timestamp":"t"}]}`,
			func(c *Client) (any, error) {
				v, _, err := c.BulkMessages(ctx, "c1", []string{"m1", "m2"})
				return len(v.Entities), err
			},
			"POST", "/api/v2/conversations/messages/c1/messages/bulk", `["m1","m2"]`, 2},
		{"deletion protection", `[{"id":"c2","selfUri":"/x"},{"id":"not-asked"}]`,
			func(c *Client) (any, error) {
				v, _, err := c.DeletionProtection(ctx, []string{"c1", "c2"})
				return v, err
			},
			"POST", "/api/v2/recordings/deletionprotection", `{"conversationIds":["c1","c2"]}`, map[string]bool{"c1": false, "c2": true}},
		{"audit query", `{"id":"tx-1","state":"Queued"}`,
			func(c *Client) (any, error) {
				v, _, err := c.QueryAudits(ctx, genesys.AuditQueryRequest{Interval: "i", ServiceName: "Recording"})
				return v.ID, err
			},
			"POST", "/api/v2/audits/query", `{"interval":"i","serviceName":"Recording"}`, "tx-1"},
		{"audit status", `{"id":"tx-1","state":"Succeeded"}`,
			func(c *Client) (any, error) { v, _, err := c.AuditQueryStatus(ctx, "tx-1"); return v.State, err },
			"GET", "/api/v2/audits/query/tx-1", "", "Succeeded"},
		{"audit results", `{"id":"tx-1","pageSize":500,"entities":[{"id":"e1"}]}`,
			func(c *Client) (any, error) {
				v, _, err := c.AuditQueryResults(ctx, "tx-1", "cur", 500)
				return v.Entities[0].ID, err
			},
			"GET", "/api/v2/audits/query/tx-1/results?cursor=cur&pageSize=500", "", "e1"},
		{"recording job create", `{"id":"rj-1","state":"PENDING","totalConversations":0,"totalRecordings":0,"totalSkippedRecordings":0,"totalFailedRecordings":0,"totalProcessedRecordings":0,"percentProgress":0}`,
			func(c *Client) (any, error) {
				v, _, err := c.CreateRecordingJob(ctx, genesys.RecordingJobsQuery{Action: "EXPORT"})
				return v.ID, err
			},
			"POST", "/api/v2/recording/jobs", `{"action":"EXPORT"}`, "rj-1"},
		{"recording job", `{"id":"rj-1","state":"READY","totalConversations":3,"totalRecordings":0,"totalSkippedRecordings":0,"totalFailedRecordings":0,"totalProcessedRecordings":0,"percentProgress":0}`,
			func(c *Client) (any, error) {
				v, _, err := c.RecordingJob(ctx, "rj-1")
				return v.TotalConversations, err
			},
			"GET", "/api/v2/recording/jobs/rj-1", "", 3},
		{"recording job start", `{"id":"rj-1","state":"PROCESSING","totalConversations":3,"totalRecordings":0,"totalSkippedRecordings":0,"totalFailedRecordings":0,"totalProcessedRecordings":0,"percentProgress":0}`,
			func(c *Client) (any, error) {
				v, _, err := c.SetRecordingJobState(ctx, "rj-1", genesys.RecJobProcessing)
				return v.State, err
			},
			"PUT", "/api/v2/recording/jobs/rj-1", `{"state":"PROCESSING"}`, "PROCESSING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recorder{body: tc.body}
			f := newFakeAPI(t, rc.handle)
			c := f.client(newFakeClock())
			got, err := tc.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.wantResult) {
				t.Errorf("result %#v, want %#v", got, tc.wantResult)
			}
			r := rc.last(t)
			if r.Method != tc.method || r.RequestURI != tc.uri {
				t.Errorf("sent %s %s, want %s %s", r.Method, r.RequestURI, tc.method, tc.uri)
			}
			if r.Body != tc.reqBody {
				t.Errorf("body %s, want %s", r.Body, tc.reqBody)
			}
			if tc.reqBody != "" && r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
			if r.Header.Get("Authorization") != "Bearer tok-1" {
				t.Errorf("Authorization %q", r.Header.Get("Authorization"))
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestIDListLimits(t *testing.T) {
	rc := &recorder{body: `{"entities":[]}`}
	f := newFakeAPI(t, rc.handle)
	c := f.client(newFakeClock())
	ctx := context.Background()
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint("id", i)
		}
		return out
	}
	if _, _, err := c.BulkMessages(ctx, "c1", ids(1000)); err != nil {
		t.Errorf("1000 ids: %v", err)
	}
	if got := rc.last(t).RawQuery; got != "" {
		t.Errorf("query %q", got)
	}
	for _, n := range []int{0, 1001} {
		if _, _, err := c.BulkMessages(ctx, "c1", ids(n)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%d ids: err = %v, want ErrInvalidArgument", n, err)
		}
	}
	for _, n := range []int{0, 101} {
		if _, _, err := c.DeletionProtection(ctx, ids(n)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("deletion protection %d ids: err = %v", n, err)
		}
	}
	if _, _, err := c.AuditQueryResults(ctx, "tx", "", 501); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("audit pageSize 501: err = %v", err)
	}
	if f.apiCalls.Load() != 1 {
		t.Errorf("api calls %d, want 1", f.apiCalls.Load())
	}
	chunks := Chunks(ids(2500), 1000)
	if len(chunks) != 3 || len(chunks[0]) != 1000 || len(chunks[2]) != 500 || chunks[2][499] != "id2499" {
		t.Errorf("Chunks: %d chunks", len(chunks))
	}
	// Appending to a chunk must not clobber the next one.
	_ = append(chunks[0], "x")
	if chunks[1][0] != "id1000" {
		t.Error("chunks share capacity")
	}
	if Chunks(nil, 10) != nil {
		t.Error("Chunks(nil) not nil")
	}
}

func TestDecodeShapeErrors(t *testing.T) {
	for _, body := range []string{`null`, `[]`, `{"id":5}`, `"x"`, `{"participants":{}}`} {
		t.Run(body, func(t *testing.T) {
			rc := &recorder{body: body}
			f := newFakeAPI(t, rc.handle)
			c := f.client(newFakeClock())
			v, resp, err := c.GetConversation(context.Background(), "c1")
			if !errors.Is(err, ErrMalformedBody) || v != nil {
				t.Fatalf("err = %v, want ErrMalformedBody", err)
			}
			if resp == nil || string(resp.Body) != body {
				t.Error("the raw Response must come back with a decode error")
			}
			if f.apiCalls.Load() != 1 {
				t.Error("valid JSON of the wrong shape must not be retried")
			}
		})
	}
	// A job id that could not be used in a path is refused at once.
	rc := &recorder{body: `{"jobId":".."}`}
	f := newFakeAPI(t, rc.handle)
	c := f.client(newFakeClock())
	if _, _, err := c.CreateConversationDetailsJob(context.Background(), genesys.AsyncConversationQuery{Interval: "i"}); !errors.Is(err, ErrBadID) {
		t.Errorf("jobId \"..\": err = %v", err)
	}
}

func TestAPIErrorMatching(t *testing.T) {
	for status, want := range map[int]error{404: ErrNotFound, 401: ErrUnauthorized, 403: ErrForbidden, 429: ErrRateLimited, 400: ErrBadRequest} {
		e := &APIError{Status: status, Method: "GET", Path: "/p"}
		if !errors.Is(e, want) || errors.Unwrap(e) != want {
			t.Errorf("%d does not match %v", status, want)
		}
		wrapped := fmt.Errorf("export: %w", e)
		if !errors.Is(wrapped, want) {
			t.Errorf("wrapped %d does not match", status)
		}
		for _, other := range []error{ErrNotFound, ErrUnauthorized, ErrForbidden, ErrRateLimited, ErrBadRequest} {
			if other != want && errors.Is(e, other) {
				t.Errorf("%d matches %v too", status, other)
			}
		}
	}
	e := &APIError{Status: 500, Method: "GET", Path: "/p", CorrelationID: "c", Body: genesys.ErrorBody{Code: "internal", Message: "boom"}}
	if errors.Unwrap(e) != nil || errors.Is(e, ErrNotFound) {
		t.Error("500 matches a sentinel")
	}
	if got := e.Error(); got != "fetch: GET /p: 500 Internal Server Error: internal: boom (correlation id c)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestWhatsAppSegmentFilter(t *testing.T) {
	got := mustJSON(WhatsAppSegmentFilter(""))
	want := `[{"type":"and","predicates":[{"type":"dimension","dimension":"mediaType","operator":"matches","value":"message"},{"type":"dimension","dimension":"messageType","operator":"matches","value":"whatsapp"}]}]`
	if got != want {
		t.Errorf("filter\n got %s\nwant %s", got, want)
	}
	if f := WhatsAppSegmentFilter("sms"); f[0].Predicates[1].Value != "sms" {
		t.Errorf("messageType not used: %+v", f)
	}
}
