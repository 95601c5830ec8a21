package sim_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// TestSameSeedSameBytes: two servers with the same seed, clock and requests
// answer byte for byte the same, but for the ids of live traffic (tokens,
// correlation ids, job ids and the cursors that name them), which
// TestLiveIDsDifferAcrossServers covers; attachment urls carry the
// server's own address, so they are compared with it replaced.
func TestSameSeedSameBytes(t *testing.T) {
	transcript := func() []byte {
		clock := newClock()
		s, c := start(t, sim.Options{Now: clock.Now, OrgConfig: sim.OrgConfig{Seed: 99, Conversations: 120, LegalHoldShare: 0.2, OtherMediaShare: 0.3}})
		var out bytes.Buffer
		live := map[string]string{s.MediaURL: "MEDIA"}
		rec := func(b []byte) {
			for k, v := range live {
				b = bytes.ReplaceAll(b, []byte(k), []byte(v))
			}
			out.Write(b)
			out.WriteByte('\n')
		}
		rec([]byte(s.ClientID + s.ClientSecret + s.OrgID))
		job := c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd), SegmentFilters: whatsapp()})
		jr := decode[genesys.AsyncQueryResponse](t, job)
		live[jr.JobID] = "JOB"
		rec(job)
		page := c.must(200, "GET", "/api/v2/analytics/conversations/details/jobs/"+jr.JobID+"/results?pageSize=30", nil)
		res := decode[genesys.AnalyticsConversationAsyncQueryResponse](t, page)
		live[res.Cursor] = "CURSOR"
		rec(page)
		for _, conv := range res.Conversations {
			id := conv.ConversationID
			rec(c.must(200, "GET", "/api/v2/conversations/"+id, nil))
			mc := c.must(200, "GET", "/api/v2/conversations/messages/"+id, nil)
			rec(mc)
			var ids []string
			for _, p := range decode[genesys.MessageConversation](t, mc).Participants {
				for _, m := range p.Messages {
					ids = append(ids, m.MessageID)
				}
			}
			rec(c.must(200, "POST", "/api/v2/conversations/messages/"+id+"/messages/bulk", ids))
			rec(c.must(200, "POST", "/api/v2/recordings/deletionprotection", genesys.DeletionProtectionQuery{ConversationIDs: []string{id}}))
		}
		resp, b := c.do("GET", "/api/v2/conversations/nope", nil)
		live[resp.Header.Get(genesys.HeaderCorrelationID)] = "CORR"
		rec([]byte(fmt.Sprint(resp.StatusCode)))
		rec(b)
		return out.Bytes()
	}
	a, b := transcript(), transcript()
	if !bytes.Equal(a, b) {
		t.Fatal("same seed and requests, different responses")
	}
	if len(a) < 10000 {
		t.Fatalf("transcript only %d bytes", len(a))
	}
}

// TestLiveIDsDifferAcrossServers: two simulators with the same seed (two
// processes, or a restart) share the org but never a token, correlation
// id, job id or the id of an audit entry a request caused, as two sessions
// with Genesys never do.
func TestLiveIDsDifferAcrossServers(t *testing.T) {
	seen := map[string]string{}
	for run := range 2 {
		s, c := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 99, Conversations: 20}})
		resp, b := c.do("POST", "/api/v2/analytics/conversations/details/jobs", genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd)})
		if resp.StatusCode != 202 {
			t.Fatalf("job: %d %s", resp.StatusCode, b)
		}
		c.must(204, "PUT", "/api/v2/recordings/deletionprotection", genesys.DeletionProtectionQuery{ConversationIDs: []string{s.Org.ConversationID(5)}})
		audits := s.Org.Audits(5)
		ids := map[string]string{
			"token":          c.tok,
			"correlation id": resp.Header.Get(genesys.HeaderCorrelationID),
			"job id":         decode[genesys.AsyncQueryResponse](t, b).JobID,
			"audit id":       audits[len(audits)-1].ID,
		}
		for what, id := range ids {
			if prev, ok := seen[id]; ok {
				t.Errorf("run %d: %s %q repeats the %s of run 1", run+1, what, id, prev)
			}
			seen[id] = what
		}
		if s.Org.ConversationID(3) != sim.NewOrg(sim.OrgConfig{Seed: 99, Conversations: 20}).ConversationID(3) {
			t.Fatal("the org is not the seed's")
		}
	}
}
