package sim_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// TestSameSeedSameBytes: two servers with the same seed, clock and requests
// answer byte for byte the same (attachment urls carry the server's own
// address, so they are compared with it replaced).
func TestSameSeedSameBytes(t *testing.T) {
	transcript := func() []byte {
		clock := newClock()
		s, c := start(t, sim.Options{Now: clock.Now, OrgConfig: sim.OrgConfig{Seed: 99, Conversations: 120, LegalHoldShare: 0.2, OtherMediaShare: 0.3}})
		var out bytes.Buffer
		rec := func(b []byte) { out.Write(bytes.ReplaceAll(b, []byte(s.APIURL), []byte("BASE"))); out.WriteByte('\n') }
		rec([]byte(c.tok + s.ClientID + s.ClientSecret + s.OrgID))
		job := c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd), SegmentFilters: whatsapp()})
		rec(job)
		jr := decode[genesys.AsyncQueryResponse](t, job)
		page := c.must(200, "GET", "/api/v2/analytics/conversations/details/jobs/"+jr.JobID+"/results?pageSize=30", nil)
		rec(page)
		for _, conv := range decode[genesys.AnalyticsConversationAsyncQueryResponse](t, page).Conversations {
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
		rec([]byte(fmt.Sprint(resp.StatusCode, resp.Header.Get(genesys.HeaderCorrelationID))))
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
