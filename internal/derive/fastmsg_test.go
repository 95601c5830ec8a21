package derive

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
)

// sampleMessages are messages as the simulator serves them (receipts,
// attachments, the rarer content types, edits and deletions), one a line.
func sampleMessages(t testing.TB) [][]byte {
	b, err := os.ReadFile("testdata/messages.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(b), []byte("\n"))
}

// checkFast holds decodeMessageFast to json.Unmarshal on raw: when the
// fast path answers, encoding/json accepts raw and decodes the same value.
func checkFast(t *testing.T, raw []byte) (answered bool) {
	t.Helper()
	fast, ok := decodeMessageFast(raw)
	if !ok {
		return false
	}
	var want genesys.MessageData
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json: %v", raw, err)
	}
	if !reflect.DeepEqual(*fast, want) {
		t.Fatalf("fast path on %q:\n got %+v\nwant %+v", raw, *fast, want)
	}
	return true
}

func TestDecodeMessageFast(t *testing.T) {
	answered := 0
	for _, raw := range sampleMessages(t) {
		if checkFast(t, raw) {
			answered++
		}
	}
	// The usual message (text, receipts, attachments) must take the fast
	// path, or it is not worth having.
	if answered < 4 {
		t.Errorf("fast path answered %d sample messages, want at least 4", answered)
	}
	for _, raw := range []string{
		`{"id":"a","ID":"b"}`,                        // case-insensitive match: declined
		`{"id":"a","id":"b"}`,                        // repeated
		`{"id":null}`,                                // null
		`{"ſelfUri":"x"}`,                            // folds to selfUri
		`{"normalizedMessage":{"isFinalReceipt":1}}`, // wrong type: encoding/json fails
		`{"normalizedMessage":{"content":[{"attachment":{"contentSizeBytes":1.5}}]}}`,
		`{"normalizedMessage":{"content":[{"attachment":{"contentSizeBytes":99999999999999999999}}]}}`,
		`{"id":"\ud800"}`, // lone surrogate: encoding/json replaces it
		"{\"id\":\"\xff\"}",
		`{"id":"a"} x`,
		`["id"]`,
		`{"unknown":{"deep":[1,2,{"x":null}]},"id":"ok"}`,
		`{"i\u0064":"escaped key"}`,
		`{"normalizedMessage":{"content":[]},"normalizedReceipts":[]}`,
	} {
		checkFast(t, []byte(raw))
	}
	if _, ok := decodeMessageFast([]byte(`{"id":"a","ID":"b"}`)); ok {
		t.Error("a name matching only without regard to case was not declined")
	}
	if _, ok := decodeMessageFast([]byte(`{"unknown":{"deep":[1]},"id":"ok","normalizedMessage":{"content":[]}}`)); !ok {
		t.Error("unknown members and an empty array were declined")
	}
}

// FuzzDecodeMessageFast: whatever the fast path answers, encoding/json
// answers the same.
func FuzzDecodeMessageFast(f *testing.F) {
	for _, raw := range sampleMessages(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"id":"a","normalizedMessage":{"channel":{"to":{"id":"x"}},"content":[{"contentType":"Text","text":{"body":"hi"}}]}}`))
	f.Add([]byte(`{"normalizedMessage":{"content":[{"contentType":"Reactions","reactions":[{"reactionType":"Like","count":1}]},{"buttonResponse":{"originatingMessageId":"d6","type":"Button","text":"t","payload":"p"}}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkFast(t, raw)
		// DecodeMessage agrees with encoding/json on acceptance.
		var want genesys.MessageData
		werr := json.Unmarshal(raw, &want)
		md, _, err := DecodeMessage(raw)
		if werr != nil && err == nil {
			t.Fatalf("DecodeMessage accepted %q, encoding/json: %v", raw, werr)
		}
		if werr == nil && err == nil && !reflect.DeepEqual(*md, want) {
			t.Fatalf("DecodeMessage on %q differs from encoding/json", raw)
		}
	})
}
