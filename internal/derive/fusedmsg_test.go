package derive

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// checkHashed holds decodeMessageHashed (one scan) to the two it fuses:
// when it answers, decodeMessageFast answers the same message (and so
// encoding/json, checkFast), hashchain.PayloadHash (the definition: the
// RFC 8785 library) and PayloadHash give its hash; and DecodeMessage,
// which tries it first, answers as encoding/json and PayloadHash do.
func checkHashed(t *testing.T, raw []byte) (answered bool) {
	t.Helper()
	md, sum, ok := decodeMessageHashed(raw)
	if ok {
		fast, fok := decodeMessageFast(raw)
		if !fok {
			t.Fatalf("one scan answered %q, decodeMessageFast declined", raw)
		}
		if !reflect.DeepEqual(md, fast) {
			t.Fatalf("one scan on %q:\n got %+v\nwant %+v", raw, *md, *fast)
		}
		checkFast(t, raw)
		want, err := hashchain.PayloadHash(raw)
		if err != nil {
			t.Fatalf("one scan hashed %q, hashchain.PayloadHash: %v", raw, err)
		}
		if sum != want {
			t.Fatalf("one scan's hash of %q is %s, hashchain.PayloadHash %s", raw, sum, want)
		}
	}
	// DecodeMessage against the references, whichever path answers.
	var want genesys.MessageData
	werr := json.Unmarshal(raw, &want)
	wsum, serr := PayloadHash(raw)
	got, gsum, err := DecodeMessage(raw)
	switch {
	case werr != nil || serr != nil:
		if err == nil {
			t.Fatalf("DecodeMessage accepted %q: encoding/json %v, PayloadHash %v", raw, werr, serr)
		}
	case err != nil:
		t.Fatalf("DecodeMessage refused %q: %v", raw, err)
	case !reflect.DeepEqual(*got, want) || gsum != wsum:
		t.Fatalf("DecodeMessage on %q differs from encoding/json and PayloadHash", raw)
	}
	return ok
}

func TestDecodeMessageHashed(t *testing.T) {
	answered := 0
	samples := sampleMessages(t)
	for _, raw := range samples {
		if checkHashed(t, raw) {
			answered++
		}
	}
	// What the fast decoder answers, one scan must answer too.
	fast := 0
	for _, raw := range samples {
		if _, ok := decodeMessageFast(raw); ok {
			fast++
		}
	}
	if answered != fast || answered < 4 {
		t.Errorf("one scan answered %d sample messages, the fast decoder %d", answered, fast)
	}
	for _, raw := range []string{
		`{"id":"a","ID":"b"}`,
		`{"id":"a","id":"b"}`,
		`{"id":null}`,
		`{"ſelfUri":"x"}`,
		`{"normalizedMessage":{"isFinalReceipt":1}}`,
		`{"normalizedMessage":{"isFinalReceipt":true,"content":[{"attachment":{"contentSizeBytes":12}}]}}`,
		`{"normalizedMessage":{"content":[{"attachment":{"contentSizeBytes":1.5}}]}}`,
		`{"normalizedMessage":{"content":[{"attachment":{"contentSizeBytes":9007199254740993}}]}}`,
		`{"normalizedMessage":{"content":[{"attachment":{"contentSizeBytes":-0}}]}}`,
		`{"id":"\ud800"}`,
		"{\"id\":\"\xff\"}",
		`{"id":"a"} x`,
		`{"id":"a"}  `,
		`["id"]`,
		`{"unknown":{"deep":[1,2,{"x":null}]},"id":"ok"}`,
		`{"unknown":1.5,"id":"ok"}`,
		`{"i\u0064":"escaped key"}`,
		`{"id":"\u00e9\n\"\\\/\u2028"}`,
		`{"z":"1","a":{"y":[true,false,null],"b":"x"},"id":"sorted later"}`,
		`{"normalizedMessage":{"content":[]},"normalizedReceipts":[]}`,
		`{"a\u0000":"control in key"}`,
		"{\"\U0001F600\":\"beyond the BMP\"}",
		`{"deep":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `,"id":"x"}`,
		`{"deep":` + strings.Repeat("[", 62) + strings.Repeat("]", 62) + `,"id":"x"}`,
		`{"id":"a","unknown":{"a":1,"a":2}}`,
		// Reactions and button responses (read since verify-3), and their wrong shapes.
		`{"normalizedMessage":{"content":[{"contentType":"Reactions","reactions":[{"reactionType":"Like","count":1},{"reactionType":"Sad","count":2}]}]}}`,
		`{"normalizedMessage":{"content":[{"contentType":"ButtonResponse","buttonResponse":{"originatingMessageId":"d6","type":"Button","text":"Talk to us","payload":"TALK"}}]}}`,
		`{"normalizedMessage":{"content":[{"reactions":[]}]}}`,
		`{"normalizedMessage":{"content":[{"reactions":null}]}}`,
		`{"normalizedMessage":{"content":[{"reactions":[null]}]}}`,
		`{"normalizedMessage":{"content":[{"reactions":[{"count":"1"}]}]}}`,
		`{"normalizedMessage":{"content":[{"reactions":[{"count":1.5}]}]}}`,
		`{"normalizedMessage":{"content":[{"reactions":[{"Count":1}]}]}}`,
		`{"normalizedMessage":{"content":[{"reactions":{}}]}}`,
		`{"normalizedMessage":{"content":[{"buttonResponse":null}]}}`,
		`{"normalizedMessage":{"content":[{"buttonResponse":{"text":1}}]}}`,
		`{"normalizedMessage":{"content":[{"buttonResponse":{"payload":"a","payload":"b"}}]}}`,
	} {
		checkHashed(t, []byte(raw))
	}
	for _, raw := range templateCases {
		checkHashed(t, []byte(raw))
	}
	if _, _, ok := decodeMessageHashed([]byte(`{"z":"1","a":{"y":[true,false,null],"b":"x"},"id":"sorted later"}`)); !ok {
		t.Error("unknown members out of order were declined")
	}
}

// FuzzDecodeMessageHashed: whatever the one scan answers, the decoder and
// the canonical hash it replaces answer the same; DecodeMessage answers
// as encoding/json and PayloadHash do.
func FuzzDecodeMessageHashed(f *testing.F) {
	for _, raw := range sampleMessages(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"id":"a","normalizedMessage":{"channel":{"to":{"id":"x"}},"content":[{"contentType":"Text","text":{"body":"hi"}}]}}`))
	f.Add([]byte(`{"z":"1","a":{"y":[true,false,null],"b":"x\u00e9"},"id":"sorted later"}`))
	f.Add([]byte(`{"normalizedMessage":{"content":[{"contentType":"Reactions","reactions":[{"reactionType":"Like","count":1}]},{"buttonResponse":{"originatingMessageId":"d6","type":"Button","text":"t","payload":"p"}}]}}`))
	for _, raw := range append(contentCases, contentWrongShapes...) {
		f.Add([]byte(raw))
	}
	for _, raw := range templateCases {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkHashed(t, raw)
	})
}

// BenchmarkDecodeMessage: DecodeMessage (one scan) against the two scans
// it replaces, over the sample messages the fast decoder answers (the
// usual ones).
func BenchmarkDecodeMessage(b *testing.B) {
	var samples [][]byte
	for _, raw := range sampleMessages(b) {
		if _, ok := decodeMessageFast(raw); ok {
			samples = append(samples, raw)
		}
	}
	b.Logf("%d messages", len(samples))
	b.Run("one-scan", func(b *testing.B) {
		for b.Loop() {
			for _, raw := range samples {
				if _, _, err := DecodeMessage(raw); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("two-scans", func(b *testing.B) {
		for b.Loop() {
			for _, raw := range samples {
				md, ok := decodeMessageFast(raw)
				if !ok {
					md = &genesys.MessageData{}
					if err := json.Unmarshal(raw, md); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := PayloadHash(raw); err != nil {
					b.Fatal(err)
				}
				benchSink = md
			}
		}
	})
}

// benchSink keeps the two-scans benchmark's decoded message alive, so the
// decoder's work is not optimised away.
var benchSink *genesys.MessageData

// TestDecodeMessageHashedNulls: each member of each sample message, at
// any depth, set to null (encoding/json leaves its field as it was, the
// fast readers decline it: with a writer, each field's reader declines
// what is not its type), and the one scan still answers as the
// references do.
func TestDecodeMessageHashedNulls(t *testing.T) {
	samples := append(sampleMessages(t), func() (out [][]byte) {
		for _, raw := range append(append([]string{}, templateCases...), contentCases...) {
			out = append(out, []byte(raw))
		}
		return out
	}()...)
	n := 0
	for _, raw := range samples {
		var values []int // where each member's value starts
		var walk func(i int) int
		walk = func(i int) int {
			switch raw[i] {
			case '{':
				end, _ := jsonscan.Object(raw, i, func(_ []byte, v int) (int, error) {
					values = append(values, v)
					return walk(v), nil
				})
				return end
			case '[':
				end, _ := jsonscan.Array(raw, i, func(v int) (int, error) { return walk(v), nil })
				return end
			}
			end, _ := jsonscan.Skip(raw, i, 64)
			return end
		}
		walk(0)
		for _, v := range values {
			end, _ := jsonscan.Skip(raw, v, 64)
			mutated := append(append(append([]byte{}, raw[:v]...), "null"...), raw[end:]...)
			checkHashed(t, mutated)
			n++
		}
	}
	if n < 500 {
		t.Errorf("%d members set to null, want more", n)
	}
}
