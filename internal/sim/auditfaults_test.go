package sim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// TestAuditFaults: --audits-forbidden answers 403 to every audit route,
// naming audits:audit:view; auditfail@N makes the Nth audit query end
// Failed; auditpage@N makes the Nth refuse every cursor (400), its first
// page still served. The next query is served whole.
func TestAuditFaults(t *testing.T) {
	t.Run("forbidden", func(t *testing.T) {
		_, c := start(t, sim.Options{AuditsForbidden: true})
		q := genesys.AuditQueryRequest{Interval: interval(sim.DefaultStart, sim.DefaultStart.AddDate(1, 0, 0)), ServiceName: sim.DefaultAuditServiceName}
		for _, r := range []struct {
			method, path string
			body         any
		}{{"POST", "/api/v2/audits/query", q}, {"GET", "/api/v2/audits/query/x", nil}, {"GET", "/api/v2/audits/query/x/results", nil}, {"GET", "/api/v2/audits/query/servicemapping", nil}} {
			resp, b := c.do(r.method, r.path, r.body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "audits:audit:view") {
				t.Errorf("%s %s: %d %s, want 403 naming audits:audit:view", r.method, r.path, resp.StatusCode, b)
			}
		}
	})
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, Faults: "auditfail@1,auditpage@2", OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 400, LegalHoldShare: 0.2}})
	q := genesys.AuditQueryRequest{Interval: interval(sim.DefaultStart, clock.Now()), ServiceName: sim.DefaultAuditServiceName}
	n := 0
	for i := range s.Org.Len() {
		n += len(s.Org.Audits(i))
	}
	if n < 3 {
		t.Fatalf("%d audit entries: the fixture needs 3", n)
	}
	pages := func(id string) (got int, refused string) {
		cur := ""
		for {
			v := url.Values{"pageSize": {"2"}}
			if cur != "" {
				v.Set("cursor", cur)
			}
			resp, b := c.do("GET", "/api/v2/audits/query/"+id+"/results?"+v.Encode(), nil)
			if resp.StatusCode != http.StatusOK {
				return got, resp.Status + " " + string(b)
			}
			page := decode[genesys.AuditQueryExecutionResults](t, b)
			got += len(page.Entities)
			if page.Cursor == "" {
				return got, ""
			}
			cur = page.Cursor
		}
	}
	var ids []string
	for range 3 {
		st := decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "POST", "/api/v2/audits/query", q))
		ids = append(ids, st.ID)
	}
	clock.Advance(time.Minute)
	if st := decode[genesys.AuditQueryExecutionStatus](t, c.must(200, "GET", "/api/v2/audits/query/"+ids[0], nil)); st.State != genesys.AuditFailed {
		t.Errorf("query 1 (auditfail@1): state %s, want Failed", st.State)
	}
	if got, refused := pages(ids[1]); got != 2 || !strings.HasPrefix(refused, "400") {
		t.Errorf("query 2 (auditpage@2): %d entries, then %q; want its first page (2), then a 400", got, refused)
	}
	if got, refused := pages(ids[2]); got != n || refused != "" {
		t.Errorf("query 3: %d entries, then %q; want all %d", got, refused, n)
	}
}
