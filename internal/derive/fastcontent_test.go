package derive

import (
	"bytes"
	"testing"
)

// contentCases are the content types the fast decoders read since issue
// 16's last round (quick replies, list pickers, locations, events), the
// first contentAnswered of them as the simulator serves them, the rest
// their wrong shapes and the numbers a location may hold.
var contentCases = []string{
	`{"id":"q","normalizedMessage":{"content":[{"contentType":"QuickReply","quickReply":{"text":"Order status","payload":"ORDER_STATUS","action":"Message"}},{"contentType":"QuickReply","quickReply":{"text":"Agent","payload":"AGENT","image":"https://img.example/a.png","action":"Message"}}]}}`,
	`{"id":"l","normalizedMessage":{"content":[{"contentType":"ListPicker","listPicker":{"id":"menu-3","sections":[{"title":"Orders","multipleSelection":false,"items":[{"id":"track","title":"Track my parcel","subtitle":"Where is my order?"},{"id":"return","title":"Return","imageUrl":"https://img.example/r.png"}]},{"title":"Account","multipleSelection":true,"items":[]}],"replyMessage":{"title":"How can we help?","buttonLabel":"Menu","header":"Acme","subtitle":"s","imageUrl":"i"},"receivedMessage":{"title":"Track my parcel"}}}]}}`,
	`{"id":"g","normalizedMessage":{"content":[{"contentType":"Location","location":{"url":"https://maps.google.com/maps?q=-33.857199,151.21488","address":"Bennelong Point, Sydney NSW 2000","text":"Sydney Opera House","latitude":-33.857199,"longitude":151.21488}}]}}`,
	`{"id":"g2","normalizedMessage":{"content":[{"location":{"latitude":0,"longitude":-0}},{"location":{"latitude":1E2,"longitude":-1.5e-7}},{"location":{"latitude":9007199254740993,"longitude":0.30000000000000004}}]}}`,
	`{"id":"e","normalizedMessage":{"events":[{"eventType":"Typing","typing":{"type":"On","duration":5000}},{"eventType":"Presence","presence":{"type":"Join"}},{"eventType":"CoBrowse","coBrowse":{"type":"Offering"}}],"status":"Sent"}}`,
	`{"id":"e2","normalizedMessage":{"events":[]},"normalizedReceipts":[{"events":[{"eventType":"Typing","typing":{"type":"On"}}]}]}`,
}

const contentAnswered = 6

var contentWrongShapes = []string{
	`{"normalizedMessage":{"content":[{"location":{"latitude":1e400}}]}}`,
	`{"normalizedMessage":{"content":[{"location":{"latitude":-1e309}}]}}`,
	`{"normalizedMessage":{"content":[{"location":{"latitude":"1.5"}}]}}`,
	`{"normalizedMessage":{"content":[{"location":{"latitude":null}}]}}`,
	`{"normalizedMessage":{"content":[{"location":{"latitude":1,"latitude":2}}]}}`,
	`{"normalizedMessage":{"content":[{"location":{"Latitude":1}}]}}`,
	`{"normalizedMessage":{"content":[{"location":{"latitude":01}}]}}`,
	`{"normalizedMessage":{"content":[{"location":{"latitude":1.}}]}}`,
	`{"normalizedMessage":{"content":[{"location":[]}]}}`,
	`{"normalizedMessage":{"content":[{"location":null}]}}`,
	`{"normalizedMessage":{"content":[{"quickReply":{"text":1}}]}}`,
	`{"normalizedMessage":{"content":[{"quickReply":{"text":"a","TEXT":"b"}}]}}`,
	`{"normalizedMessage":{"content":[{"quickReply":{"payload":"\ud800"}}]}}`,
	`{"normalizedMessage":{"content":[{"listPicker":{"sections":[{"multipleSelection":1}]}}]}}`,
	`{"normalizedMessage":{"content":[{"listPicker":{"sections":[{"multipleSelection":null}]}}]}}`,
	`{"normalizedMessage":{"content":[{"listPicker":{"sections":[{"items":[null]}]}}]}}`,
	`{"normalizedMessage":{"content":[{"listPicker":{"sections":{}}}]}}`,
	`{"normalizedMessage":{"content":[{"listPicker":{"sections":null}}]}}`,
	`{"normalizedMessage":{"content":[{"listPicker":{"replyMessage":{"title":"a","title":"b"}}}]}}`,
	`{"normalizedMessage":{"content":[{"listPicker":{"receivedMessage":"x"}}]}}`,
	`{"normalizedMessage":{"events":[null]}}`,
	`{"normalizedMessage":{"events":{}}}`,
	`{"normalizedMessage":{"events":[{"typing":{"duration":1.5}}]}}`,
	`{"normalizedMessage":{"events":[{"typing":{"duration":"5"}}]}}`,
	`{"normalizedMessage":{"events":[{"presence":{"Type":"Join"}}]}}`,
	`{"normalizedMessage":{"events":[{"eventType":"Typing","typing":null}]}}`,
}

// TestDecodeMessageContentTypes: the fast decoders answer quick replies,
// list pickers, locations and events (before, each went to encoding/json
// and the reference canonicaliser, nearly ten times the cost), as
// encoding/json and the reference hash do; their wrong shapes are
// answered the same, or declined.
func TestDecodeMessageContentTypes(t *testing.T) {
	for i, raw := range contentCases {
		if !checkHashed(t, []byte(raw)) && i < contentAnswered {
			t.Errorf("one scan declined %s", raw)
		}
	}
	for _, raw := range contentWrongShapes {
		checkHashed(t, []byte(raw))
	}
	// Every sample message takes the fast path (none has the deprecated
	// media or metadata, still encoding/json's).
	for _, raw := range sampleMessages(t) {
		if _, _, ok := decodeMessageHashed(raw); !ok {
			t.Errorf("one scan declined the sample %s", raw)
		}
	}
}

// BenchmarkDecodeMessageRare: DecodeMessage over the sample messages of
// the content types of contentCases (quick replies, list pickers,
// locations, events), which verify --evidence decodes ~450 of in 20,000.
func BenchmarkDecodeMessageRare(b *testing.B) {
	var samples [][]byte
	for _, raw := range sampleMessages(b) {
		for _, t := range []string{`"quickReply"`, `"listPicker"`, `"location"`, `"events"`} {
			if bytes.Contains(raw, []byte(t)) {
				samples = append(samples, raw)
				break
			}
		}
	}
	b.Logf("%d messages", len(samples))
	for b.Loop() {
		for _, raw := range samples {
			if _, _, err := DecodeMessage(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
}
