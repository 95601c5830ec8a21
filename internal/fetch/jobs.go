package fetch

import (
	"context"
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
func (c *Client) ListConversations(ctx context.Context, q genesys.AsyncConversationQuery, opt ListOptions) iter.Seq2[*ConversationPage, error] {
	return func(yield func(*ConversationPage, error) bool) {
		jobID := opt.JobID
		if jobID == "" {
			id, resp, err := c.CreateConversationDetailsJob(ctx, q)
			if err != nil {
				yield(nil, err)
				return
			}
			notify(opt, resp)
			jobID = id
		}
		err := c.poll(ctx, "analytics job "+jobID, func() (string, string, error) {
			st, resp, err := c.ConversationDetailsJobStatus(ctx, jobID)
			if err != nil {
				return "", "", err
			}
			notify(opt, resp)
			return st.State, st.ErrorMessage, nil
		}, genesys.JobFulfilled, genesys.JobFailed, genesys.JobCancelled, genesys.JobExpired)
		if err != nil {
			yield(nil, err)
			return
		}
		pages := cursorPager{last: opt.Cursor}
		cursor := opt.Cursor
		for {
			page, resp, err := c.ConversationDetailsJobResults(ctx, jobID, cursor, opt.PageSize)
			if err != nil {
				yield(nil, fmt.Errorf("fetch: analytics job %s: results: %w", jobID, err))
				return
			}
			next, err := pages.next(page.Cursor)
			if err != nil {
				yield(nil, fmt.Errorf("fetch: analytics job %s: %w", jobID, err))
				return
			}
			if !yield(&ConversationPage{JobID: jobID, Cursor: cursor, Page: page, Response: resp}, nil) || next == "" {
				return
			}
			cursor = next
		}
	}
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
	return func(yield func(*AuditPage, error) bool) {
		txID := opt.JobID
		if txID == "" {
			st, resp, err := c.QueryAudits(ctx, q)
			if err != nil {
				yield(nil, err)
				return
			}
			notify(opt, resp)
			txID = st.ID
		}
		err := c.poll(ctx, "audit query "+txID, func() (string, string, error) {
			st, resp, err := c.AuditQueryStatus(ctx, txID)
			if err != nil {
				return "", "", err
			}
			notify(opt, resp)
			return st.State, "", nil
		}, genesys.AuditSucceeded, genesys.AuditFailed, genesys.AuditCancelled)
		if err != nil {
			yield(nil, err)
			return
		}
		pages := cursorPager{last: opt.Cursor}
		cursor := opt.Cursor
		for {
			page, resp, err := c.AuditQueryResults(ctx, txID, cursor, opt.PageSize)
			if err != nil {
				yield(nil, fmt.Errorf("fetch: audit query %s: results: %w", txID, err))
				return
			}
			next, err := pages.next(page.Cursor)
			if err != nil {
				yield(nil, fmt.Errorf("fetch: audit query %s: %w", txID, err))
				return
			}
			if !yield(&AuditPage{TransactionID: txID, Cursor: cursor, Page: page, Response: resp}, nil) || next == "" {
				return
			}
			cursor = next
		}
	}
}

func notify(opt ListOptions, resp *Response) {
	if opt.OnResponse != nil && resp != nil {
		opt.OnResponse(resp)
	}
}

// cursorPager guards paging against a server that hands back a cursor it
// already gave, which would otherwise loop forever.
type cursorPager struct {
	last string
	seen map[string]bool
}

func (p *cursorPager) next(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
		if p.last != "" {
			p.seen[p.last] = true
		}
	}
	if p.seen[cursor] {
		return "", fmt.Errorf("%w: cursor %q repeats", ErrMalformedBody, quoteShort(cursor, 64))
	}
	p.seen[cursor] = true
	return cursor, nil
}

// poll calls status until it reports done (the first of states) or one of
// the failure states, waiting PollInitial, then 1.5× longer each time up
// to PollMax, for at most PollTimeout. The first check is immediate.
func (c *Client) poll(ctx context.Context, what string, status func() (state, msg string, err error), done string, failed ...string) error {
	deadline := c.cfg.Now().Add(c.cfg.PollTimeout)
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
				if msg != "" {
					return fmt.Errorf("fetch: %s: %w: state %s: %s", what, ErrJobFailed, state, quoteShort(c.redact(msg), 300))
				}
				return fmt.Errorf("fetch: %s: %w: state %s", what, ErrJobFailed, state)
			}
		}
		if !c.cfg.Now().Add(interval).Before(deadline) {
			return fmt.Errorf("fetch: %s: %w: still %q after %s", what, ErrJobFailed, quoteShort(state, 32), c.cfg.PollTimeout)
		}
		c.log.Debug("fetch: waiting for job", "job", what, "state", quoteShort(state, 32), "wait", interval)
		if err := c.cfg.Sleep(ctx, interval); err != nil {
			return fmt.Errorf("fetch: %s: %w", what, err)
		}
		interval = min(interval*3/2, c.cfg.PollMax)
		if interval <= 0 {
			interval = time.Millisecond
		}
	}
}
