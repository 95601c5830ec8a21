package fetch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// ListOptions steer ListConversations and ListAudits.
type ListOptions struct {
	// JobID resumes an existing analytics job or audit query instead of
	// creating one (the run state saved it); Cursor resumes paging after
	// the page that returned it.
	JobID, Cursor string
	// PageSize of result pages; ≤ 0 for the server's default.
	PageSize int
	// PollTimeout bounds the wait for the job or query to be done, as
	// Config.PollTimeout does (which applies when ≤ 0): past it, the
	// listing fails with ErrJobFailed.
	PollTimeout time.Duration
	// OnResponse, when set, sees the create and status responses (the
	// pages come through the iterator), e.g. to record the job id at once
	// so a crashed run can resume it.
	OnResponse func(*Response)
}

// ConversationPage is one page of analytics job results.
type ConversationPage struct {
	JobID    string
	Cursor   string // the cursor that fetched this page; "" for the first
	Page     *genesys.AnalyticsConversationAsyncQueryResponse
	Response *Response // the raw page, to keep as evidence
}

// ListConversations lists the conversations matching q end to end through
// an async analytics job: create it (unless opt.JobID), poll with growing
// intervals until FULFILLED, then page through the cursor. Each page is
// yielded with its raw Response; on an error the iterator yields it once
// and stops. Stopping early leaves the job in place so that a later run
// can resume it with opt.JobID and the last page's Page.Cursor.
//
// A first page refused (400) with opt.PageSize while the job is still
// FULFILLED is asked again once without a pageSize, at the server's
// default, which then serves the rest (Genesys documents no maximum; a
// warning quotes its error). A results request refused otherwise fails
// with Genesys's error; it matches ErrListingExpired only when the job
// or its cursor expired (see refusedResults).
func (c *Client) ListConversations(ctx context.Context, q genesys.AsyncConversationQuery, opt ListOptions) iter.Seq2[*ConversationPage, error] {
	j := asyncQuery[genesys.AnalyticsConversationAsyncQueryResponse]{
		what: "analytics job",
		create: func() (string, *Response, error) {
			return c.CreateConversationDetailsJob(ctx, q)
		},
		status: func(id string) (string, string, *Response, error) {
			st, resp, err := c.ConversationDetailsJobStatus(ctx, id)
			if err != nil {
				return "", "", nil, err
			}
			return st.State, st.ErrorMessage, resp, nil
		},
		terminal: []string{genesys.JobFulfilled, genesys.JobFailed, genesys.JobCancelled, genesys.JobExpired},
		expired:  genesys.JobExpired,
		results: func(id, cursor string, pageSize int) (*genesys.AnalyticsConversationAsyncQueryResponse, string, *Response, error) {
			page, resp, err := c.ConversationDetailsJobResults(ctx, id, cursor, pageSize)
			if err != nil {
				return nil, "", nil, err
			}
			return page, page.Cursor, resp, nil
		},
		items: func(p *genesys.AnalyticsConversationAsyncQueryResponse) int { return len(p.Conversations) },
	}
	return func(yield func(*ConversationPage, error) bool) {
		listQuery(ctx, c, opt, j, func(id, cursor string, page *genesys.AnalyticsConversationAsyncQueryResponse, resp *Response, err error) bool {
			if err != nil {
				return yield(nil, err)
			}
			return yield(&ConversationPage{JobID: id, Cursor: cursor, Page: page, Response: resp}, nil)
		})
	}
}

// asyncQuery is an asynchronous query at the source — an analytics job or
// an audit query: created, polled until a terminal state, then read page
// by page through a cursor.
type asyncQuery[P any] struct {
	what     string // for messages: "analytics job", "audit query"
	create   func() (id string, resp *Response, err error)
	status   func(id string) (state, errMsg string, resp *Response, err error)
	terminal []string // terminal states, the successful one first (at least one)
	// expired is the state of a query whose results are gone (analytics
	// jobs: EXPIRED); "" when the source has none (audit queries).
	expired string
	// results fetches one page; pageSize ≤ 0 leaves it to the server.
	results func(id, cursor string, pageSize int) (page *P, next string, resp *Response, err error)
	items   func(page *P) int // how many results a page holds
}

// maxEmptyPages is how many empty pages in a row, each with a cursor to
// another, a listing accepts: a source that hands out a fresh cursor with
// every empty page would otherwise be paged for ever (a repeated cursor
// is caught by cursorPager).
const maxEmptyPages = 10

// listQuery runs q end to end (unless opt.JobID resumes one) and calls
// yield with each page, or once with an error; yield returns false to stop.
// Stopping early leaves the query in place, resumable with its id and the
// last page's cursor.
func listQuery[P any](ctx context.Context, c *Client, opt ListOptions, q asyncQuery[P], yield func(id, cursor string, page *P, resp *Response, err error) bool) {
	id := opt.JobID
	if id == "" {
		created, resp, err := q.create()
		if err != nil {
			yield("", "", nil, nil, err)
			return
		}
		notify(opt, resp)
		id = created
	}
	err := c.poll(ctx, q.what+" "+id, opt.PollTimeout, func() (string, string, error) {
		state, msg, resp, err := q.status(id)
		if err != nil {
			return "", "", err
		}
		notify(opt, resp)
		return state, msg, nil
	}, q.terminal[0], q.terminal[1:]...)
	if err != nil {
		yield(id, "", nil, nil, c.red.Err(err))
		return
	}
	pages := cursorPager{last: opt.Cursor}
	cursor := opt.Cursor
	size := opt.PageSize
	empty := 0
	for {
		page, cur, resp, err := q.results(id, cursor, size)
		if err != nil {
			again, err := refusedResults(c, opt, q, id, cursor, size, opt.PageSize, err)
			if again {
				size = 0 // the server's default, for this page and the rest
				continue
			}
			yield(id, cursor, nil, nil, c.red.Err(fmt.Errorf("fetch: %s %s: results: %w", q.what, id, err)))
			return
		}
		next, err := pages.next(cur)
		if q.items(page) > 0 {
			empty = 0
		} else {
			empty++
		}
		if err == nil && next != "" && empty >= maxEmptyPages {
			err = fmt.Errorf("%w: %d empty pages in a row, each with a cursor to another", ErrMalformedBody, empty)
		}
		if err != nil {
			yield(id, cursor, nil, nil, c.red.Err(fmt.Errorf("fetch: %s %s: %w", q.what, id, err)))
			return
		}
		if !yield(id, cursor, page, resp, nil) || next == "" {
			return
		}
		cursor = next
	}
}

// refusedResults decides what a refused results request of query id
// means, and returns the error to report, or again = true to ask for the
// same page once more with the server's default page size.
//
// A 404 says the query is gone: it expired at the source. A 400 is
// Genesys's answer to this request, and says nothing by itself about
// expiry: the query's status, read again, does. EXPIRED (or a status that
// is not found any more) is an expiry, ErrListingExpired: the caller may
// start over. Still done, the request itself was refused:
//   - with a cursor: the same pageSize was accepted for the page that
//     handed the cursor out, so the cursor is what was refused; taken as
//     expired (cursors may live shorter than their job), with Genesys's
//     error;
//   - on the first page, with a pageSize: the job id and the pageSize
//     are all that page asks, and the status just accepted the id, so it
//     is the pageSize. Genesys documents neither a default nor a maximum
//     for it (the SDKs: "The desired maximum number of results"), so the
//     page is asked again once without one (again): the server's default
//     is a size it accepts;
//   - otherwise (the default page size refused too): the listing fails
//     with Genesys's error (ErrBadRequest, never ErrListingExpired), which
//     names its message, code and correlation id.
func refusedResults[P any](c *Client, opt ListOptions, q asyncQuery[P], id, cursor string, size, asked int, err error) (again bool, _ error) {
	if errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("%w: %w", ErrListingExpired, err)
	}
	if !errors.Is(err, ErrBadRequest) {
		return false, err
	}
	state, _, resp, serr := q.status(id)
	notify(opt, resp)
	switch {
	case errors.Is(serr, ErrNotFound):
		return false, fmt.Errorf("%w: the %s is gone (its status: %w): %w", ErrListingExpired, q.what, serr, err)
	case serr != nil:
		return false, fmt.Errorf("%w (and the %s's status could not be read: %w)", err, q.what, serr)
	case q.expired != "" && state == q.expired:
		return false, fmt.Errorf("%w: the %s is %s: %w", ErrListingExpired, q.what, state, err)
	case state != q.terminal[0]:
		return false, fmt.Errorf("%w: results refused, and the %s is now %q: %w", ErrJobFailed, q.what, quoteShort(state, 32), err)
	case cursor != "":
		return false, fmt.Errorf("%w: the cursor was refused while the %s is still %s: %w", ErrListingExpired, q.what, state, err)
	case size > 0:
		c.log.Warn("fetch: the first page of results was refused with this pageSize; asking again with the server's default page size",
			"query", c.red.Redact(q.what+" "+id), "page_size", size, "error", c.red.Redact(err.Error()))
		return true, nil
	case asked > 0:
		return false, fmt.Errorf("the first page of results was refused while the %s is %s, with pageSize %d and with the server's default page size: %w", q.what, state, asked, err)
	}
	return false, fmt.Errorf("the first page of results was refused while the %s is %s: %w", q.what, state, err)
}

// AuditPage is one page of audit query results.
type AuditPage struct {
	TransactionID string
	Cursor        string // the cursor that fetched this page; "" for the first
	Page          *genesys.AuditQueryExecutionResults
	Response      *Response
}

// ListAudits runs an audit query end to end, like ListConversations:
// create (unless opt.JobID), poll until Succeeded, page through the cursor.
func (c *Client) ListAudits(ctx context.Context, q genesys.AuditQueryRequest, opt ListOptions) iter.Seq2[*AuditPage, error] {
	j := asyncQuery[genesys.AuditQueryExecutionResults]{
		what: "audit query",
		create: func() (string, *Response, error) {
			st, resp, err := c.QueryAudits(ctx, q)
			if err != nil {
				return "", nil, err
			}
			return st.ID, resp, nil
		},
		status: func(id string) (string, string, *Response, error) {
			st, resp, err := c.AuditQueryStatus(ctx, id)
			if err != nil {
				return "", "", nil, err
			}
			return st.State, "", resp, nil
		},
		terminal: []string{genesys.AuditSucceeded, genesys.AuditFailed, genesys.AuditCancelled},
		results: func(id, cursor string, pageSize int) (*genesys.AuditQueryExecutionResults, string, *Response, error) {
			page, resp, err := c.AuditQueryResults(ctx, id, cursor, pageSize)
			if err != nil {
				return nil, "", nil, err
			}
			return page, page.Cursor, resp, nil
		},
		items: func(p *genesys.AuditQueryExecutionResults) int { return len(p.Entities) },
	}
	return func(yield func(*AuditPage, error) bool) {
		listQuery(ctx, c, opt, j, func(id, cursor string, page *genesys.AuditQueryExecutionResults, resp *Response, err error) bool {
			if err != nil {
				return yield(nil, err)
			}
			return yield(&AuditPage{TransactionID: id, Cursor: cursor, Page: page, Response: resp}, nil)
		})
	}
}

func notify(opt ListOptions, resp *Response) {
	if opt.OnResponse != nil && resp != nil {
		opt.OnResponse(resp)
	}
}

// maxCursor bounds a results cursor: Genesys's are opaque tokens of a few
// hundred bytes, and each is kept (hashed) and sent back in the next
// request.
const maxCursor = 8 << 10

// cursorPager guards paging against a server that hands back a cursor it
// already gave, which would otherwise loop forever, and against cursors
// too long to be one. It keeps each cursor's SHA-256, not the cursor.
type cursorPager struct {
	last string
	seen map[[sha256.Size]byte]bool
}

func (p *cursorPager) next(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	if len(cursor) > maxCursor {
		return "", fmt.Errorf("%w: a cursor of %d bytes (at most %d)", ErrMalformedBody, len(cursor), maxCursor)
	}
	if p.seen == nil {
		p.seen = map[[sha256.Size]byte]bool{}
		if p.last != "" {
			p.seen[sha256.Sum256([]byte(p.last))] = true
		}
	}
	h := sha256.Sum256([]byte(cursor))
	if p.seen[h] {
		return "", fmt.Errorf("%w: cursor %q repeats", ErrMalformedBody, quoteShort(cursor, 64))
	}
	p.seen[h] = true
	return cursor, nil
}

// poll calls status until it reports done (the first of states) or one of
// the failure states, waiting PollInitial, then 1.5× longer each time up
// to PollMax, for at most timeout (Config.PollTimeout when ≤ 0). The
// first check is immediate.
func (c *Client) poll(ctx context.Context, what string, timeout time.Duration, status func() (state, msg string, err error), done string, failed ...string) error {
	if timeout <= 0 {
		timeout = c.cfg.PollTimeout
	}
	deadline := c.cfg.Now().Add(timeout)
	interval := c.cfg.PollInitial
	for {
		state, msg, err := status()
		if err != nil {
			return fmt.Errorf("fetch: %s: status: %w", what, err)
		}
		if state == done {
			return nil
		}
		for _, f := range failed {
			if state == f {
				if state == genesys.JobExpired {
					// Expired while polled (or resumed after it expired):
					// an expiry, as when its results are refused, which a
					// caller lists again with a new job, not a failure.
					return fmt.Errorf("fetch: %s: %w: %w: state %s", what, ErrListingExpired, ErrJobFailed, state)
				}
				if msg != "" {
					return fmt.Errorf("fetch: %s: %w: state %s: %s", what, ErrJobFailed, state, quoteShort(c.red.Redact(msg), 300))
				}
				return fmt.Errorf("fetch: %s: %w: state %s", what, ErrJobFailed, state)
			}
		}
		if !c.cfg.Now().Add(interval).Before(deadline) {
			return fmt.Errorf("fetch: %s: %w: still %q after %s", what, ErrJobFailed, quoteShort(c.red.Redact(state), 32), timeout)
		}
		c.log.Debug("fetch: waiting for job", "job", c.red.Redact(what), "state", quoteShort(c.red.Redact(state), 32), "wait", interval)
		if err := c.cfg.Sleep(ctx, interval); err != nil {
			return fmt.Errorf("fetch: %s: %w", what, err)
		}
		interval = min(interval*3/2, c.cfg.PollMax)
		if interval <= 0 {
			interval = time.Millisecond
		}
	}
}
