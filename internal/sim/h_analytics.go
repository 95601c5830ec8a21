package sim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// ---- query compilation: interval, order, filters ----

type predicate struct{ dim, op, val string }

type clause struct {
	or    bool
	preds []predicate
}

type filter struct {
	or      bool
	preds   []predicate
	clauses []clause
}

// query is a compiled analytics query.
type query struct {
	from, to     time.Time
	desc         bool
	segment      []filter
	conversation []filter
	full         bool // some predicate needs the generated analytics view
}

// Dimensions the simulator can filter on. Segment dimensions are read from
// each session (and its participant and first segment); conversation
// dimensions from the conversation.
var (
	segmentDims      = map[string]bool{"mediaType": true, "messageType": true, "direction": true, "purpose": true, "userId": true, "queueId": true, "addressFrom": true, "addressTo": true, "sessionId": true, "participantId": true, "conversationId": true, "segmentType": true}
	conversationDims = map[string]bool{"conversationId": true, "originatingDirection": true, "divisionId": true}
	cheapDims        = map[string]bool{"mediaType": true, "messageType": true, "conversationId": true}
)

// parseInterval parses an ISO-8601 "start/end" interval.
func parseInterval(s string) (time.Time, time.Time, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("interval %q: want start/end in ISO-8601", s)
	}
	from, err := time.Parse(time.RFC3339Nano, a)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("interval %q: bad start: %v", s, err)
	}
	to, err := time.Parse(time.RFC3339Nano, b)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("interval %q: bad end: %v", s, err)
	}
	if !to.After(from) {
		return time.Time{}, time.Time{}, fmt.Errorf("interval %q: end must be after start", s)
	}
	return from, to, nil
}

func compileQuery(interval, order, orderBy string, f detailFilters) (*query, error) {
	if err := f.unsupported(); err != nil {
		return nil, err
	}
	if interval == "" {
		return nil, errors.New("interval is required")
	}
	from, to, err := parseInterval(interval)
	if err != nil {
		return nil, err
	}
	q := &query{from: from, to: to}
	switch strings.ToLower(order) {
	case "", "asc", "unordered": // unordered: any order will do, so start order
	case "desc":
		q.desc = true
	default:
		return nil, fmt.Errorf("order must be asc or desc, not %q", order)
	}
	if orderBy != "" && orderBy != "conversationStart" {
		return nil, fmt.Errorf("orderBy %q is not supported by the simulator (only conversationStart)", orderBy)
	}
	for _, f := range f.SegmentFilters {
		cf, err := q.compileFilter(f, segmentDims)
		if err != nil {
			return nil, fmt.Errorf("segmentFilters: %w", err)
		}
		q.segment = append(q.segment, cf)
	}
	for _, f := range f.ConversationFilters {
		cf, err := q.compileFilter(f, conversationDims)
		if err != nil {
			return nil, fmt.Errorf("conversationFilters: %w", err)
		}
		q.conversation = append(q.conversation, cf)
	}
	return q, nil
}

func isOr(typ string) (bool, error) {
	switch strings.ToLower(typ) {
	case "and":
		return false, nil
	case "or":
		return true, nil
	}
	return false, fmt.Errorf("filter type must be and or or, not %q", typ)
}

func (q *query) compileFilter(f queryFilter, dims map[string]bool) (filter, error) {
	or, err := isOr(f.Type)
	if err != nil {
		return filter{}, err
	}
	out := filter{or: or}
	if out.preds, err = q.compilePreds(f.Predicates, dims); err != nil {
		return filter{}, err
	}
	for _, c := range f.Clauses {
		cor, err := isOr(c.Type)
		if err != nil {
			return filter{}, fmt.Errorf("clause: %w", err)
		}
		ps, err := q.compilePreds(c.Predicates, dims)
		if err != nil {
			return filter{}, err
		}
		if len(ps) == 0 {
			return filter{}, errors.New("clause has no predicates")
		}
		out.clauses = append(out.clauses, clause{or: cor, preds: ps})
	}
	if len(out.preds) == 0 && len(out.clauses) == 0 {
		return filter{}, errors.New("filter has no predicates or clauses")
	}
	return out, nil
}

func (q *query) compilePreds(ps []queryPredicate, dims map[string]bool) ([]predicate, error) {
	var out []predicate
	for _, p := range ps {
		if p.Type != "" && p.Type != "dimension" {
			return nil, fmt.Errorf("predicate type %q is not supported by the simulator (only dimension)", p.Type)
		}
		if !dims[p.Dimension] {
			return nil, fmt.Errorf("unknown or unsupported dimension %q", p.Dimension)
		}
		op := p.Operator
		if op == "" {
			op = "matches"
		}
		switch op {
		case "matches":
			if p.Value == "" {
				return nil, fmt.Errorf("predicate on %s: operator matches needs a value", p.Dimension)
			}
		case "exists", "notExists":
		default:
			return nil, fmt.Errorf("operator %q is not supported (matches, exists, notExists)", op)
		}
		if !cheapDims[p.Dimension] {
			q.full = true
		}
		out = append(out, predicate{dim: p.Dimension, op: op, val: p.Value})
	}
	return out, nil
}

func (p predicate) eval(get func(string) string) bool {
	v := get(p.dim)
	switch p.op {
	case "exists":
		return v != ""
	case "notExists":
		return v == ""
	}
	return v == p.val
}

func evalAll(or bool, ps []predicate, get func(string) string) bool {
	for _, p := range ps {
		if p.eval(get) == or {
			return or
		}
	}
	return !or
}

func (f filter) eval(get func(string) string) bool {
	results := 0
	for _, p := range f.preds {
		ok := p.eval(get)
		if ok && f.or {
			return true
		}
		if !ok && !f.or {
			return false
		}
		results++
	}
	for _, c := range f.clauses {
		ok := evalAll(c.or, c.preds, get)
		if ok && f.or {
			return true
		}
		if !ok && !f.or {
			return false
		}
	}
	return !f.or
}

// matches reports whether conversation i is in the query's result.
func (s *Server) matches(q *query, i int) bool {
	o := s.Org
	if !o.overlaps(i, q.from.UnixMilli(), q.to.UnixMilli()) {
		return false
	}
	if len(q.segment) == 0 && len(q.conversation) == 0 {
		return true
	}
	id := ""
	mediaType, messageType := o.MediaType(i)
	if !q.full {
		get := func(dim string) string {
			switch dim {
			case "mediaType":
				return mediaType
			case "messageType":
				return messageType
			case "conversationId":
				if id == "" {
					id = o.ConversationID(i)
				}
				return id
			}
			return ""
		}
		for _, f := range q.segment {
			if !f.eval(get) {
				return false
			}
		}
		for _, f := range q.conversation {
			if !f.eval(get) {
				return false
			}
		}
		return true
	}
	a := o.AnalyticsAt(i)
	conv := func(dim string) string {
		switch dim {
		case "conversationId":
			return a.ConversationID
		case "originatingDirection":
			return a.OriginatingDirection
		case "divisionId":
			if len(a.DivisionIDs) > 0 {
				return a.DivisionIDs[0]
			}
		}
		return ""
	}
	for _, f := range q.conversation {
		if !f.eval(conv) {
			return false
		}
	}
	for _, f := range q.segment {
		found := false
		for _, p := range a.Participants {
			for _, ss := range p.Sessions {
				get := func(dim string) string {
					switch dim {
					case "mediaType":
						return ss.MediaType
					case "messageType":
						return ss.MessageType
					case "direction":
						return ss.Direction
					case "purpose":
						return p.Purpose
					case "userId":
						return p.UserID
					case "participantId":
						return p.ParticipantID
					case "queueId", "segmentType":
						for _, sg := range ss.Segments {
							if dim == "queueId" && sg.QueueID != "" {
								return sg.QueueID
							}
							if dim == "segmentType" {
								return sg.SegmentType
							}
						}
					case "addressFrom":
						return ss.AddressFrom
					case "addressTo":
						return ss.AddressTo
					case "sessionId":
						return ss.SessionID
					case "conversationId":
						return a.ConversationID
					}
					return ""
				}
				if f.eval(get) {
					found = true
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// scan calls fn with the matching conversations in result order, starting
// at position pos (an index into the org, moving up for asc and down for
// desc); fn returns false to stop. It returns the position after the last
// conversation visited.
func (s *Server) scan(q *query, pos int, fn func(i int) bool) int {
	lo, hi := s.Org.Overlapping(q.from, q.to)
	if !q.desc {
		for i := max(pos, lo); i < hi; i++ {
			if s.matches(q, i) && !fn(i) {
				return i + 1
			}
		}
		return hi
	}
	if pos < 0 || pos >= hi {
		pos = hi - 1
	}
	for i := pos; i >= lo; i-- {
		if s.matches(q, i) && !fn(i) {
			return i - 1
		}
	}
	return lo - 1
}

// ---- synchronous query ----

// detailsQuery is POST /api/v2/analytics/conversations/details/query.
func (s *Server) detailsQuery(w *resp, r *http.Request) {
	var body conversationQuery
	if !w.decode(r, &body) {
		return
	}
	if len(body.Aggregations) > 0 {
		w.badRequest("aggregations are not supported by the simulator")
		return
	}
	q, err := compileQuery(body.Interval, body.Order, body.OrderBy, body.detailFilters)
	if err != nil {
		w.badRequest("%v", err)
		return
	}
	if q.to.Sub(q.from) > s.opts.QueryMaxInterval {
		w.badRequest("The interval may span at most %s; use an analytics job for longer intervals.", s.opts.QueryMaxInterval)
		return
	}
	size, number := defaultQueryPageSize, 1
	if p := body.Paging; p != nil {
		if p.PageSize != 0 {
			size = p.PageSize
		}
		if p.PageNumber != 0 {
			number = p.PageNumber
		}
	}
	if size < 1 || size > s.opts.QueryMaxPageSize {
		w.badRequest("paging.pageSize must be between 1 and %d, not %d", s.opts.QueryMaxPageSize, size)
		return
	}
	if number < 1 {
		w.badRequest("paging.pageNumber must be at least 1, not %d", number)
		return
	}
	skip := (number - 1) * size
	var out genesys.AnalyticsConversationQueryResponse
	s.scan(q, -1, func(i int) bool {
		if out.TotalHits >= skip && out.TotalHits < skip+size {
			out.Conversations = append(out.Conversations, s.Org.AnalyticsAt(i))
		}
		out.TotalHits++
		return true
	})
	w.json(http.StatusOK, out)
}

// ---- async jobs ----

type analyticsJob struct {
	id        string
	q         *query
	limit     int
	created   time.Time
	failMsg   string
	cancelled bool
	expired   bool // PagingFaults.ExpireJobAt: EXPIRED before its TTL
}

func (s *Server) jobState(j *analyticsJob, now time.Time) string {
	d := now.Sub(j.created)
	delay := s.opts.JobDelay
	switch {
	case j.cancelled:
		return genesys.JobCancelled
	case d < delay/2:
		return genesys.JobQueued
	case d < delay:
		return genesys.JobPending
	case j.failMsg != "":
		return genesys.JobFailed
	case d >= delay+s.opts.JobTTL || j.expired:
		return genesys.JobExpired
	}
	return genesys.JobFulfilled
}

// createJob is POST /api/v2/analytics/conversations/details/jobs.
func (s *Server) createJob(w *resp, r *http.Request) {
	var body asyncConversationQuery
	if !w.decode(r, &body) {
		return
	}
	q, err := compileQuery(body.Interval, body.Order, body.OrderBy, body.detailFilters)
	if err != nil {
		w.badRequest("%v", err)
		return
	}
	if body.Limit < 0 {
		w.badRequest("limit must not be negative")
		return
	}
	s.mu.Lock()
	s.jobSeq++
	n := s.jobSeq
	j := &analyticsJob{id: uuidOf(s.live, tagJob, 1, n), q: q, limit: body.Limit, created: s.now()}
	if _, fail := s.faults.jobFail(n); fail {
		j.failMsg = "The analytics job failed (injected fault). Submit it again."
	}
	s.jobs[j.id] = j
	s.mu.Unlock()
	w.json(http.StatusAccepted, genesys.AsyncQueryResponse{JobID: j.id})
}

func (s *Server) job(w *resp, r *http.Request) (*analyticsJob, bool) {
	s.mu.Lock()
	j, ok := s.jobs[r.PathValue("jobId")]
	s.mu.Unlock()
	if !ok {
		w.notFound("job")
	}
	return j, ok
}

// getJob is GET /api/v2/analytics/conversations/details/jobs/{jobId}.
func (s *Server) getJob(w *resp, r *http.Request) {
	j, ok := s.job(w, r)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	st := genesys.AsyncQueryStatus{State: s.jobState(j, now), SubmissionDate: ts(j.created)}
	s.mu.Unlock()
	switch st.State {
	case genesys.JobFulfilled, genesys.JobExpired:
		st.CompletionDate = ts(j.created.Add(s.opts.JobDelay))
		st.ExpirationDate = ts(j.created.Add(s.opts.JobDelay + s.opts.JobTTL))
	case genesys.JobFailed:
		st.ErrorMessage = j.failMsg
		st.CompletionDate = ts(j.created.Add(s.opts.JobDelay))
	}
	w.json(http.StatusOK, st)
}

// deleteJob is DELETE /api/v2/analytics/conversations/details/jobs/{jobId}.
func (s *Server) deleteJob(w *resp, r *http.Request) {
	j, ok := s.job(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	j.cancelled = true
	s.mu.Unlock()
	w.noContent(http.StatusNoContent)
}

// jobCursor is the opaque cursor of job results: where to resume and how
// many conversations were returned before, with a check so a cursor from
// another job or a typo is a 400, not a silently wrong page.
func (s *Server) jobCursor(jobID string, pos, count int) string {
	c := hash(s.seed, tagJob, hashString(jobID), uint64(pos), uint64(count)) & 0xffffffff
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d.%x", pos, count, c)))
}

func (s *Server) parseJobCursor(jobID, cur string) (pos, count int, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return 0, 0, false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 {
		return 0, 0, false
	}
	pos, err1 := strconv.Atoi(parts[0])
	count, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || count < 0 || s.jobCursor(jobID, pos, count) != cur {
		return 0, 0, false
	}
	return pos, count, true
}

// jobResults is GET /api/v2/analytics/conversations/details/jobs/{jobId}/results.
func (s *Server) jobResults(w *resp, r *http.Request) {
	j, ok := s.job(w, r)
	if !ok {
		return
	}
	cur := r.URL.Query().Get("cursor")
	s.mu.Lock()
	cursorExpired, _ := s.pagingFault(j, cur != "")
	state := s.jobState(j, s.now())
	s.mu.Unlock()
	if state == genesys.JobFulfilled && cursorExpired {
		w.badRequest("The cursor has expired. Submit the job again.")
		return
	}
	if state != genesys.JobFulfilled {
		w.badRequest("The job is %s; results are available only when it is FULFILLED.", state)
		return
	}
	size, err := queryInt(r, "pageSize", s.opts.JobPageSize)
	if err != nil {
		w.badRequest("%v", err)
		return
	}
	if size < 1 || size > s.opts.JobMaxPageSize {
		// Genesys documents no maximum, nor the error past it: a 400 in
		// the normalized error body, its message also with parameters.
		w.errorParams(http.StatusBadRequest, genesys.CodeBadRequest,
			"The pageSize {pageSize} is not allowed: it must be between 1 and {maxPageSize}.",
			map[string]string{"pageSize": strconv.Itoa(size), "maxPageSize": strconv.Itoa(s.opts.JobMaxPageSize)})
		return
	}
	pos, count := -1, 0
	if j.q.desc {
		pos = -1
	} else {
		pos = 0
	}
	if c := cur; c != "" {
		if pos, count, ok = s.parseJobCursor(j.id, c); !ok {
			w.badRequest("The cursor %q is not valid for this job.", c)
			return
		}
	}
	avail := s.availableUntil(j)
	out := genesys.AnalyticsConversationAsyncQueryResponse{Conversations: []genesys.AnalyticsConversation{}, DataAvailabilityDate: ts(avail)}
	limit := j.limit
	more := false
	size = s.shortPage(j, pos, size)
	next := s.scan(j.q, pos, func(i int) bool {
		if start, _ := s.Org.Span(i); !start.Before(avail) {
			return true // not in analytics yet: past the data-availability date
		}
		if len(out.Conversations) == size || limit > 0 && count >= limit {
			more = limit == 0 || count < limit
			return false
		}
		out.Conversations = append(out.Conversations, s.Org.AnalyticsAt(i))
		count++
		return true
	})
	if more {
		// next is one past the peeked conversation; resume at it.
		if j.q.desc {
			next++
		} else {
			next--
		}
		out.Cursor = s.jobCursor(j.id, next, count)
	}
	w.json(http.StatusOK, out)
}
