package fetch

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

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

// FuzzRetryAfter feeds hostile Retry-After values to the parser: the wait
// is never negative, and zero when the header is not understood.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"42", "Wed, 21 Oct 2015 07:28:00 GMT", "-5", "1e9", " 9 ", "99999999999999999999", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, retryAfter string) {
		clk := newFakeClock()
		h := http.Header{}
		h.Set(genesys.HeaderRetryAfter, retryAfter)
		if d, ok := parseRetryAfter(h, clk.Now()); d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %s, %v", retryAfter, d, ok)
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

// TestCursorPagerBounds: a cursor of maxCursor bytes is taken, a longer
// one refused, and a repeat refused whatever came between.
func TestCursorPagerBounds(t *testing.T) {
	var p cursorPager
	long := strings.Repeat("c", maxCursor)
	for _, c := range []string{"a", long, "b"} {
		if got, err := p.next(c); err != nil || got != c {
			t.Fatalf("cursor of %d bytes: %v", len(c), err)
		}
	}
	if _, err := p.next(long + "c"); !errors.Is(err, ErrMalformedBody) {
		t.Errorf("a cursor of %d bytes: %v", maxCursor+1, err)
	}
	if _, err := p.next(long); !errors.Is(err, ErrMalformedBody) {
		t.Errorf("a repeated cursor: %v", err)
	}
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
				if !seen[c] && len(c) <= maxCursor {
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
