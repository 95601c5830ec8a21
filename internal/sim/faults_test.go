package sim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

func TestParseFaults(t *testing.T) {
	good := map[string][]sim.FaultRule{
		"":                                    nil,
		"5xx=0.05":                            {{Kind: "5xx", Rate: 0.05}},
		"reset=0.01, truncate=1":              {{Kind: "reset", Rate: 0.01}, {Kind: "truncate", Rate: 1}},
		"slow=0.5:250ms":                      {{Kind: "slow", Rate: 0.5, Delay: 250 * time.Millisecond}},
		"slow@3":                              {{Kind: "slow", At: 3, Delay: 2 * time.Second}},
		"revoke@200":                          {{Kind: "revoke", At: 200}},
		"jobfail@1,oauth@2":                   {{Kind: "jobfail", At: 1}, {Kind: "oauth", At: 2}},
		"404=0.001":                           {{Kind: "404", Rate: 0.001}},
		"404=0123abcdef0123abcdef0123abcdef":  {{Kind: "404", ID: "0123abcdef0123abcdef0123abcdef"}},
		"503@7,429=0.1":                       {{Kind: "503", At: 7}, {Kind: "429", Rate: 0.1}},
		"echo=0.2,echo@3:400,oauthecho@1:200": {{Kind: "echo", Rate: 0.2, Status: 500}, {Kind: "echo", At: 3, Status: 400}, {Kind: "oauthecho", At: 1, Status: 200}},
	}
	for spec, want := range good {
		got, err := sim.ParseFaults(spec)
		if err != nil {
			t.Errorf("ParseFaults(%q): %v", spec, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ParseFaults(%q) = %v, want %v", spec, got, want)
		}
	}
	for _, spec := range []string{"boom=0.1", "5xx", "5xx=2", "5xx=-0.1", "reset@0", "reset@x", "slow=0.1:fast", "404@3", "=0.1", "500=NaN", "revoke=0.1x", "echo=0.1:300", "echo@1:x", "oauthecho=0.1:100"} {
		if _, err := sim.ParseFaults(spec); !errors.Is(err, sim.ErrBadFaultSpec) {
			t.Errorf("ParseFaults(%q) = %v, want ErrBadFaultSpec", spec, err)
		}
	}
}

func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"5xx=0.05,reset=0.01,truncate=0.01,slow=0.01:2s,revoke@200,jobfail@1,404=abc", "slow@1:1ms", "404=0.5", ",,", "echo=0.5:400", "oauthecho@2:200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		rules, err := sim.ParseFaults(spec)
		if err != nil {
			return
		}
		// What parses prints back to a spec that parses to the same rules.
		var again []sim.FaultRule
		for _, r := range rules {
			rr, err := sim.ParseFaults(r.String())
			if err != nil || len(rr) != 1 {
				t.Fatalf("rule %+v prints as %q, which does not parse: %v", r, r.String(), err)
			}
			again = append(again, rr...)
		}
		if fmt.Sprint(again) != fmt.Sprint(rules) {
			t.Fatalf("round trip %v != %v", again, rules)
		}
	})
}

// outcome is what a client saw for one request.
func outcome(c *client, method, path string, body any) string {
	resp, err := c.hc.Do(c.req(method, path, body))
	if err != nil {
		return "error"
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Sprintf("%d cut", resp.StatusCode)
	}
	if resp.StatusCode == 200 && !json.Valid(b) {
		return "200 truncated"
	}
	return fmt.Sprint(resp.StatusCode)
}

func TestFaultsReproducible(t *testing.T) {
	run := func(seed int64) []string {
		s, c := start(t, sim.Options{Faults: "5xx=0.15,reset=0.1,truncate=0.1,429=0.05", FaultSeed: seed})
		var out []string
		for i := range 60 {
			id := s.Org.ConversationID(i % 20)
			out = append(out, outcome(c, "GET", "/api/v2/conversations/"+id, nil))
		}
		return out
	}
	a, b, other := run(1), run(1), run(2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(other) {
		t.Fatal("different fault seeds gave the same faults")
	}
	kinds := map[string]int{}
	for _, o := range a {
		kinds[o]++
	}
	for _, k := range []string{"200", "200 truncated", "200 cut"} {
		if kinds[k] == 0 {
			t.Errorf("no %q outcome in %v", k, kinds)
		}
	}
	if kinds["500"]+kinds["502"]+kinds["503"]+kinds["504"] == 0 || kinds["429"] == 0 {
		t.Errorf("no 5xx or 429 in %v", kinds)
	}
}

func TestFaultsScheduled(t *testing.T) {
	o := sim.NewOrg(sim.OrgConfig{Seed: 3, Conversations: 50})
	goneConv := o.ConversationID(firstKind(t, o, sim.KindWhatsApp))
	cd, _ := o.Conversation(goneConv)
	keepConv := ""
	var goneMsg string
	for i := range o.Len() {
		if c := o.ConversationAt(i); c.Kind == sim.KindWhatsApp && c.ID != goneConv && len(c.Messages) > 2 {
			keepConv, goneMsg = c.ID, c.Messages[1].ID
			break
		}
	}
	_ = cd
	spec := fmt.Sprintf("revoke@2,503@4,jobfail@1,oauth@3,404=%s,404=%s", goneConv, goneMsg)
	s, c := start(t, sim.Options{Org: o, Faults: spec})
	path := "/api/v2/conversations/" + keepConv
	c.must(200, "GET", path, nil)     // API request 1
	resp, b := c.do("GET", path, nil) // 2: the token is revoked
	errBody(t, resp, b, 401)
	c.tok = c.token()                // token request 2
	c.must(200, "GET", path, nil)    // 3
	resp, b = c.do("GET", path, nil) // 4
	errBody(t, resp, b, 503)
	resp, b = c.tokenRequest(s.ClientID, s.ClientSecret, "grant_type=client_credentials") // token request 3
	if resp.StatusCode != 503 || decode[genesys.TokenError](t, b).Error == "" {
		t.Fatalf("oauth@3: %d %s", resp.StatusCode, b)
	}
	c.tok = c.token()

	// Deleted upstream: the conversation 404s everywhere; the message is
	// still listed but 404s alone and is left out of bulk.
	for _, p := range []string{"/api/v2/conversations/" + goneConv, "/api/v2/conversations/messages/" + goneConv} {
		resp, b := c.do("GET", p, nil)
		errBody(t, resp, b, 404)
	}
	resp, b = c.do("GET", "/api/v2/conversations/messages/"+keepConv+"/messages/"+goneMsg, nil)
	errBody(t, resp, b, 404)
	keep, _ := o.Conversation(keepConv)
	var ids []string
	for _, m := range keep.Messages {
		ids = append(ids, m.ID)
	}
	bulk := decode[genesys.TextMessageListing](t, c.must(200, "POST", "/api/v2/conversations/messages/"+keepConv+"/messages/bulk", ids))
	if len(bulk.Entities) != len(ids)-1 {
		t.Fatalf("bulk returned %d of %d with one message gone", len(bulk.Entities), len(ids))
	}

	// jobfail@1.
	job := decode[genesys.AsyncQueryResponse](t, c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd)}))
	if st := decode[genesys.AsyncQueryStatus](t, c.must(200, "GET", "/api/v2/analytics/conversations/details/jobs/"+job.JobID, nil)); st.State != genesys.JobFailed {
		t.Fatalf("jobfail@1: %s", st.State)
	}

	st := s.Stats()
	if st.Faults != 3 || st.Routes["POST /oauth/token"].FaultsByKind["oauth"] != 1 ||
		st.Routes["GET /api/v2/conversations/{conversationId}"].FaultsByKind["revoke"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFaultsNeverChangeState(t *testing.T) {
	// Every request fails with a 5xx: a PUT must not protect anything.
	s, c := start(t, sim.Options{Faults: "500=1"})
	i := 0
	for s.Org.LegalHold(i) {
		i++
	}
	resp, b := c.do("PUT", "/api/v2/recordings/deletionprotection?protect=true", genesys.DeletionProtectionQuery{ConversationIDs: []string{s.Org.ConversationID(i)}})
	errBody(t, resp, b, 500)
	if s.Org.LegalHold(i) {
		t.Fatal("a faulted PUT changed the legal hold")
	}

	// reset and truncate never cut a response to a state-changing request.
	s, c = start(t, sim.Options{Faults: "truncate=1"})
	c.must(202, "POST", "/api/v2/analytics/conversations/details/jobs", genesys.AsyncConversationQuery{Interval: interval(sim.DefaultStart, sim.DefaultEnd)})
	if got := outcome(c, "GET", "/api/v2/conversations/"+s.Org.ConversationID(0), nil); got != "200 truncated" {
		t.Fatalf("truncate=1 on a GET: %s", got)
	}
}

func TestStatsEndpoint(t *testing.T) {
	s, c := start(t, sim.Options{})
	for i := range 5 {
		c.must(200, "GET", "/api/v2/conversations/"+s.Org.ConversationID(i), nil)
	}
	c.do("GET", "/api/v2/conversations/nope", nil)
	resp, err := http.Get(s.APIURL + "/sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	st := decode[sim.Stats](t, b)
	r := st.Routes["GET /api/v2/conversations/{conversationId}"]
	if r.Requests != 6 || r.Status["200"] != 5 || r.Status["404"] != 1 || st.Routes["POST /oauth/token"].Requests != 1 || st.Requests != 7 {
		t.Fatalf("stats %s", b)
	}
}
