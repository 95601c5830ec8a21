package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/genesys"
)

// Routes: the endpoint templates, used as Stats keys and in Response.Route.
const (
	RouteToken                  = "POST /oauth/token"
	RouteJobCreate              = "POST /api/v2/analytics/conversations/details/jobs"
	RouteJobStatus              = "GET /api/v2/analytics/conversations/details/jobs/{jobId}"
	RouteJobResults             = "GET /api/v2/analytics/conversations/details/jobs/{jobId}/results"
	RouteJobCancel              = "DELETE /api/v2/analytics/conversations/details/jobs/{jobId}"
	RouteDetailsQuery           = "POST /api/v2/analytics/conversations/details/query"
	RouteMessageConversation    = "GET /api/v2/conversations/messages/{conversationId}"
	RouteConversation           = "GET /api/v2/conversations/{conversationId}"
	RouteMessage                = "GET /api/v2/conversations/messages/{conversationId}/messages/{messageId}"
	RouteBulkMessages           = "POST /api/v2/conversations/messages/{conversationId}/messages/bulk"
	RouteDeletionProtection     = "POST /api/v2/recordings/deletionprotection"
	RouteConversationRecordings = "GET /api/v2/conversations/{conversationId}/recordings"
	RouteAuditQuery             = "POST /api/v2/audits/query"
	RouteAuditStatus            = "GET /api/v2/audits/query/{transactionId}"
	RouteAuditResults           = "GET /api/v2/audits/query/{transactionId}/results"
	RouteRecordingJobCreate     = "POST /api/v2/recording/jobs"
	RouteRecordingJob           = "GET /api/v2/recording/jobs/{jobId}"
	RouteRecordingJobUpdate     = "PUT /api/v2/recording/jobs/{jobId}"
	RouteDownload               = "GET {media url}"
)

// maxIDLen bounds ids put in paths; Genesys ids are 36-character UUIDs.
const maxIDLen = 256

// pathID checks an id (which may come from a hostile response) and
// escapes it as one path segment: "a/b" becomes "a%2Fb", so it cannot
// reach another endpoint. "." and ".." are refused outright, since
// servers and proxies may resolve them even when escaped.
func pathID(kind, id string) (string, error) {
	bad := id == "" || id == "." || id == ".." || len(id) > maxIDLen || !utf8.ValidString(id)
	for i := 0; !bad && i < len(id); i++ {
		bad = id[i] < ' ' || id[i] == 0x7f
	}
	if bad {
		return "", fmt.Errorf("fetch: %s id %q: %w", kind, quoteShort(id, 64), ErrBadID)
	}
	return url.PathEscape(id), nil
}

// pathID is the package's pathID with the error redacted: a bad id from a
// hostile server may carry a credential.
func (c *Client) pathID(kind, id string) (string, error) {
	esc, err := pathID(kind, id)
	return esc, c.red.Err(err)
}

// decode unmarshals a 2xx body into a new T. The body was already checked
// to be valid JSON; here its shape is checked. A JSON null is refused:
// it would decode into a silently empty value.
func decode[T any](resp *Response) (*T, error) {
	var v *T // encoding/json leaves it nil for a JSON null
	if err := json.Unmarshal(resp.Body, &v); err != nil {
		return nil, fmt.Errorf("fetch: %s %s: decode: %w: %v", resp.Method, resp.Path, ErrMalformedBody, err)
	}
	if v == nil {
		return nil, fmt.Errorf("fetch: %s %s: decode: %w: null body", resp.Method, resp.Path, ErrMalformedBody)
	}
	return v, nil
}

// call runs r and decodes its body. On a decode error the Response is
// returned too: the raw body is still evidence of what the server said.
func call[T any](ctx context.Context, c *Client, r request) (*T, *Response, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	v, err := decode[T](resp)
	if err != nil {
		return nil, resp, c.red.Err(err)
	}
	return v, resp, nil
}

// apiReq returns a paced, authenticated JSON request on the API host.
func (c *Client) apiReq(method, route, path string, q url.Values, body []byte) request {
	return request{method: method, route: route, base: c.api, path: path, query: q, body: body,
		auth: true, pace: true, jsonBody: true}
}

func jsonBody(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("fetch: %s: encode body: %w", what, err)
	}
	return b, nil
}

// ---- Analytics ----

// CreateConversationDetailsJob starts an async analytics job listing the
// conversations that match q (POST .../details/jobs) and returns its id.
func (c *Client) CreateConversationDetailsJob(ctx context.Context, q genesys.AsyncConversationQuery) (string, *Response, error) {
	body, err := jsonBody("create analytics job", q)
	if err != nil {
		return "", nil, err
	}
	v, resp, err := call[genesys.AsyncQueryResponse](ctx, c, c.apiReq(http.MethodPost, RouteJobCreate,
		"/api/v2/analytics/conversations/details/jobs", nil, body))
	if err != nil {
		return "", resp, err
	}
	if _, err := c.pathID("job", v.JobID); err != nil {
		return "", resp, fmt.Errorf("fetch: create analytics job: response: %w", err)
	}
	return v.JobID, resp, nil
}

// ConversationDetailsJobStatus returns the state of an analytics job.
func (c *Client) ConversationDetailsJobStatus(ctx context.Context, jobID string) (*genesys.AsyncQueryStatus, *Response, error) {
	id, err := c.pathID("job", jobID)
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.AsyncQueryStatus](ctx, c, c.apiReq(http.MethodGet, RouteJobStatus,
		"/api/v2/analytics/conversations/details/jobs/"+id, nil, nil))
}

// ConversationDetailsJobResults returns one page of a fulfilled job's
// results; cursor "" asks for the first page, pageSize ≤ 0 for the
// server's default. The page's Cursor is empty on the last page.
func (c *Client) ConversationDetailsJobResults(ctx context.Context, jobID, cursor string, pageSize int) (*genesys.AnalyticsConversationAsyncQueryResponse, *Response, error) {
	id, err := c.pathID("job", jobID)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	return call[genesys.AnalyticsConversationAsyncQueryResponse](ctx, c, c.apiReq(http.MethodGet, RouteJobResults,
		"/api/v2/analytics/conversations/details/jobs/"+id+"/results", q, nil))
}

// CancelConversationDetailsJob deletes an analytics job.
func (c *Client) CancelConversationDetailsJob(ctx context.Context, jobID string) (*Response, error) {
	id, err := c.pathID("job", jobID)
	if err != nil {
		return nil, err
	}
	r := c.apiReq(http.MethodDelete, RouteJobCancel, "/api/v2/analytics/conversations/details/jobs/"+id, nil, nil)
	r.allowEmpty = true
	return c.do(ctx, r)
}

// QueryConversationDetails runs the synchronous analytics query, for small
// listings (Genesys discourages it for bulk export: use ListConversations).
func (c *Client) QueryConversationDetails(ctx context.Context, q genesys.ConversationQuery) (*genesys.AnalyticsConversationQueryResponse, *Response, error) {
	body, err := jsonBody("query conversation details", q)
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.AnalyticsConversationQueryResponse](ctx, c, c.apiReq(http.MethodPost, RouteDetailsQuery,
		"/api/v2/analytics/conversations/details/query", nil, body))
}

// ---- Conversations and messages ----

// GetMessageConversation returns a message conversation with its
// participants and their messages[] (ids, status, times).
func (c *Client) GetMessageConversation(ctx context.Context, conversationID string) (*genesys.MessageConversation, *Response, error) {
	id, err := c.pathID("conversation", conversationID)
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.MessageConversation](ctx, c, c.apiReq(http.MethodGet, RouteMessageConversation,
		"/api/v2/conversations/messages/"+id, nil, nil))
}

// GetConversation returns the generic conversation (recordingState,
// divisions, …).
func (c *Client) GetConversation(ctx context.Context, conversationID string) (*genesys.Conversation, *Response, error) {
	id, err := c.pathID("conversation", conversationID)
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.Conversation](ctx, c, c.apiReq(http.MethodGet, RouteConversation,
		"/api/v2/conversations/"+id, nil, nil))
}

// GetMessage returns one message of a message conversation.
func (c *Client) GetMessage(ctx context.Context, conversationID, messageID string) (*genesys.MessageData, *Response, error) {
	cid, err := c.pathID("conversation", conversationID)
	if err != nil {
		return nil, nil, err
	}
	mid, err := c.pathID("message", messageID)
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.MessageData](ctx, c, c.apiReq(http.MethodGet, RouteMessage,
		"/api/v2/conversations/messages/"+cid+"/messages/"+mid, nil, nil))
}

// ConversationRecordings returns the recordings the Recordings service
// holds for a conversation (formatId NONE: no media is transcoded; a
// message conversation's recording is its messagingTranscript). Its
// attachments outlive the messages API's urls for them, which stop
// working 30 days after the message. A 202 (not ready within maxWaitMs)
// is ErrNotReady, for the caller to try again later.
func (c *Client) ConversationRecordings(ctx context.Context, conversationID string) ([]genesys.Recording, *Response, error) {
	cid, err := c.pathID("conversation", conversationID)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{"maxWaitMs": {"5000"}, "formatId": {"NONE"}}
	req := c.apiReq(http.MethodGet, RouteConversationRecordings, "/api/v2/conversations/"+cid+"/recordings", q, nil)
	req.allowEmpty = true // a 202 may have no body
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	if resp.Status == http.StatusAccepted {
		return nil, resp, fmt.Errorf("fetch: recordings of %s: %w", conversationID, ErrNotReady)
	}
	if len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil, resp, fmt.Errorf("fetch: recordings of %s: %w: an empty body", conversationID, ErrMalformedBody)
	}
	v, err := decode[[]genesys.Recording](resp)
	if err != nil {
		return nil, resp, c.red.Err(err)
	}
	return *v, resp, nil
}

// BulkMessages returns the messages with the given ids of one conversation
// in one call. It takes 1 to genesys.MaxBulkMessageIDs (1,000) ids and
// refuses more with ErrInvalidArgument rather than splitting them: one call
// is one Response, one piece of evidence. Use Chunks to split a longer list.
// It sends no useNormalizedMessage: Genesys removed the parameter, with
// textBody and media, on 2026-03-31; content is in normalizedMessage.
func (c *Client) BulkMessages(ctx context.Context, conversationID string, ids []string) (*genesys.TextMessageListing, *Response, error) {
	resp, err := c.BulkMessagesRaw(ctx, conversationID, ids)
	if err != nil {
		return nil, nil, err
	}
	v, err := decode[genesys.TextMessageListing](resp)
	if err != nil {
		return nil, resp, c.red.Err(err)
	}
	return v, resp, nil
}

// BulkMessagesRaw is BulkMessages without decoding the listing: the body,
// checked to be JSON as every response is, is the caller's to read. The
// export splits it once (derive.MessagesIn) and decodes each message
// once, rather than decoding the whole listing first and throwing it away.
func (c *Client) BulkMessagesRaw(ctx context.Context, conversationID string, ids []string) (*Response, error) {
	cid, err := c.pathID("conversation", conversationID)
	if err != nil {
		return nil, err
	}
	if err := checkIDs("bulk messages", ids, genesys.MaxBulkMessageIDs); err != nil {
		return nil, c.red.Err(err)
	}
	body, err := jsonBody("bulk messages", ids)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, c.apiReq(http.MethodPost, RouteBulkMessages,
		"/api/v2/conversations/messages/"+cid+"/messages/bulk", nil, body))
}

// DeletionProtection asks which of 1 to genesys.MaxDeletionProtectionIDs
// (100) conversations are under recording deletion protection (legal
// hold). The map has every requested id, true if protected; ids the
// server names that were not asked about are ignored.
func (c *Client) DeletionProtection(ctx context.Context, conversationIDs []string) (map[string]bool, *Response, error) {
	if err := checkIDs("deletion protection", conversationIDs, genesys.MaxDeletionProtectionIDs); err != nil {
		return nil, nil, c.red.Err(err)
	}
	body, err := jsonBody("deletion protection", genesys.DeletionProtectionQuery{ConversationIDs: conversationIDs})
	if err != nil {
		return nil, nil, err
	}
	refs, resp, err := call[[]genesys.EntityRef](ctx, c, c.apiReq(http.MethodPost, RouteDeletionProtection,
		"/api/v2/recordings/deletionprotection", nil, body))
	if err != nil {
		return nil, resp, err
	}
	out := make(map[string]bool, len(conversationIDs))
	for _, id := range conversationIDs {
		out[id] = false
	}
	for _, r := range *refs {
		if _, asked := out[r.ID]; asked {
			out[r.ID] = true
		}
	}
	return out, resp, nil
}

// checkIDs validates a list of ids sent in a body.
func checkIDs(what string, ids []string, max int) error {
	if len(ids) == 0 {
		return fmt.Errorf("fetch: %s: %w: no ids", what, ErrInvalidArgument)
	}
	if len(ids) > max {
		return fmt.Errorf("fetch: %s: %w: %d ids, at most %d per call (split them with fetch.Chunks)", what, ErrInvalidArgument, len(ids), max)
	}
	for _, id := range ids {
		if _, err := pathID(what, id); err != nil {
			return err
		}
	}
	return nil
}

// Chunks splits ids into consecutive slices of at most n (n ≥ 1), for
// BulkMessages and DeletionProtection.
func Chunks(ids []string, n int) [][]string {
	if n < 1 {
		n = 1
	}
	var out [][]string
	for len(ids) > 0 {
		k := min(n, len(ids))
		out = append(out, ids[:k:k])
		ids = ids[k:]
	}
	return out
}

// ---- Audits ----

// QueryAudits starts an audit query (POST /api/v2/audits/query).
func (c *Client) QueryAudits(ctx context.Context, q genesys.AuditQueryRequest) (*genesys.AuditQueryExecutionStatus, *Response, error) {
	body, err := jsonBody("query audits", q)
	if err != nil {
		return nil, nil, err
	}
	v, resp, err := call[genesys.AuditQueryExecutionStatus](ctx, c, c.apiReq(http.MethodPost, RouteAuditQuery,
		"/api/v2/audits/query", nil, body))
	if err != nil {
		return nil, resp, err
	}
	if _, err := c.pathID("audit query", v.ID); err != nil {
		return nil, resp, fmt.Errorf("fetch: query audits: response: %w", err)
	}
	return v, resp, nil
}

// AuditQueryStatus returns the state of an audit query.
func (c *Client) AuditQueryStatus(ctx context.Context, transactionID string) (*genesys.AuditQueryExecutionStatus, *Response, error) {
	id, err := c.pathID("audit query", transactionID)
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.AuditQueryExecutionStatus](ctx, c, c.apiReq(http.MethodGet, RouteAuditStatus,
		"/api/v2/audits/query/"+id, nil, nil))
}

// AuditQueryResults returns one page of a succeeded audit query; pageSize
// ≤ 0 for the server's default, at most genesys.MaxAuditPageSize.
func (c *Client) AuditQueryResults(ctx context.Context, transactionID, cursor string, pageSize int) (*genesys.AuditQueryExecutionResults, *Response, error) {
	id, err := c.pathID("audit query", transactionID)
	if err != nil {
		return nil, nil, err
	}
	if pageSize > genesys.MaxAuditPageSize {
		return nil, nil, fmt.Errorf("fetch: audit query results: %w: pageSize %d, at most %d", ErrInvalidArgument, pageSize, genesys.MaxAuditPageSize)
	}
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	return call[genesys.AuditQueryExecutionResults](ctx, c, c.apiReq(http.MethodGet, RouteAuditResults,
		"/api/v2/audits/query/"+id+"/results", q, nil))
}

// ---- Recording bulk jobs (what old exports came from; the demo drives them) ----

// CreateRecordingJob creates a Recording API bulk job (POST /api/v2/recording/jobs).
func (c *Client) CreateRecordingJob(ctx context.Context, q genesys.RecordingJobsQuery) (*genesys.RecordingJob, *Response, error) {
	body, err := jsonBody("create recording job", q)
	if err != nil {
		return nil, nil, err
	}
	v, resp, err := call[genesys.RecordingJob](ctx, c, c.apiReq(http.MethodPost, RouteRecordingJobCreate,
		"/api/v2/recording/jobs", nil, body))
	if err != nil {
		return nil, resp, err
	}
	if _, err := c.pathID("recording job", v.ID); err != nil {
		return nil, resp, fmt.Errorf("fetch: create recording job: response: %w", err)
	}
	return v, resp, nil
}

// RecordingJob returns a Recording API bulk job's state and counts.
func (c *Client) RecordingJob(ctx context.Context, jobID string) (*genesys.RecordingJob, *Response, error) {
	id, err := c.pathID("recording job", jobID)
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.RecordingJob](ctx, c, c.apiReq(http.MethodGet, RouteRecordingJob,
		"/api/v2/recording/jobs/"+id, nil, nil))
}

// SetRecordingJobState sets a Recording API bulk job's state; "PROCESSING"
// (genesys.RecJobProcessing) starts a READY job.
func (c *Client) SetRecordingJobState(ctx context.Context, jobID, state string) (*genesys.RecordingJob, *Response, error) {
	id, err := c.pathID("recording job", jobID)
	if err != nil {
		return nil, nil, err
	}
	body, err := jsonBody("set recording job state", genesys.RecordingJobState{State: state})
	if err != nil {
		return nil, nil, err
	}
	return call[genesys.RecordingJob](ctx, c, c.apiReq(http.MethodPut, RouteRecordingJobUpdate,
		"/api/v2/recording/jobs/"+id, nil, body))
}
