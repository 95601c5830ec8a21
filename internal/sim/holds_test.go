package sim_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

func TestDeletionProtection(t *testing.T) {
	s, c := start(t, sim.Options{})
	o := s.Org
	held := o.HeldIndexes()
	if len(held) < 5 {
		t.Fatalf("only %d held conversations", len(held))
	}
	var ids, wantHeld []string
	for i := range 100 {
		ids = append(ids, o.ConversationID(i))
		if o.LegalHold(i) {
			wantHeld = append(wantHeld, o.ConversationID(i))
		}
	}
	query := func(ids []string) []string {
		refs := decode[[]genesys.EntityRef](t, c.must(200, "POST", "/api/v2/recordings/deletionprotection", genesys.DeletionProtectionQuery{ConversationIDs: ids}))
		var out []string
		for _, r := range refs {
			if r.SelfURI != "/api/v2/conversations/"+r.ID {
				t.Fatalf("selfUri %q", r.SelfURI)
			}
			out = append(out, r.ID)
		}
		return out
	}
	if got := query(ids); !equal(got, wantHeld) || len(got) == 0 {
		t.Fatalf("protected %v, want %v", got, wantHeld)
	}

	// Protect an unprotected conversation, then release it; each change is audited.
	free := ""
	for _, id := range ids {
		if cd, _ := o.Conversation(id); !slices.Contains(wantHeld, id) && len(cd.Audits) == 0 {
			free = id
			break
		}
	}
	c.must(204, "PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: []string{free, "unknown-id"}})
	if got := query([]string{free}); len(got) != 1 {
		t.Fatal("protect=true did not protect")
	}
	c.must(204, "PUT", "/api/v2/recordings/deletionprotection?protect=false", genesys.DeletionProtectionQuery{ConversationIDs: []string{free}})
	if got := query([]string{free}); len(got) != 0 {
		t.Fatal("protect=false did not release")
	}
	cd, _ := o.Conversation(free)
	if len(cd.Audits) != 2 || cd.Audits[0].Action != "ApplyProtection" || cd.Audits[1].Action != "RevokeProtection" || cd.LegalHold {
		t.Fatalf("audits after protect/release: %+v", cd.Audits)
	}

	tooMany := make([]string, 101)
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"over 100", "POST", "/api/v2/recordings/deletionprotection", genesys.DeletionProtectionQuery{ConversationIDs: tooMany}},
		{"no ids", "POST", "/api/v2/recordings/deletionprotection", `{}`},
		{"bad protect", "PUT", "/api/v2/recordings/deletionprotection?protect=maybe", genesys.DeletionProtectionQuery{ConversationIDs: ids[:1]}},
		{"put over 100", "PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: tooMany}},
		{"wrong field", "POST", "/api/v2/recordings/deletionprotection", `{"ids":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := c.do(tc.method, tc.path, tc.body)
			errBody(t, resp, b, 400)
		})
	}
}

func TestAudits(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, AuditDelay: 4 * time.Second})
	o := s.Org
	svc := sim.DefaultAuditServiceName
	all := interval(sim.DefaultStart, clock.Now())
	held := o.ConversationID(o.HeldIndexes()[0])
	want, _ := o.Conversation(held)

	q := genesys.AuditQueryRequest{Interval: all, ServiceName: svc, Filters: []genesys.AuditQueryFilter{{Property: "EntityId", Value: held}}}
	st := decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "POST", "/api/v2/audits/query", q))
	if st.State != genesys.AuditQueued || st.ID == "" || st.ServiceName != svc {
		t.Fatalf("new audit query %+v", st)
	}
	resp, b := c.do("GET", "/api/v2/audits/query/"+st.ID+"/results", nil)
	errBody(t, resp, b, 400)
	clock.Advance(2 * time.Second)
	if st2 := decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "GET", "/api/v2/audits/query/"+st.ID, nil)); st2.State != genesys.AuditRunning {
		t.Fatalf("state %s, want Running", st2.State)
	}
	clock.Advance(2 * time.Second)
	res := decode[genesys.AuditQueryExecutionResults](t, c.must(200, "GET", "/api/v2/audits/query/"+st.ID+"/results", nil))
	if len(res.Entities) != len(want.Audits) || res.Entities[0].ID != want.Audits[0].ID || res.Entities[0].Entity.ID != held {
		t.Fatalf("audit results %+v, want %+v", res.Entities, want.Audits)
	}
	e := res.Entities[0]
	if e.Action != "ApplyProtection" || e.ServiceName != svc || len(e.PropertyChanges) == 0 || e.EventDate == "" || e.User == nil {
		t.Fatalf("audit entry %+v", e)
	}

	// Every entry, paged 3 at a time, sorted by time; Action filter.
	q = genesys.AuditQueryRequest{Interval: all, ServiceName: svc, Filters: []genesys.AuditQueryFilter{{Property: "Action", Value: "ApplyProtection"}}}
	st = decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "POST", "/api/v2/audits/query", q))
	clock.Advance(4 * time.Second)
	var got []genesys.AuditLogMessage
	cur := ""
	for {
		v := url.Values{"pageSize": {"3"}}
		if cur != "" {
			v.Set("cursor", cur)
		}
		page := decode[genesys.AuditQueryExecutionResults](t, c.must(200, "GET", "/api/v2/audits/query/"+st.ID+"/results?"+v.Encode(), nil))
		got = append(got, page.Entities...)
		if page.Cursor == "" {
			break
		}
		cur = page.Cursor
	}
	wantN := 0
	for i := range o.Len() {
		for _, a := range o.Audits(i) {
			if a.Action == "ApplyProtection" {
				wantN++
			}
		}
	}
	if len(got) != wantN || wantN < len(o.HeldIndexes()) {
		t.Fatalf("%d ApplyProtection entries, want %d", len(got), wantN)
	}
	for k := 1; k < len(got); k++ {
		if got[k].EventDate < got[k-1].EventDate || got[k].Action != "ApplyProtection" {
			t.Fatalf("entry %d out of order or wrong action", k)
		}
	}

	// Another service sees nothing.
	other := decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "POST", "/api/v2/audits/query", genesys.AuditQueryRequest{Interval: all, ServiceName: "Routing"}))
	clock.Advance(4 * time.Second)
	if r := decode[genesys.AuditQueryExecutionResults](t, c.must(200, "GET", "/api/v2/audits/query/"+other.ID+"/results", nil)); len(r.Entities) != 0 {
		t.Fatalf("Routing audits: %d", len(r.Entities))
	}

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"no service", "POST", "/api/v2/audits/query", genesys.AuditQueryRequest{Interval: all}, 400},
		{"bad interval", "POST", "/api/v2/audits/query", genesys.AuditQueryRequest{Interval: "x", ServiceName: svc}, 400},
		{"bad property", "POST", "/api/v2/audits/query", genesys.AuditQueryRequest{Interval: all, ServiceName: svc, Filters: []genesys.AuditQueryFilter{{Property: "Colour", Value: "x"}}}, 400},
		// Level and Status are fields of an entry but not properties of the SDK's filter enum.
		{"Level is no filter property", "POST", "/api/v2/audits/query", genesys.AuditQueryRequest{Interval: all, ServiceName: svc, Filters: []genesys.AuditQueryFilter{{Property: "Level", Value: "USER"}}}, 400},
		{"Status is no filter property", "POST", "/api/v2/audits/query", genesys.AuditQueryRequest{Interval: all, ServiceName: svc, Filters: []genesys.AuditQueryFilter{{Property: "Status", Value: "SUCCESS"}}}, 400},
		{"page too big", "GET", "/api/v2/audits/query/" + st.ID + "/results?pageSize=501", nil, 400},
		{"bad cursor", "GET", "/api/v2/audits/query/" + st.ID + "/results?cursor=zzz", nil, 400},
		{"unknown query", "GET", "/api/v2/audits/query/nope", nil, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := c.do(tc.method, tc.path, tc.body)
			errBody(t, resp, b, tc.status)
		})
	}
}

// fakeExporter records what it was asked to export.
type fakeExporter struct {
	mu      sync.Mutex
	ids     []string
	release chan struct{}
	err     error
}

func (f *fakeExporter) RunExport(ctx context.Context, org *sim.Org, job sim.ExportJob, progress func(int)) (sim.ExportResult, error) {
	ids := job.ConversationIDs
	for k, id := range ids {
		if _, ok := org.Conversation(id); !ok {
			return sim.ExportResult{}, errors.New("unknown conversation " + id)
		}
		if k == len(ids)/2 && f.release != nil {
			progress(k)
			select {
			case <-f.release:
			case <-ctx.Done():
				return sim.ExportResult{}, ctx.Err()
			}
		}
	}
	f.mu.Lock()
	f.ids = ids
	f.mu.Unlock()
	progress(len(ids))
	return sim.ExportResult{Exported: len(ids)}, f.err
}

func TestRecordingJobs(t *testing.T) {
	clock := newClock()
	exp := &fakeExporter{release: make(chan struct{})}
	s, c := start(t, sim.Options{Now: clock.Now, RecordingJobDelay: 5 * time.Second, RecordingExporter: exp})
	from, to := sim.DefaultStart.Add(24*time.Hour), sim.DefaultStart.Add(15*24*time.Hour)
	body := genesys.RecordingJobsQuery{Action: "EXPORT", IntegrationID: "s3-integration", ConversationQuery: &genesys.AsyncConversationQuery{Interval: interval(from, to), SegmentFilters: whatsapp()}}
	job := decode[genesys.RecordingJob](t, c.must(202, "POST", "/api/v2/recording/jobs", body))
	want := expected(s.Org, from, to, sim.KindWhatsApp)
	if job.State != genesys.RecJobPending || job.TotalConversations != len(want) || job.ID == "" {
		t.Fatalf("new job %+v (want %d conversations)", job, len(want))
	}
	path := "/api/v2/recording/jobs/" + job.ID
	resp, b := c.do("PUT", path, genesys.RecordingJobState{State: "PROCESSING"})
	errBody(t, resp, b, 400) // not READY yet
	clock.Advance(5 * time.Second)
	if j := decode[genesys.RecordingJob](t, c.must(200, "GET", path, nil)); j.State != genesys.RecJobReady {
		t.Fatalf("job is %s, want READY", j.State)
	}
	// A second job is allowed, a third is not (2 unfinished at most).
	second := decode[genesys.RecordingJob](t, c.must(202, "POST", "/api/v2/recording/jobs", body))
	resp, b = c.do("POST", "/api/v2/recording/jobs", body)
	errBody(t, resp, b, 400)
	c.must(202, "DELETE", "/api/v2/recording/jobs/"+second.ID, nil)

	c.must(202, "PUT", path, genesys.RecordingJobState{State: "PROCESSING"})
	var j genesys.RecordingJob
	for deadline := time.Now().Add(5 * time.Second); ; {
		j = decode[genesys.RecordingJob](t, c.must(200, "GET", path, nil))
		if j.TotalProcessedRecordings == len(want)/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if j.State != genesys.RecJobProcessing || j.PercentProgress != 100*(len(want)/2)/len(want) {
		t.Fatalf("job mid-way: %+v", j)
	}
	close(exp.release)
	for deadline := time.Now().Add(5 * time.Second); j.State == genesys.RecJobProcessing && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		j = decode[genesys.RecordingJob](t, c.must(200, "GET", path, nil))
	}
	if j.State != genesys.RecJobFulfilled || j.PercentProgress != 100 || j.TotalProcessedRecordings != len(want) {
		t.Fatalf("finished job %+v", j)
	}
	exp.mu.Lock()
	if !equal(exp.ids, want) {
		t.Fatalf("exporter got %d ids, want %d", len(exp.ids), len(want))
	}
	exp.mu.Unlock()

	t.Run("bad bodies", func(t *testing.T) {
		for _, b := range []any{
			genesys.RecordingJobsQuery{Action: "ARCHIVE", IntegrationID: "x", ConversationQuery: body.ConversationQuery},
			genesys.RecordingJobsQuery{Action: "EXPORT", ConversationQuery: body.ConversationQuery},
			genesys.RecordingJobsQuery{Action: "EXPORT", IntegrationID: "x"},
			`{"action":"EXPORT","integrationId":"x","conversationQuery":{"interval":"nope"}}`,
		} {
			resp, rb := c.do("POST", "/api/v2/recording/jobs", b)
			errBody(t, resp, rb, 400)
		}
		resp, rb := c.do("PUT", path, `{"state":"DONE"}`)
		errBody(t, resp, rb, 400)
		resp, rb = c.do("GET", "/api/v2/recording/jobs/nope", nil)
		errBody(t, resp, rb, 404)
	})
}

func TestRecordingJobWithoutExporter(t *testing.T) {
	_, c := start(t, sim.Options{})
	body := genesys.RecordingJobsQuery{Action: "EXPORT", IntegrationID: "s3", ConversationQuery: &genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd)}}
	job := decode[genesys.RecordingJob](t, c.must(202, "POST", "/api/v2/recording/jobs", body))
	if job.State != genesys.RecJobReady {
		t.Fatalf("with no delay a job is READY at once, got %s", job.State)
	}
	c.must(202, "PUT", "/api/v2/recording/jobs/"+job.ID, genesys.RecordingJobState{State: "PROCESSING"})
	var j genesys.RecordingJob
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		j = decode[genesys.RecordingJob](t, c.must(200, "GET", "/api/v2/recording/jobs/"+job.ID, nil))
		if j.State != genesys.RecJobProcessing {
			break
		}
	}
	if j.State != genesys.RecJobFailed || !strings.Contains(j.ErrorMessage, "no recording exporter") {
		t.Fatalf("job %+v", j)
	}
}

// TestGeneratedRevokedHolds: a generated org has conversations whose hold
// was applied and then revoked: not protected now, with both audit
// entries, which an audit query over the org returns. Before, every
// generated history ended protected, so no conversation without a hold
// had audit entries, and an export that missed them could not show it.
func TestGeneratedRevokedHolds(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 2000, LegalHoldShare: 0.1}})
	o := s.Org
	var revoked []string
	for i := range o.Len() {
		cd, _ := o.Conversation(o.ConversationID(i))
		if cd.LegalHold || len(cd.Audits) == 0 {
			continue
		}
		if len(cd.Audits) != 2 || cd.Audits[0].Action != "ApplyProtection" || cd.Audits[1].Action != "RevokeProtection" ||
			cd.Audits[1].EventDate < cd.Audits[0].EventDate {
			t.Fatalf("conversation %s, not held: audit entries %+v; want applied, then revoked", cd.ID, cd.Audits)
		}
		revoked = append(revoked, cd.ID)
	}
	if held := len(o.HeldIndexes()); len(revoked) == 0 || len(revoked) > held {
		t.Fatalf("%d revoked holds beside %d held: want some, fewer than the held", len(revoked), held)
	}
	q := genesys.AuditQueryRequest{Interval: interval(sim.DefaultStart, clock.Now()), ServiceName: sim.DefaultAuditServiceName,
		Filters: []genesys.AuditQueryFilter{{Property: "Action", Value: "RevokeProtection"}}}
	st := decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "POST", "/api/v2/audits/query", q))
	clock.Advance(time.Minute)
	found := map[string]bool{}
	cur := ""
	for {
		v := url.Values{"pageSize": {"500"}}
		if cur != "" {
			v.Set("cursor", cur)
		}
		page := decode[genesys.AuditQueryExecutionResults](t, c.must(200, "GET", "/api/v2/audits/query/"+st.ID+"/results?"+v.Encode(), nil))
		for _, e := range page.Entities {
			found[e.Entity.ID] = true
		}
		if page.Cursor == "" {
			break
		}
		cur = page.Cursor
	}
	for _, id := range revoked {
		if !found[id] {
			t.Errorf("the audit query does not return the revocation of conversation %s", id)
		}
	}
}
