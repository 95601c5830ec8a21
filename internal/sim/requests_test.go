package sim

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
)

// jsonFields lists the JSON names of t's fields, embedded structs included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestRequestBodiesHaveEverySDKField: each body the simulator decodes
// strictly has exactly the fields of its SDK model, so a body an SDK sends
// is never a 400 for an unknown field, and a misspelt one still is.
func TestRequestBodiesHaveEverySDKField(t *testing.T) {
	var models map[string]map[string]string
	for _, f := range []string{"testdata/genesys-models.json", "testdata/genesys-models-extra.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &models); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		v      any
		models []string // the models v stands for; it must have the union of their fields
	}{
		{asyncConversationQuery{}, []string{"Asyncconversationquery"}},
		{conversationQuery{}, []string{"Conversationquery"}},
		{recordingJobsQuery{}, []string{"Recordingjobsquery"}},
		{queryFilter{}, []string{"Segmentdetailqueryfilter", "Conversationdetailqueryfilter", "Evaluationdetailqueryfilter", "Surveydetailqueryfilter", "Resolutiondetailqueryfilter"}},
		{queryClause{}, []string{"Segmentdetailqueryclause", "Conversationdetailqueryclause", "Evaluationdetailqueryclause"}},
		{queryPredicate{}, []string{"Segmentdetailquerypredicate", "Conversationdetailquerypredicate", "Evaluationdetailquerypredicate", "Surveydetailquerypredicate", "Resolutiondetailquerypredicate"}},
		{numericRange{}, []string{"Numericrange"}},
		{aggregation{}, []string{"Analyticsqueryaggregation"}},
		{genesys.PagingSpec{}, []string{"Pagingspec"}},
		{genesys.AuditQueryRequest{}, []string{"Auditqueryrequest"}},
		{genesys.AuditQueryFilter{}, []string{"Auditqueryfilter"}},
		{genesys.AuditQuerySort{}, []string{"Auditquerysort"}},
		{genesys.DeletionProtectionQuery{}, []string{"Conversationdeletionprotectionquery"}},
		{genesys.RecordingJobState{}, []string{"Executerecordingjobsquery"}},
	} {
		var want []string
		for _, m := range tc.models {
			fields, ok := models[m]
			if !ok {
				t.Fatalf("model %s is not in testdata", m)
			}
			for f := range fields {
				if !slices.Contains(want, f) {
					want = append(want, f)
				}
			}
		}
		sort.Strings(want)
		if got := jsonFields(reflect.TypeOf(tc.v)); !slices.Equal(got, want) {
			t.Errorf("%T has fields %v, the SDK models %v have %v", tc.v, got, tc.models, want)
		}
	}
}
