package sim_test

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

func jobPages(t *testing.T, c *client, id string, size int, stopAt int) (pages []genesys.AnalyticsConversationAsyncQueryResponse, lastCursor string) {
	t.Helper()
	cursor := ""
	for k := 0; stopAt == 0 || k < stopAt; k++ {
		v := url.Values{"pageSize": {strconv.Itoa(size)}}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		p := decode[genesys.AnalyticsConversationAsyncQueryResponse](t, c.must(200, "GET", "/api/v2/analytics/conversations/details/jobs/"+id+"/results?"+v.Encode(), nil))
		pages = append(pages, p)
		if p.Cursor == "" {
			return pages, ""
		}
		cursor = p.Cursor
	}
	return pages, cursor
}

func newJob(t *testing.T, c *client) string {
	t.Helper()
	body := genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd), SegmentFilters: whatsapp()}
	return decode[genesys.AsyncQueryResponse](t, c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", body)).JobID
}

// TestPagingShortPages: some non-final pages hold fewer than pageSize
// conversations, with a cursor; following the cursor still yields every
// conversation once.
func TestPagingShortPages(t *testing.T) {
	_, plain := start(t, sim.Options{})
	want, _ := jobPages(t, plain, newJob(t, plain), 20, 0)
	_, c := start(t, sim.Options{Paging: sim.PagingFaults{ShortPages: 0.5}})
	pages, _ := jobPages(t, c, newJob(t, c), 20, 0)
	short := 0
	seen := map[string]bool{}
	for i, p := range pages {
		if i < len(pages)-1 && len(p.Conversations) < 20 {
			short++
		}
		for _, cv := range p.Conversations {
			if seen[cv.ConversationID] {
				t.Fatalf("conversation %s twice", cv.ConversationID)
			}
			seen[cv.ConversationID] = true
		}
	}
	n := 0
	for _, p := range want {
		n += len(p.Conversations)
	}
	if short == 0 || len(seen) != n {
		t.Fatalf("%d short pages, %d conversations, want some short and all %d", short, len(seen), n)
	}
}

// TestPagingExpiry: the Nth cursor expires (400), and a job can expire
// mid-iteration (EXPIRED, results refused).
func TestPagingExpiry(t *testing.T) {
	_, c := start(t, sim.Options{Paging: sim.PagingFaults{ExpireCursorAt: 2}})
	id := newJob(t, c)
	_, cursor := jobPages(t, c, id, 20, 2) // the first page, then the first cursor
	resp, b := c.do("GET", "/api/v2/analytics/conversations/details/jobs/"+id+"/results?pageSize=20&cursor="+url.QueryEscape(cursor), nil)
	errBody(t, resp, b, 400)
	if resp, _ := c.do("GET", "/api/v2/analytics/conversations/details/jobs/"+id+"/results?pageSize=20&cursor="+url.QueryEscape(cursor), nil); resp.StatusCode != 200 {
		t.Fatalf("a cursor expires once (the Nth use): then %d", resp.StatusCode)
	}

	_, c = start(t, sim.Options{Paging: sim.PagingFaults{ExpireJobAt: 2}})
	id = newJob(t, c)
	jobPages(t, c, id, 20, 1)
	resp, b = c.do("GET", "/api/v2/analytics/conversations/details/jobs/"+id+"/results?pageSize=20", nil)
	errBody(t, resp, b, 400)
	st := decode[genesys.AsyncQueryStatus](t, c.must(200, "GET", "/api/v2/analytics/conversations/details/jobs/"+id, nil))
	if st.State != genesys.JobExpired {
		t.Fatalf("job %s, want EXPIRED", st.State)
	}
}

// TestDataAvailabilityLag: results stop at dataAvailabilityDate, which
// says so.
func TestDataAvailabilityLag(t *testing.T) {
	until := sim.DefaultStart.Add(sim.DefaultEnd.Sub(sim.DefaultStart) / 2)
	s, c := start(t, sim.Options{DataAvailableUntil: until})
	pages, _ := jobPages(t, c, newJob(t, c), 100, 0)
	n := 0
	for _, p := range pages {
		if p.DataAvailabilityDate != until.UTC().Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("dataAvailabilityDate %q, want %s", p.DataAvailabilityDate, until)
		}
		for _, cv := range p.Conversations {
			i, _ := s.Org.Index(cv.ConversationID)
			if st, _ := s.Org.Span(i); !st.Before(until) {
				t.Fatalf("conversation started %s, after the availability date", st)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("nothing before the availability date")
	}
}
