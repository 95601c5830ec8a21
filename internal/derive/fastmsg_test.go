package derive

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
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

// templateCases are templates (contentType Notification) with header
// media, and their wrong shapes: the fast path reads templates, and must
// read them as encoding/json does or decline.
var templateCases = []string{
	`{"normalizedMessage":{"content":[{"contentType":"Notification","template":{"id":"t1","language":"en_GB","header":{"type":"Media","media":{"id":"h1","mediaType":"Image","url":"https://media.example/h1?sig=1","mime":"image/jpeg","text":"caption","sha256":"ab","filename":"h1.jpg","contentSizeBytes":1024}},"body":{"text":"Hi {{1}}","parameters":[{"name":"1","text":"Ann"}]},"buttons":[{"type":"Url","text":"Open","index":0,"url":"https://example.com","parameters":[]},{"type":"QuickReply","text":"No","index":1,"payload":"NO"}],"footer":{"text":"Acme"}}}]}}`,
	`{"normalizedMessage":{"content":[{"contentType":"Notification","template":{"header":{"type":"Text","text":"Hello","parameters":[{"name":"n","text":"v"}]}}},{"contentType":"Attachment","attachment":{"id":"a1","url":"u"}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{},"body":{},"buttons":[],"footer":{}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":null}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":null}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":null}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"url":null}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"Media":{"id":"h"}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"ID":"h"}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"id":"h","id":"i"}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"id":"h"},"media":{"id":"i"}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"contentSizeBytes":1.5}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"contentSizeBytes":"1"}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"url":1}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":[]}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"id":"h","extra":{"x":[1]}}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"parameters":[null]}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"parameters":{}}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"buttons":[{"index":1.5}]}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"buttons":[{"index":"1"}]}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"buttons":[null]}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"buttons":{}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"footer":{"text":"a","text":"b"}}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"footer":"x"}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"id":"\ud800"}}]}}`,
	`{"normalizedMessage":{"content":[{"template":{"header":{"media":{"id":"h"}}},"template":{}}]}}`,
}

func TestDecodeMessageFast(t *testing.T) {
	answered, templates := 0, 0
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
	for i, raw := range templateCases {
		if !checkFast(t, []byte(raw)) && i < 5 {
			t.Errorf("the fast path declined template %s", raw)
		}
	}
	// A template with header media takes the fast path, and its media is
	// what export downloads.
	for _, raw := range sampleMessages(t) {
		if !bytes.Contains(raw, []byte(`"type":"Media"`)) {
			continue
		}
		md, ok := decodeMessageFast(raw)
		if !ok {
			t.Fatalf("a template with header media was declined: %s", raw)
		}
		if len(HeaderMedia(md)) != 1 || len(Media(md)) != 1 {
			t.Fatalf("header media %v of %s", HeaderMedia(md), raw)
		}
		templates++
	}
	if templates == 0 {
		t.Error("no sample message is a template with header media")
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
	for _, raw := range append(contentCases, contentWrongShapes...) {
		f.Add([]byte(raw))
	}
	for _, raw := range templateCases {
		f.Add([]byte(raw))
	}
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

// TestDecodeMessageFastParts: a message with more parts than its block
// holds (receipts with their own channels and recipients, a second
// content) decodes as encoding/json decodes it, and no two of its parts
// share storage: changing one leaves the others as they were.
func TestDecodeMessageFastParts(t *testing.T) {
	raw := []byte(`{"id":"m","normalizedMessage":{"id":"n","channel":{"to":{"id":"t1"},"from":{"id":"f1","nickname":"F"}},"content":[{"contentType":"Text","text":{"body":"a"}},{"contentType":"Attachment","attachment":{"id":"x","url":"u"}}]},` +
		`"normalizedReceipts":[{"id":"r1","channel":{"to":{"id":"t2"},"from":{"id":"f2"}},"content":[{"contentType":"Text"}]},{"id":"r2","channel":{"from":{"id":"f3"}}}]}`)
	if !checkFast(t, raw) {
		t.Fatal("declined")
	}
	md, _ := decodeMessageFast(raw)
	nm, r0 := md.NormalizedMessage, &md.NormalizedReceipts[0]
	if nm.Channel == r0.Channel || nm.Channel.To == r0.Channel.To || nm.Channel.From == r0.Channel.From || nm.Channel.To == nm.Channel.From {
		t.Fatal("parts share storage")
	}
	nm.Channel.To.ID, nm.Content[0].ContentType = "changed", "changed"
	r0.Channel.From.ID = "changed too"
	var want genesys.MessageData
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	want.NormalizedMessage.Channel.To.ID, want.NormalizedMessage.Content[0].ContentType = "changed", "changed"
	want.NormalizedReceipts[0].Channel.From.ID = "changed too"
	if !reflect.DeepEqual(*md, want) {
		t.Fatalf("after the changes:\n got %+v\nwant %+v", *md, want)
	}
}

// TestFieldSetIndex: a field set finds each of its names at its index,
// and nothing else (a name's prefix or extension, another case, the
// empty name).
func TestFieldSetIndex(t *testing.T) {
	for _, fs := range []*fieldSet{messageFields, normalizedFields, channelFields, contentFields, attachmentFields, templateButtonFields} {
		for f, n := range fs.Names() {
			if got := fs.Index([]byte(n)); got != f {
				t.Errorf("index(%q) = %d, want %d", n, got, f)
			}
			for _, other := range []string{n[:len(n)-1], n + "x", strings.ToUpper(n[:1]) + n[1:], ""} {
				if slices.Contains(fs.Names(), other) {
					continue
				}
				if got := fs.Index([]byte(other)); got != -1 {
					t.Errorf("index(%q) = %d, want -1 (%v)", other, got, fs.Names())
				}
			}
		}
	}
}
