package sim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// Behaviours of the Genesys Cloud of today (issue 11) that earlier versions
// of the simulator got wrong.

// TestWrongMethodIs405: a known path with another method is a 405 with the
// Genesys error body and Allow, on every listener; an unknown path a 404.
func TestWrongMethodIs405(t *testing.T) {
	s, c := start(t, sim.Options{})
	id := s.Org.ConversationID(0)
	for _, tc := range []struct {
		base, method, path, allow string
	}{
		{s.APIURL, "DELETE", "/api/v2/conversations/" + id, "GET"},
		{s.APIURL, "GET", "/api/v2/recordings/deletionprotection", "POST, PUT"},
		{s.APIURL, "POST", "/api/v2/audits/query/servicemapping", "GET"},
		{s.APIURL, "PATCH", "/api/v2/recording/jobs/x", "GET, PUT, DELETE"},
		{s.LoginURL, "GET", "/oauth/token", "POST"},
		{s.MediaURL, "POST", "/sim/media/x", "GET"},
	} {
		req, _ := http.NewRequest(tc.method, tc.base+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+c.tok)
		resp, b := c.send(req)
		e := errBody(t, resp, b, http.StatusMethodNotAllowed)
		if got := resp.Header.Get("Allow"); got != tc.allow || e.Code != "method.not.allowed" {
			t.Errorf("%s %s: Allow %q (want %q), code %q", tc.method, tc.path, got, tc.allow, e.Code)
		}
	}
	resp, b := c.do("GET", "/api/v2/conversations/"+id+"/nothing", nil)
	errBody(t, resp, b, 404)
	if st := s.Stats(); st.Routes["(method not allowed)"].Status["405"] != 6 {
		t.Errorf("stats %+v", st.Routes["(method not allowed)"])
	}
}

// TestLoginAPIAndMediaHostsApart: login, API and attachment downloads
// answer on different hosts, each only its own routes, as
// login.{domain}, api.{domain} and a pre-signed media host do.
func TestLoginAPIAndMediaHostsApart(t *testing.T) {
	s, c := start(t, sim.Options{})
	if s.LoginURL == s.APIURL || s.MediaURL == s.APIURL || s.MediaURL == s.LoginURL {
		t.Fatalf("hosts %s %s %s", s.APIURL, s.LoginURL, s.MediaURL)
	}
	id := s.Org.ConversationID(firstKind(t, s.Org, sim.KindWhatsApp))
	for _, tc := range []struct{ base, method, path string }{
		{s.APIURL, "POST", "/oauth/token"},
		{s.LoginURL, "GET", "/api/v2/conversations/" + id},
		{s.MediaURL, "GET", "/api/v2/conversations/" + id},
		{s.APIURL, "GET", "/sim/media/x"},
	} {
		req, _ := http.NewRequest(tc.method, tc.base+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+c.tok)
		resp, b := c.send(req)
		errBody(t, resp, b, http.StatusNotFound)
	}
}

// TestProtectDefaultsToTrue: PUT deletionprotection without protect applies it.
func TestProtectDefaultsToTrue(t *testing.T) {
	s, c := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 50}})
	id := s.Org.ConversationID(7)
	c.must(204, "PUT", "/api/v2/recordings/deletionprotection", genesys.DeletionProtectionQuery{ConversationIDs: []string{id}})
	if !s.Org.LegalHold(7) {
		t.Fatal("PUT without protect did not protect")
	}
}

// TestProtectionCap: at most sim.MaxProtectedConversations conversations
// are protected at once; a PUT that would pass it is a 400 and changes
// nothing; releasing makes room again.
func TestProtectionCap(t *testing.T) {
	s, c := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 1200, LegalHoldShare: 0.05}})
	o := s.Org
	already := len(o.HeldIndexes())
	var free []string
	for i := range o.Len() {
		if !o.LegalHold(i) {
			free = append(free, o.ConversationID(i))
		}
	}
	room := sim.MaxProtectedConversations - already
	for k := 0; k < room; k += 100 {
		c.must(204, "PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: free[k:min(k+100, room)]})
	}
	if n := len(o.HeldIndexes()); n != sim.MaxProtectedConversations {
		t.Fatalf("%d protected, want %d", n, sim.MaxProtectedConversations)
	}
	// Protecting one already protected is fine; one more is not.
	c.must(204, "PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: free[:1]})
	resp, b := c.do("PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: free[room : room+2]})
	if e := errBody(t, resp, b, 400); !strings.Contains(e.Message, "1000") {
		t.Fatalf("message %q", e.Message)
	}
	if i, _ := o.Index(free[room]); o.LegalHold(i) || len(o.HeldIndexes()) != sim.MaxProtectedConversations {
		t.Fatal("a refused PUT changed holds")
	}
	c.must(204, "PUT", "/api/v2/recordings/deletionprotection?protect=false", genesys.DeletionProtectionQuery{ConversationIDs: free[:1]})
	c.must(204, "PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: free[room : room+1]})
}

// TestAuditDefaultsAndServiceMapping: audit results come 25 to a page
// unless asked otherwise; the service mapping names the service and
// actions the org's protection entries use.
func TestAuditDefaultsAndServiceMapping(t *testing.T) {
	s, c := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 1000, LegalHoldShare: 0.1}})
	st := decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "POST", "/api/v2/audits/query",
		genesys.AuditQueryRequest{Interval: interval(sim.DefaultStart, sim.DefaultEnd.AddDate(1, 0, 0)), ServiceName: sim.DefaultAuditServiceName}))
	res := decode[genesys.AuditQueryExecutionResults](t, c.must(200, "GET", "/api/v2/audits/query/"+st.ID+"/results", nil))
	if res.PageSize != 25 || len(res.Entities) != 25 || res.Cursor == "" {
		t.Fatalf("default page: pageSize %d, %d entities, cursor %q", res.PageSize, len(res.Entities), res.Cursor)
	}
	m := c.must(200, "GET", "/api/v2/audits/query/servicemapping", nil)
	for _, want := range []string{`"name":"` + s.Org.Config().AuditServiceName + `"`, `"ApplyProtection"`, `"RevokeProtection"`, `"Conversation"`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("service mapping %s lacks %s", m, want)
		}
	}
	// ClientId, a property of the SDK's filter enum, filters too.
	id := s.Org.ConversationID(0)
	c.must(204, "PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: []string{id}})
	st = decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "POST", "/api/v2/audits/query",
		genesys.AuditQueryRequest{Interval: interval(sim.DefaultStart, time.Now().Add(time.Hour)), ServiceName: sim.DefaultAuditServiceName,
			Filters: []genesys.AuditQueryFilter{{Property: "ClientId", Value: s.ClientID}}}))
	res = decode[genesys.AuditQueryExecutionResults](t, c.must(200, "GET", "/api/v2/audits/query/"+st.ID+"/results", nil))
	if len(res.Entities) != 1 || res.Entities[0].Entity.ID != id {
		t.Fatalf("ClientId filter: %+v", res.Entities)
	}
}

// TestRecordingJobList: GET /api/v2/recording/jobs pages the org's jobs,
// filtered by state.
func TestRecordingJobList(t *testing.T) {
	clock := newClock()
	_, c := start(t, sim.Options{Now: clock.Now, RecordingJobDelay: time.Second})
	body := genesys.RecordingJobsQuery{Action: "EXPORT", IntegrationID: "s3", ConversationQuery: &genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd)}}
	a := decode[genesys.RecordingJob](t, c.must(202, "POST", "/api/v2/recording/jobs", body))
	b := decode[genesys.RecordingJob](t, c.must(202, "POST", "/api/v2/recording/jobs", body))
	c.must(202, "DELETE", "/api/v2/recording/jobs/"+a.ID, nil)
	l := decode[map[string]any](t, c.must(200, "GET", "/api/v2/recording/jobs", nil))
	if l["total"].(float64) != 2 || l["pageSize"].(float64) != 25 || len(l["entities"].([]any)) != 2 {
		t.Fatalf("listing %v", l)
	}
	page2 := decode[map[string]any](t, c.must(200, "GET", "/api/v2/recording/jobs?pageSize=1&pageNumber=2", nil))
	if e := page2["entities"].([]any); len(e) != 1 || e[0].(map[string]any)["id"] != b.ID || page2["previousUri"] == nil || page2["nextUri"] != nil {
		t.Fatalf("page 2 %v", page2)
	}
	clock.Advance(time.Second)
	ready := decode[map[string]any](t, c.must(200, "GET", "/api/v2/recording/jobs?state=READY", nil))
	if e := ready["entities"].([]any); len(e) != 1 || e[0].(map[string]any)["id"] != b.ID {
		t.Fatalf("READY jobs %v", ready)
	}
}

// TestSDKRequestFieldsAccepted: request bodies with fields an SDK sends
// that custody does not are accepted; filters on data the org does not
// have are refused by name, not as unknown fields.
func TestSDKRequestFieldsAccepted(t *testing.T) {
	_, c := start(t, sim.Options{})
	iv := interval(sim.DefaultStart, sim.DefaultStart.AddDate(0, 0, 10))
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"job with every field", "POST", "/api/v2/analytics/conversations/details/jobs",
			`{"interval":"` + iv + `","order":"unordered","orderBy":"conversationStart","limit":10,"segmentFilters":` + whatsappFilter +
				`,"conversationFilters":[],"evaluationFilters":[],"surveyFilters":[],"resolutionFilters":[],"startOfDayIntervalMatching":false}`, 202},
		{"query with every field", "POST", "/api/v2/analytics/conversations/details/query",
			`{"interval":"` + iv + `","order":"desc","orderBy":"conversationStart","paging":{"pageSize":5,"pageNumber":1},"segmentFilters":[],"conversationFilters":[],` +
				`"evaluationFilters":[],"surveyFilters":[],"resolutionFilters":[],"aggregations":[]}`, 200},
		{"predicate with property fields", "POST", "/api/v2/analytics/conversations/details/query",
			`{"interval":"` + iv + `","segmentFilters":[{"type":"and","predicates":[{"type":"dimension","dimension":"mediaType","value":"message","property":"","propertyType":"string"}]}]}`, 200},
		{"evaluation filter", "POST", "/api/v2/analytics/conversations/details/jobs",
			`{"interval":"` + iv + `","evaluationFilters":[{"type":"and","predicates":[{"dimension":"evaluationId","operator":"exists"}]}]}`, 400},
		{"aggregations", "POST", "/api/v2/analytics/conversations/details/query",
			`{"interval":"` + iv + `","aggregations":[{"type":"termFrequency","dimension":"queueId","size":5}]}`, 400},
		{"recording job with every field", "POST", "/api/v2/recording/jobs",
			`{"action":"EXPORT","actionDate":"2030-01-01T00:00:00.000Z","actionAge":0,"integrationId":"s3","includeScreenRecordings":true,` +
				`"includeRecordingsWithSensitiveData":false,"includePolicyBasedRecordings":true,"includeSnippetRecordings":false,"clearExport":false,` +
				`"conversationQuery":{"interval":"` + iv + `","evaluationFilters":[]},"screenRecordingActionDate":"2030-01-01T00:00:00.000Z","screenRecordingActionAge":0}`, 202},
		{"a misspelt field is still a 400", "POST", "/api/v2/analytics/conversations/details/jobs",
			`{"interval":"` + iv + `","segmentFilter":[]}`, 400},
	} {
		resp, b := c.do(tc.method, tc.path, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.name, resp.StatusCode, tc.status, b)
			continue
		}
		if tc.status == 400 && tc.name != "a misspelt field is still a 400" && strings.Contains(string(b), "unknown field") {
			t.Errorf("%s: refused as unknown: %s", tc.name, b)
		}
	}
	// Conversations older than conversationQuery reaches are chosen by
	// agedConversationInterval alone.
	_, c2 := start(t, sim.Options{})
	job := decode[genesys.RecordingJob](t, c2.must(202, "POST", "/api/v2/recording/jobs",
		`{"action":"EXPORT","integrationId":"s3","agedConversationInterval":"`+iv+`"}`))
	if job.TotalConversations == 0 {
		t.Fatalf("aged interval job %+v", job)
	}
	resp, b := c2.do("POST", "/api/v2/recording/jobs", `{"action":"EXPORT","integrationId":"s3"}`)
	errBody(t, resp, b, 400)
}

// TestGeneratedHoldsCapped: a generated org never has more protected
// conversations than Genesys allows, whatever the share asked for.
func TestGeneratedHoldsCapped(t *testing.T) {
	o := sim.NewOrg(sim.OrgConfig{Seed: 2, Conversations: 3000, LegalHoldShare: 0.5})
	held := o.HeldIndexes()
	if len(held) != sim.MaxProtectedConversations {
		t.Fatalf("%d generated holds, want the cap %d", len(held), sim.MaxProtectedConversations)
	}
	for _, i := range held {
		if !o.LegalHold(i) || len(o.ConversationAt(i).Audits) == 0 {
			t.Fatalf("held conversation %d has no hold or no audit entry", i)
		}
	}
	if last := held[len(held)-1]; o.LegalHold(last + 1) {
		t.Fatalf("conversation %d after the cap is held", last+1)
	}
}
