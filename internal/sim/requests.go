package sim

import (
	"errors"

	"github.com/custodyhq/custody/internal/genesys"
)

// Request bodies as the simulator decodes them: every field of the current
// SDK models (shared/reference/genesys-models.json), so that a body an SDK
// can send is never refused as having unknown fields. internal/genesys
// holds only what custody itself sends; these add the rest.

// numericRange is model Numericrange.
type numericRange struct {
	Gt  *float64 `json:"gt,omitempty"`
	Gte *float64 `json:"gte,omitempty"`
	Lt  *float64 `json:"lt,omitempty"`
	Lte *float64 `json:"lte,omitempty"`
}

// queryPredicate holds the fields of every analytics detail predicate
// model (Segment-, Conversation-, Evaluation-, Survey- and
// Resolutiondetailquerypredicate): the others' fields are a subset of the
// segment predicate's.
type queryPredicate struct {
	Type         string        `json:"type,omitempty"`
	Dimension    string        `json:"dimension,omitempty"`
	Property     string        `json:"property,omitempty"`
	PropertyType string        `json:"propertyType,omitempty"`
	Metric       string        `json:"metric,omitempty"`
	Operator     string        `json:"operator,omitempty"`
	Value        string        `json:"value,omitempty"`
	Range        *numericRange `json:"range,omitempty"`
}

// queryClause is model Segmentdetailqueryclause and its siblings.
type queryClause struct {
	Type       string           `json:"type"`
	Predicates []queryPredicate `json:"predicates,omitempty"`
}

// queryFilter is model Segmentdetailqueryfilter and its siblings.
type queryFilter struct {
	Type       string           `json:"type"`
	Clauses    []queryClause    `json:"clauses,omitempty"`
	Predicates []queryPredicate `json:"predicates,omitempty"`
}

// aggregation is model Analyticsqueryaggregation.
type aggregation struct {
	Type      string `json:"type,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	Metric    string `json:"metric,omitempty"`
	Size      int    `json:"size,omitempty"`
	Ranges    []struct {
		Gte *float64 `json:"gte,omitempty"`
		Lt  *float64 `json:"lt,omitempty"`
	} `json:"ranges,omitempty"`
}

// detailFilters are the filters both analytics query models share.
type detailFilters struct {
	SegmentFilters      []queryFilter `json:"segmentFilters,omitempty"`
	ConversationFilters []queryFilter `json:"conversationFilters,omitempty"`
	EvaluationFilters   []queryFilter `json:"evaluationFilters,omitempty"`
	SurveyFilters       []queryFilter `json:"surveyFilters,omitempty"`
	ResolutionFilters   []queryFilter `json:"resolutionFilters,omitempty"`
}

// unsupported refuses filters on data the simulated org does not have
// (evaluations, surveys, resolutions): a 400 rather than an answer that
// silently ignores them.
func (f *detailFilters) unsupported() error {
	switch {
	case len(f.EvaluationFilters) > 0:
		return errors.New("evaluationFilters are not supported by the simulator (its org has no evaluations)")
	case len(f.SurveyFilters) > 0:
		return errors.New("surveyFilters are not supported by the simulator (its org has no surveys)")
	case len(f.ResolutionFilters) > 0:
		return errors.New("resolutionFilters are not supported by the simulator (its org has no resolutions)")
	}
	return nil
}

// asyncConversationQuery is model Asyncconversationquery, the body of
// POST /api/v2/analytics/conversations/details/jobs.
type asyncConversationQuery struct {
	Interval string `json:"interval"`
	Order    string `json:"order,omitempty"`
	OrderBy  string `json:"orderBy,omitempty"`
	Limit    int    `json:"limit,omitempty"`
	detailFilters
	StartOfDayIntervalMatching bool `json:"startOfDayIntervalMatching,omitempty"`
}

// conversationQuery is model Conversationquery, the body of
// POST /api/v2/analytics/conversations/details/query.
type conversationQuery struct {
	Interval string              `json:"interval"`
	Order    string              `json:"order,omitempty"`
	OrderBy  string              `json:"orderBy,omitempty"`
	Paging   *genesys.PagingSpec `json:"paging,omitempty"`
	detailFilters
	Aggregations []aggregation `json:"aggregations,omitempty"`
}

// recordingJobsQuery is model Recordingjobsquery, the body of
// POST /api/v2/recording/jobs.
type recordingJobsQuery struct {
	Action                             string                  `json:"action"`
	ActionDate                         string                  `json:"actionDate,omitempty"`
	ActionAge                          int                     `json:"actionAge,omitempty"`
	IntegrationID                      string                  `json:"integrationId,omitempty"`
	IncludeScreenRecordings            *bool                   `json:"includeScreenRecordings,omitempty"`
	IncludeRecordingsWithSensitiveData bool                    `json:"includeRecordingsWithSensitiveData,omitempty"`
	IncludePolicyBasedRecordings       *bool                   `json:"includePolicyBasedRecordings,omitempty"`
	IncludeSnippetRecordings           *bool                   `json:"includeSnippetRecordings,omitempty"`
	ClearExport                        bool                    `json:"clearExport,omitempty"`
	ConversationQuery                  *asyncConversationQuery `json:"conversationQuery,omitempty"`
	AgedConversationInterval           string                  `json:"agedConversationInterval,omitempty"`
	ScreenRecordingActionDate          string                  `json:"screenRecordingActionDate,omitempty"`
	ScreenRecordingActionAge           int                     `json:"screenRecordingActionAge,omitempty"`
}

// wire returns the query as the job echoes it (the fields
// genesys.RecordingJobsQuery carries).
func (q *recordingJobsQuery) wire() *genesys.RecordingJobsQuery {
	out := &genesys.RecordingJobsQuery{
		Action: q.Action, ActionDate: q.ActionDate, IntegrationID: q.IntegrationID,
		IncludeScreenRecordings: q.IncludeScreenRecordings == nil || *q.IncludeScreenRecordings, // default true
		ClearExport:             q.ClearExport,
	}
	if cq := q.ConversationQuery; cq != nil {
		out.ConversationQuery = &genesys.AsyncConversationQuery{
			Interval: cq.Interval, Order: cq.Order, OrderBy: cq.OrderBy, Limit: cq.Limit,
			SegmentFilters: wireFilters(cq.SegmentFilters), ConversationFilters: wireFilters(cq.ConversationFilters),
			StartOfDayIntervalMatching: cq.StartOfDayIntervalMatching,
		}
	}
	return out
}

func wireFilters(fs []queryFilter) []genesys.Filter {
	var out []genesys.Filter
	for _, f := range fs {
		g := genesys.Filter{Type: f.Type, Predicates: wirePredicates(f.Predicates)}
		for _, c := range f.Clauses {
			g.Clauses = append(g.Clauses, genesys.Clause{Type: c.Type, Predicates: wirePredicates(c.Predicates)})
		}
		out = append(out, g)
	}
	return out
}

func wirePredicates(ps []queryPredicate) []genesys.Predicate {
	var out []genesys.Predicate
	for _, p := range ps {
		out = append(out, genesys.Predicate{Type: p.Type, Dimension: p.Dimension, Metric: p.Metric, Operator: p.Operator, Value: p.Value})
	}
	return out
}

// auditQueryServiceMapping is model Auditqueryservicemapping, the body of
// GET /api/v2/audits/query/servicemapping.
type auditQueryServiceMapping struct {
	Services []auditQueryService `json:"services"`
}

// auditQueryService is model Auditqueryservice.
type auditQueryService struct {
	Name     string             `json:"name"`
	Entities []auditQueryEntity `json:"entities,omitempty"`
}

// auditQueryEntity is model Auditqueryentity.
type auditQueryEntity struct {
	Name    string   `json:"name"`
	Actions []string `json:"actions,omitempty"`
}

// recordingJobListing is model Recordingjobentitylisting, the body of
// GET /api/v2/recording/jobs.
type recordingJobListing struct {
	Entities    []genesys.RecordingJob `json:"entities"`
	PageSize    int                    `json:"pageSize"`
	PageNumber  int                    `json:"pageNumber"`
	Total       int                    `json:"total"`
	PageCount   int                    `json:"pageCount"`
	FirstURI    string                 `json:"firstUri,omitempty"`
	LastURI     string                 `json:"lastUri,omitempty"`
	NextURI     string                 `json:"nextUri,omitempty"`
	PreviousURI string                 `json:"previousUri,omitempty"`
	SelfURI     string                 `json:"selfUri,omitempty"`
}
