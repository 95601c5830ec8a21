package sim_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// loadSchema is the SDK models of testdata/ (simtest.Schema).
func loadSchema(t testing.TB) simtest.Schema { return simtest.LoadSchema(t) }

// TestResponsesMatchSDKModels sends every request the simulator answers
// and checks each response body against the current SDK model of its
// endpoint: no field outside the model, no other JSON type, no value
// outside an enum. Messages are read for every conversation of the org, so
// every kind (WhatsApp, SMS, web messaging), bots, receipts, attachments,
// edits and deletions are seen.
func TestResponsesMatchSDKModels(t *testing.T) {
	sc := loadSchema(t)
	s, c := start(t, sim.Options{EndpointLimits: map[string]int{"DELETE /api/v2/recording/jobs/{jobId}": 1}, OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 300, LegalHoldShare: 0.2, OtherMediaShare: 0.4}})
	seen := map[string]int{}
	expect := func(model string, want int, method, path string, body any) []byte {
		t.Helper()
		resp, b := c.do(method, path, body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
		}
		if len(b) > 0 || want != http.StatusNoContent {
			for _, e := range sc.Check(model, b) {
				t.Errorf("%s %s (%s): %s", method, path, model, e)
			}
		}
		seen[model]++
		return b
	}
	all := interval(sim.DefaultStart, sim.DefaultEnd)

	// Listing.
	job := decode[genesys.AsyncQueryResponse](t, expect("Asyncqueryresponse", 202, "POST", "/api/v2/analytics/conversations/details/jobs",
		genesys.AsyncConversationQuery{Interval: all}))
	expect("Asyncquerystatus", 200, "GET", "/api/v2/analytics/conversations/details/jobs/"+job.JobID, nil)
	page := decode[genesys.AnalyticsConversationAsyncQueryResponse](t, expect("Analyticsconversationasyncqueryresponse", 200, "GET",
		"/api/v2/analytics/conversations/details/jobs/"+job.JobID+"/results?pageSize=1000", nil))
	expect("Analyticsconversationqueryresponse", 200, "POST", "/api/v2/analytics/conversations/details/query",
		genesys.ConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultStart.AddDate(0, 0, 20))})

	// Every conversation: the conversation, the message conversation, every
	// message in bulk and the first one alone, and its legal hold.
	var ids []string
	for _, conv := range page.Conversations {
		id := conv.ConversationID
		ids = append(ids, id)
		expect("Conversation", 200, "GET", "/api/v2/conversations/"+id, nil)
		if conv.Participants[0].Sessions[0].MediaType != "message" {
			continue
		}
		mc := decode[genesys.MessageConversation](t, expect("Messageconversation", 200, "GET", "/api/v2/conversations/messages/"+id, nil))
		var msgs []string
		for _, p := range mc.Participants {
			for _, m := range p.Messages {
				msgs = append(msgs, m.MessageID)
			}
		}
		expect("Textmessagelisting", 200, "POST", "/api/v2/conversations/messages/"+id+"/messages/bulk", msgs)
		expect("Messagedata", 200, "GET", "/api/v2/conversations/messages/"+id+"/messages/"+msgs[0], nil)
		expect("[]Recording", 200, "GET", "/api/v2/conversations/"+id+"/recordings?formatId=NONE", nil)
	}
	if len(ids) != s.Org.Len() {
		t.Fatalf("listed %d of %d conversations", len(ids), s.Org.Len())
	}
	for chunk := range slices.Chunk(ids, genesys.MaxDeletionProtectionIDs) {
		expect("[]Addressableentityref", 200, "POST", "/api/v2/recordings/deletionprotection", genesys.DeletionProtectionQuery{ConversationIDs: chunk})
	}
	expect("", 204, "PUT", "/api/v2/recordings/deletionprotection", genesys.DeletionProtectionQuery{ConversationIDs: ids[:3]})

	// Audits.
	expect("Auditqueryservicemapping", 200, "GET", "/api/v2/audits/query/servicemapping", nil)
	aq := decode[genesys.AuditQueryExecutionStatus](t, expect("Auditqueryexecutionstatusresponse", 200, "POST", "/api/v2/audits/query",
		genesys.AuditQueryRequest{Interval: interval(sim.DefaultStart, sim.DefaultEnd.AddDate(1, 0, 0)), ServiceName: sim.DefaultAuditServiceName,
			Sort: []genesys.AuditQuerySort{{Name: "Timestamp", SortOrder: "descending"}}}))
	expect("Auditqueryexecutionstatusresponse", 200, "GET", "/api/v2/audits/query/"+aq.ID, nil)
	if ar := decode[genesys.AuditQueryExecutionResults](t, expect("Auditqueryexecutionresultsresponse", 200, "GET", "/api/v2/audits/query/"+aq.ID+"/results?pageSize=500", nil)); len(ar.Entities) == 0 {
		t.Fatal("no audit entries to check")
	}

	// Recording jobs.
	rj := decode[genesys.RecordingJob](t, expect("Recordingjob", 202, "POST", "/api/v2/recording/jobs",
		genesys.RecordingJobsQuery{Action: "EXPORT", IntegrationID: "s3", ConversationQuery: &genesys.AsyncConversationQuery{Interval: all}}))
	expect("Recordingjob", 200, "GET", "/api/v2/recording/jobs/"+rj.ID, nil)
	expect("Recordingjobentitylisting", 200, "GET", "/api/v2/recording/jobs", nil)
	expect("Recordingjob", 202, "PUT", "/api/v2/recording/jobs/"+rj.ID, genesys.RecordingJobState{State: "PROCESSING"})

	// Errors: 400, 404, 405, 429, 401.
	expect("Errorbody", 400, "POST", "/api/v2/analytics/conversations/details/jobs", `{"interval":"nope"}`)
	expect("Errorbody", 404, "GET", "/api/v2/conversations/nope", nil)
	expect("Errorbody", 405, "DELETE", "/api/v2/conversations/"+ids[0], nil)
	expect("Errorbody", 404, "GET", "/api/v2/nothing", nil)
	tok := c.tok
	c.tok = "expired"
	expect("Errorbody", 401, "GET", "/api/v2/conversations/"+ids[0], nil)
	c.tok = tok
	// One DELETE a minute: the second is refused.
	c.must(202, "DELETE", "/api/v2/recording/jobs/"+rj.ID, nil)
	expect("Errorbody", 429, "DELETE", "/api/v2/recording/jobs/"+rj.ID, nil)

	if t.Failed() {
		return
	}
	t.Logf("checked %v", seen)
}

// TestSchemaCheckCatchesDepartures: the checker itself finds an unknown
// field, a wrong type, a null and a value outside an enum.
func TestSchemaCheckCatchesDepartures(t *testing.T) {
	sc := loadSchema(t)
	for _, tc := range []struct{ body, want string }{
		{`{"id":"m","textBody":"hi"}`, `field "textBody" is not in model Messagedata`},
		{`{"id":1}`, "want a string"},
		{`{"id":null}`, "null"},
		{`{"normalizedMessage":{"channel":{"platform":"Webmessaging"}}}`, `"Webmessaging" is not a value of Conversationmessagingchannel.platform`},
		{`{"normalizedReceipts":{}}`, "want []Conversationnormalizedmessage"},
	} {
		errs := sc.Check("Messagedata", []byte(tc.body))
		if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
			t.Errorf("%s: %v, want one error with %q", tc.body, errs, tc.want)
		}
	}
	if errs := sc.Check("Messagedata", []byte(`{"id":"m","normalizedMessage":{"channel":{"platform":"WebMessaging"}}}`)); len(errs) != 0 {
		t.Errorf("a valid body: %v", errs)
	}
}
