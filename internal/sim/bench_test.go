package sim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// BenchmarkServe measures the requests per second the simulator serves on
// loopback, limits and faults off, with parallel clients: GET conversation,
// GET message conversation and POST messages/bulk over a 100,000
// conversation org (each request a different conversation, as an export
// would: a cache miss every time), and the export pattern (message
// conversation then bulk, two requests per conversation).
func BenchmarkServe(b *testing.B) {
	s := simtest.Start(b, sim.Options{OrgConfig: sim.OrgConfig{Seed: 1, Conversations: 100_000, LegalHoldShare: 0.01, OtherMediaShare: 0.1}})
	o := s.Org
	type conv struct {
		id   string
		bulk []byte
	}
	var convs []conv
	for i := 0; len(convs) < 4000 && i < o.Len(); i += 7 {
		if o.Kind(i) != sim.KindWhatsApp {
			continue
		}
		c := o.ConversationAt(i)
		ids := make([]string, len(c.Messages))
		for k, m := range c.Messages {
			ids[k] = m.ID
		}
		body, _ := json.Marshal(ids)
		convs = append(convs, conv{c.ID, body})
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	c := &client{t: b, s: s, hc: hc}
	tok := c.token()

	do := func(b *testing.B, r *http.Request) bool {
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(r)
		if err != nil {
			b.Error(err)
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("status %d", resp.StatusCode)
			return false
		}
		return true
	}
	// run sends one request per iteration per request builder, all for the
	// iteration's conversation.
	run := func(b *testing.B, reqs ...func(cv conv) *http.Request) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cv := convs[int(n.Add(1))%len(convs)]
				for _, req := range reqs {
					if !do(b, req(cv)) {
						return
					}
				}
			}
		})
		b.ReportMetric(float64(b.N*len(reqs))/b.Elapsed().Seconds(), "req/s")
	}
	getMC := func(cv conv) *http.Request {
		r, _ := http.NewRequest("GET", s.APIURL+"/api/v2/conversations/messages/"+cv.id, nil)
		return r
	}
	bulk := func(cv conv) *http.Request {
		r, _ := http.NewRequest("POST", s.APIURL+"/api/v2/conversations/messages/"+cv.id+"/messages/bulk", bytes.NewReader(cv.bulk))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	b.Run("GetConversation", func(b *testing.B) {
		run(b, func(cv conv) *http.Request {
			r, _ := http.NewRequest("GET", s.APIURL+"/api/v2/conversations/"+cv.id, nil)
			return r
		})
	})
	b.Run("GetMessageConversation", func(b *testing.B) { run(b, getMC) })
	b.Run("BulkMessages", func(b *testing.B) { run(b, bulk) })
	// What an export does per conversation: read it, then its messages in
	// one bulk call (the second hits the simulator's conversation cache).
	b.Run("ExportPattern", func(b *testing.B) { run(b, getMC, bulk) })
}
