package sim_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// expected lists, ascending, the conversations overlapping [from, to) of a
// kind ("" for any), straight from the org.
func expected(o *sim.Org, from, to time.Time, kind string) []string {
	var out []string
	for i := range o.Len() {
		s, e := o.Span(i)
		if s.Before(to) && !e.Before(from) && (kind == "" || o.Kind(i) == kind) {
			out = append(out, o.ConversationID(i))
		}
	}
	return out
}

func TestDetailsQuery(t *testing.T) {
	s, c := start(t, sim.Options{})
	from := sim.DefaultStart.Add(10 * 24 * time.Hour)
	to := from.Add(20 * 24 * time.Hour)
	want := expected(s.Org, from, to, sim.KindWhatsApp)
	var got []string
	for page := 1; ; page++ {
		q := genesys.ConversationQuery{Interval: interval(from, to), SegmentFilters: whatsapp(), Paging: &genesys.PagingSpec{PageSize: 17, PageNumber: page}}
		res := decode[genesys.AnalyticsConversationQueryResponse](t, c.must(200, "POST", "/api/v2/analytics/conversations/details/query", q))
		if res.TotalHits != len(want) {
			t.Fatalf("totalHits %d, want %d", res.TotalHits, len(want))
		}
		for _, conv := range res.Conversations {
			got = append(got, conv.ConversationID)
			for _, p := range conv.Participants {
				for _, ss := range p.Sessions {
					if ss.MediaType != "message" || ss.MessageType != "whatsapp" {
						t.Fatalf("filter let through %s/%s", ss.MediaType, ss.MessageType)
					}
				}
			}
		}
		if len(res.Conversations) < 17 {
			break
		}
	}
	if len(want) < 20 || !equal(got, want) {
		t.Fatalf("paged %d conversations, want %d", len(got), len(want))
	}

	// Without the filter, other media appear too.
	all := decode[genesys.AnalyticsConversationQueryResponse](t, c.must(200, "POST", "/api/v2/analytics/conversations/details/query",
		genesys.ConversationQuery{Interval: interval(from, to)}))
	if all.TotalHits != len(expected(s.Org, from, to, "")) || all.TotalHits <= len(want) || len(all.Conversations) != 25 {
		t.Fatalf("unfiltered: %d hits, %d on the page", all.TotalHits, len(all.Conversations))
	}

	// A participant-level filter: one agent's conversations.
	agent := s.Org.Users()[0].ID
	byAgent := decode[genesys.AnalyticsConversationQueryResponse](t, c.must(200, "POST", "/api/v2/analytics/conversations/details/query",
		`{"interval":"`+interval(from, to)+`","segmentFilters":[{"type":"or","predicates":[{"dimension":"userId","value":"`+agent+`"}]}],"paging":{"pageSize":100,"pageNumber":1}}`))
	if byAgent.TotalHits == 0 || byAgent.TotalHits >= all.TotalHits {
		t.Fatalf("userId filter: %d hits of %d", byAgent.TotalHits, all.TotalHits)
	}
	for _, conv := range byAgent.Conversations {
		found := false
		for _, p := range conv.Participants {
			found = found || p.UserID == agent
		}
		if !found {
			t.Fatalf("conversation %s has no participant %s", conv.ConversationID, agent)
		}
	}

	bad := func(name string, body any) {
		t.Run(name, func(t *testing.T) {
			resp, b := c.do("POST", "/api/v2/analytics/conversations/details/query", body)
			errBody(t, resp, b, 400)
		})
	}
	bad("page too big", genesys.ConversationQuery{Interval: interval(from, to), Paging: &genesys.PagingSpec{PageSize: 101, PageNumber: 1}})
	bad("interval too long", genesys.ConversationQuery{Interval: interval(from, from.Add(32*24*time.Hour))})
	bad("no interval", genesys.ConversationQuery{})
	bad("bad interval", genesys.ConversationQuery{Interval: "yesterday/today"})
	bad("reversed interval", genesys.ConversationQuery{Interval: interval(to, from)})
	bad("unknown field", `{"interval":"`+interval(from, to)+`","segmentFilter":[]}`)
	bad("unknown dimension", `{"interval":"`+interval(from, to)+`","segmentFilters":[{"type":"and","predicates":[{"dimension":"colour","value":"red"}]}]}`)
	bad("bad operator", `{"interval":"`+interval(from, to)+`","segmentFilters":[{"type":"and","predicates":[{"dimension":"mediaType","operator":"like","value":"m"}]}]}`)
	bad("bad filter type", `{"interval":"`+interval(from, to)+`","segmentFilters":[{"type":"xor","predicates":[{"dimension":"mediaType","value":"message"}]}]}`)
	bad("not json", `{"interval":`)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAnalyticsJob(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, JobDelay: 10 * time.Second, Faults: "jobfail@2"})
	from, to := sim.DefaultStart, sim.DefaultEnd
	body := genesys.AsyncConversationQuery{Interval: interval(from, to), SegmentFilters: whatsapp()}
	job := decode[genesys.AsyncQueryResponse](t, c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", body))
	statusOf := func(id string) genesys.AsyncQueryStatus {
		return decode[genesys.AsyncQueryStatus](t, c.must(200, "GET", "/api/v2/analytics/conversations/details/jobs/"+id, nil))
	}
	if st := statusOf(job.JobID); st.State != genesys.JobQueued {
		t.Fatalf("new job is %s", st.State)
	}
	resp, b := c.do("GET", "/api/v2/analytics/conversations/details/jobs/"+job.JobID+"/results", nil)
	errBody(t, resp, b, 400)
	clock.Advance(6 * time.Second)
	if st := statusOf(job.JobID); st.State != genesys.JobPending {
		t.Fatalf("job is %s, want PENDING", st.State)
	}
	clock.Advance(4 * time.Second)
	if st := statusOf(job.JobID); st.State != genesys.JobFulfilled || st.CompletionDate == "" || st.ExpirationDate == "" {
		t.Fatalf("job status %+v", st)
	}

	page := func(id, cursor string, size int) genesys.AnalyticsConversationAsyncQueryResponse {
		v := url.Values{"pageSize": {strconv.Itoa(size)}}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		return decode[genesys.AnalyticsConversationAsyncQueryResponse](t, c.must(200, "GET", "/api/v2/analytics/conversations/details/jobs/"+id+"/results?"+v.Encode(), nil))
	}
	all := func(id string, size int) []string {
		var got []string
		cur := ""
		for n := 0; ; n++ {
			p := page(id, cur, size)
			if len(p.Conversations) > size || len(p.Conversations) == 0 {
				t.Fatalf("page of %d (size %d)", len(p.Conversations), size)
			}
			for _, conv := range p.Conversations {
				got = append(got, conv.ConversationID)
			}
			if p.Cursor == "" {
				return got
			}
			cur = p.Cursor
		}
	}
	want := expected(s.Org, from, to, sim.KindWhatsApp)
	if got := all(job.JobID, 37); !equal(got, want) {
		t.Fatalf("job listed %d conversations, want %d", len(got), len(want))
	}

	// The second job fails (jobfail@2); the third has a limit and runs desc.
	failed := decode[genesys.AsyncQueryResponse](t, c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", body))
	body.Limit, body.Order = 50, "desc"
	limited := decode[genesys.AsyncQueryResponse](t, c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", body))
	clock.Advance(10 * time.Second)
	if st := statusOf(failed.JobID); st.State != genesys.JobFailed || st.ErrorMessage == "" {
		t.Fatalf("jobfail@2: %+v", st)
	}
	got := all(limited.JobID, 20)
	if len(got) != 50 || got[0] != want[len(want)-1] || got[49] != want[len(want)-50] {
		t.Fatalf("limit 50 desc: got %d, first %s", len(got), got[0])
	}

	t.Run("errors", func(t *testing.T) {
		for _, path := range []string{
			"/jobs/" + job.JobID + "/results?pageSize=1001",
			"/jobs/" + job.JobID + "/results?pageSize=x",
			"/jobs/" + job.JobID + "/results?cursor=bm9wZQ",
			"/jobs/" + failed.JobID + "/results",
		} {
			resp, b := c.do("GET", "/api/v2/analytics/conversations/details"+path, nil)
			errBody(t, resp, b, 400)
		}
		resp, b := c.do("GET", "/api/v2/analytics/conversations/details/jobs/nope", nil)
		errBody(t, resp, b, 404)
		resp, b = c.do("POST", "/api/v2/analytics/conversations/details/jobs", `{"interval":"x"}`)
		errBody(t, resp, b, 400)
		// A cursor of one job is no good for another.
		p := page(job.JobID, "", 5)
		resp, b = c.do("GET", "/api/v2/analytics/conversations/details/jobs/"+limited.JobID+"/results?cursor="+p.Cursor, nil)
		errBody(t, resp, b, 400)
	})

	// DELETE cancels.
	c.must(204, "DELETE", "/api/v2/analytics/conversations/details/jobs/"+job.JobID, nil)
	if st := statusOf(job.JobID); st.State != genesys.JobCancelled {
		t.Fatalf("deleted job is %s", st.State)
	}
	clock.Advance(sim.DefaultJobTTL)
	c.tok = c.token() // the old one expired meanwhile
	if st := statusOf(limited.JobID); st.State != genesys.JobExpired {
		t.Fatalf("old job is %s", st.State)
	}
}
