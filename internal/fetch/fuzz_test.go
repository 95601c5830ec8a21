package fetch

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// Seeds: bodies shaped like the real API's (shared/docs/genesys-api.md),
// and the usual hostile ones.
var decodeSeeds = []string{
	`{"jobId":"7d4f3c1e-0000-4000-8000-000000000001"}`,
	`{"state":"FULFILLED","expirationDate":"2025-01-02T00:00:00.000Z","submissionDate":"2025-01-01T00:00:00.000Z"}`,
	`{"conversations":[{"conversationId":"c1","conversationStart":"2025-01-01T00:00:00.123Z","participants":[{"participantId":"p1","purpose":"customer","sessions":[{"sessionId":"s1","mediaType":"message","messageType":"whatsapp","segments":[{"segmentStart":"2025-01-01T00:00:00.123Z"}],"metrics":[{"name":"nConnected","value":1}]}]}]}],"cursor":"abc"}`,
	`{"id":"c1","participants":[{"id":"p1","purpose":"customer","attributes":{"a":"b"},"messages":[{"messageId":"m1","messageStatus":"delivery-success","messageTime":"2025-01-01T00:00:00.123Z"}],"type":"whatsapp"}]}`,
	`{"entities":[{"id":"m1","timestamp":"2025-01-01T00:00:00.123Z","direction":"inbound","messengerType":"whatsapp","normalizedMessage":{"type":"Text","text":"hi","content":[{"contentType":"Attachment","attachment":{"mediaType":"Image","url":"https://x/y","sha256":"00"}}],"metadata":{"k":"v"}}}]}`,
	`[{"id":"c1","selfUri":"/api/v2/conversations/c1"}]`,
	`{"id":"tx","pageSize":500,"cursor":"n","entities":[{"id":"e1","propertyChanges":[{"property":"p","oldValues":["a"],"newValues":["b"]}],"context":{"k":"v"}}]}`,
	`{"message":"Rate limit exceeded the maximum. Retry the request in [42] seconds","code":"too.many.requests.retry.after","status":429,"contextId":"c","details":[],"errors":[]}`,
	`{"error":"invalid_client","description":"x","error_description":"y"}`,
	`{"access_token":"t","token_type":"bearer","expires_in":86400}`,
	``, `null`, `[]`, `{}`, `"x"`, `1e999`, `{"id":`, `{"participants":{"a":1}}`, `{"conversations":[null]}`,
	`{"entities":[{"normalizedMessage":null,"media":[{}]}]}`, "\xff\xfe", `{"a":"\ud800"}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
}

// FuzzDecodeResponses feeds hostile bodies through every decoding path of
// the client: the typed decode of each endpoint, the error-body and
// token-error decoding. None may panic, and none may change the raw body.
func FuzzDecodeResponses(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	c, err := New(Config{ClientID: "id", ClientSecret: "secret-value", APIURL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		resp := &Response{Method: "GET", Path: "/p", Status: 200, Body: body, Header: http.Header{}}
		_, _ = decode[genesys.AsyncQueryResponse](resp)
		_, _ = decode[genesys.AsyncQueryStatus](resp)
		_, _ = decode[genesys.AnalyticsConversationAsyncQueryResponse](resp)
		_, _ = decode[genesys.AnalyticsConversationQueryResponse](resp)
		_, _ = decode[genesys.MessageConversation](resp)
		_, _ = decode[genesys.Conversation](resp)
		_, _ = decode[genesys.MessageData](resp)
		_, _ = decode[genesys.TextMessageListing](resp)
		_, _ = decode[[]genesys.EntityRef](resp)
		_, _ = decode[genesys.AuditQueryExecutionStatus](resp)
		_, _ = decode[genesys.AuditQueryExecutionResults](resp)
		_, _ = decode[genesys.RecordingJob](resp)
		if v, err := decode[genesys.MessageConversation](resp); err == nil && v == nil {
			t.Fatal("nil value without error")
		}
		hr := &http.Response{StatusCode: 500, Header: http.Header{}}
		err := c.statusError(request{method: "GET"}, "/p", attemptResult{resp: hr, body: body})
		if strings.Contains(err.Error(), "secret-value") {
			t.Fatal("secret in API error")
		}
		resp.Status = 401
		if err := c.tokenError(resp); strings.Contains(err.Error(), "secret-value") {
			t.Fatal("secret in auth error")
		}
		if !bytes.Equal(body, orig) {
			t.Fatal("decoding changed the raw body")
		}
	})
}

// FuzzRateHeaders feeds hostile rate-limit headers to the pacer: the pace
// must stay within [minPacePerMinute, configured], Retry-After non-negative.
func FuzzRateHeaders(f *testing.F) {
	f.Add("300", "12", "45", "42")
	f.Add("60", "60", "30", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add("0", "-1", "99999999999999999999", "-5")
	f.Add("1", "1", "1", "1e9")
	f.Add(" 9 ", "x", "", "")
	f.Fuzz(func(t *testing.T, allowed, count, reset, retryAfter string) {
		clk := newFakeClock()
		p := newPacer(Config{Rate: 300, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
		h := http.Header{}
		h.Set(genesys.HeaderRateLimitAllowed, allowed)
		h.Set(genesys.HeaderRateLimitCount, count)
		h.Set(genesys.HeaderRateLimitReset, reset)
		h.Set(genesys.HeaderRetryAfter, retryAfter)
		p.observe(h)
		pace, until := p.snapshot()
		if pace < minPacePerMinute || pace > 291 {
			t.Fatalf("pace %v out of bounds", pace)
		}
		if until.Sub(clk.Now()) > time.Minute {
			t.Fatalf("pause of %s from headers", until.Sub(clk.Now()))
		}
		if d, ok := parseRetryAfter(h, clk.Now()); d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter = %s, %v", d, ok)
		}
	})
}

// FuzzPathID checks that any accepted id becomes exactly one path segment
// that unescapes back to the id.
func FuzzPathID(f *testing.F) {
	for _, s := range []string{"c1", "a/b", "..", ".", "../x", "a?b#c", "%2F", "", "é", "a\x00", "7d4f3c1e-0000-4000-8000-000000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		esc, err := pathID("x", id)
		if err != nil {
			return
		}
		if id == "." || id == ".." || strings.ContainsAny(esc, "/?#") {
			t.Fatalf("pathID(%q) = %q", id, esc)
		}
		u, perr := url.Parse("http://h/api/" + esc + "/tail")
		if perr != nil {
			t.Fatalf("unparsable path for %q: %v", id, perr)
		}
		segs := strings.Split(u.EscapedPath(), "/")
		if len(segs) != 4 || segs[3] != "tail" {
			t.Fatalf("pathID(%q) = %q spans segments: %q", id, esc, u.EscapedPath())
		}
		if back, _ := url.PathUnescape(esc); back != id {
			t.Fatalf("round trip %q -> %q -> %q", id, esc, back)
		}
	})
}

// FuzzCursorPager: hostile cursor sequences never loop.
func FuzzCursorPager(f *testing.F) {
	f.Add("a,b,c,")
	f.Add("a,b,a")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, seq string) {
		var p cursorPager
		seen := map[string]bool{}
		for _, c := range strings.Split(seq, ",") {
			next, err := p.next(c)
			if err != nil {
				if !seen[c] {
					t.Fatalf("fresh cursor %q refused", c)
				}
				return
			}
			if next == "" {
				return
			}
			seen[c] = true
		}
	})
}
