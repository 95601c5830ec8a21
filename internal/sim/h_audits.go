package sim

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// Audit filter properties the simulator understands (AND-ed).
var auditProps = map[string]func(e *genesys.AuditLogMessage) string{
	"EntityId":   func(e *genesys.AuditLogMessage) string { return entityID(e) },
	"EntityType": func(e *genesys.AuditLogMessage) string { return e.EntityType },
	"Action":     func(e *genesys.AuditLogMessage) string { return e.Action },
	"UserId": func(e *genesys.AuditLogMessage) string {
		if e.User != nil {
			return e.User.ID
		}
		return ""
	},
	"ClientId": func(e *genesys.AuditLogMessage) string {
		if e.Client != nil {
			return e.Client.ID
		}
		return ""
	},
	// No simulated entry acts for another org: a filter on it matches none.
	"TrusteeOrganizationId": func(*genesys.AuditLogMessage) string { return "" },
}

// auditServiceMapping is GET /api/v2/audits/query/servicemapping: the
// services the simulated org audits, with their entity types and actions.
func (s *Server) auditServiceMapping(w *resp, _ *http.Request) {
	if s.auditsForbidden(w) {
		return
	}
	entity := "Conversation"
	if s.Org.auditNamesRecording() {
		entity = "Recording"
	}
	w.json(http.StatusOK, auditQueryServiceMapping{Services: []auditQueryService{{
		Name:     s.Org.cfg.AuditServiceName,
		Entities: []auditQueryEntity{{Name: entity, Actions: []string{"ApplyProtection", "RevokeProtection"}}},
	}}})
}

func entityID(e *genesys.AuditLogMessage) string {
	if e.Entity != nil {
		return e.Entity.ID
	}
	return ""
}

type auditQuery struct {
	status  genesys.AuditQueryExecutionStatus
	created time.Time
	results []genesys.AuditLogMessage // snapshot taken when the query ran
	failed  bool                      // an auditfail fault: ends Failed
	cursors bool                      // an auditpage fault: every cursor refused
}

func (s *Server) auditState(a *auditQuery, now time.Time) string {
	switch d := now.Sub(a.created); {
	case d < s.opts.AuditDelay/2:
		return genesys.AuditQueued
	case d < s.opts.AuditDelay:
		return genesys.AuditRunning
	case a.failed:
		return genesys.AuditFailed
	}
	return genesys.AuditSucceeded
}

// auditsForbidden answers 403 to an audit route under
// Options.AuditsForbidden, as Genesys does to a client without
// audits:audit:view, and reports whether it did.
func (s *Server) auditsForbidden(w *resp) bool {
	if !s.opts.AuditsForbidden {
		return false
	}
	w.error(http.StatusForbidden, "missing.permissions", "You are missing the following permission(s): audits:audit:view")
	return true
}

// createAuditQuery is POST /api/v2/audits/query. The result is computed at
// once and served when the query's state reaches Succeeded.
func (s *Server) createAuditQuery(w *resp, r *http.Request) {
	if s.auditsForbidden(w) {
		return
	}
	var body genesys.AuditQueryRequest
	if !w.decode(r, &body) {
		return
	}
	from, to, err := parseInterval(body.Interval)
	if err != nil {
		w.badRequest("%v", err)
		return
	}
	if body.ServiceName == "" {
		w.badRequest("serviceName is required")
		return
	}
	var entity string
	for _, f := range body.Filters {
		if auditProps[f.Property] == nil {
			w.badRequest("filter property %q is not supported (EntityId, EntityType, Action, UserId, ClientId, TrusteeOrganizationId, Level, Status)", f.Property)
			return
		}
		if f.Property == "EntityId" {
			entity = f.Value
		}
	}
	desc := false
	for _, so := range body.Sort {
		if so.Name != "Timestamp" {
			w.badRequest("sort name %q is not supported (Timestamp)", so.Name)
			return
		}
		switch strings.ToLower(so.SortOrder) {
		case "", "ascending", "asc":
		case "descending", "desc":
			desc = true
		default:
			w.badRequest("sortOrder must be ascending or descending, not %q", so.SortOrder)
			return
		}
	}
	// Candidates: one conversation when filtered by a conversation's id,
	// otherwise every conversation with audit entries (entries that name
	// a recording are found by the filter below).
	var idx []int
	if i, ok := s.Org.Index(entity); ok && !s.Org.auditNamesRecording() {
		idx = []int{i}
	} else if entity == "" || s.Org.auditNamesRecording() {
		idx = s.Org.withAudits()
	}
	var res []genesys.AuditLogMessage
	for _, i := range idx {
		for _, e := range s.Org.Audits(i) {
			t, err := time.Parse(time.RFC3339Nano, e.EventDate)
			if err != nil || t.Before(from) || !t.Before(to) || e.ServiceName != body.ServiceName {
				continue
			}
			keep := true
			for _, f := range body.Filters {
				keep = keep && auditProps[f.Property](&e) == f.Value
			}
			if keep {
				res = append(res, e)
			}
		}
	}
	slices.SortStableFunc(res, func(a, b genesys.AuditLogMessage) int {
		c := strings.Compare(a.EventDate, b.EventDate)
		if desc {
			c = -c
		}
		return c
	})
	now := s.now()
	s.mu.Lock()
	s.auditSeq++
	id := uuidOf(s.live, tagAudits, 1<<40, s.auditSeq)
	a := &auditQuery{created: now, results: res, status: genesys.AuditQueryExecutionStatus{
		ID: id, StartDate: ts(now), Interval: body.Interval, ServiceName: body.ServiceName, Filters: body.Filters, Sort: body.Sort,
	}}
	_, a.failed = s.faults.auditFail(s.auditSeq)
	_, a.cursors = s.faults.auditPage(s.auditSeq)
	s.audits[id] = a
	a.status.State = s.auditState(a, now)
	out := a.status
	s.mu.Unlock()
	w.json(http.StatusOK, out)
}

func (s *Server) auditQuery(w *resp, r *http.Request) (*auditQuery, genesys.AuditQueryExecutionStatus, bool) {
	if s.auditsForbidden(w) {
		return nil, genesys.AuditQueryExecutionStatus{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.audits[r.PathValue("transactionId")]
	if !ok {
		w.notFound("audit query")
		return nil, genesys.AuditQueryExecutionStatus{}, false
	}
	st := a.status
	st.State = s.auditState(a, s.now())
	return a, st, true
}

// getAuditQuery is GET /api/v2/audits/query/{transactionId}.
func (s *Server) getAuditQuery(w *resp, r *http.Request) {
	if _, st, ok := s.auditQuery(w, r); ok {
		w.json(http.StatusOK, st)
	}
}

// auditResults is GET /api/v2/audits/query/{transactionId}/results.
func (s *Server) auditResults(w *resp, r *http.Request) {
	a, st, ok := s.auditQuery(w, r)
	if !ok {
		return
	}
	if st.State != genesys.AuditSucceeded {
		w.badRequest("The audit query is %s; results are available when it has Succeeded.", st.State)
		return
	}
	size, err := queryInt(r, "pageSize", defaultAuditPageSize)
	if err != nil {
		w.badRequest("%v", err)
		return
	}
	if size < 1 || size > genesys.MaxAuditPageSize {
		w.badRequest("pageSize must be between 1 and %d, not %d", genesys.MaxAuditPageSize, size)
		return
	}
	pos := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		if a.cursors {
			w.badRequest("The cursor %q is not valid for this query.", c)
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), st.ID+":"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), st.ID+":") || n < 0 || n > len(a.results) {
			w.badRequest("The cursor %q is not valid for this query.", c)
			return
		}
		pos = n
	}
	end := min(pos+size, len(a.results))
	out := genesys.AuditQueryExecutionResults{ID: st.ID, PageSize: size, Entities: append([]genesys.AuditLogMessage{}, a.results[pos:end]...)}
	if end < len(a.results) {
		out.Cursor = base64.RawURLEncoding.EncodeToString([]byte(st.ID + ":" + strconv.Itoa(end)))
	}
	w.json(http.StatusOK, out)
}
