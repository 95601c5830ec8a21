package derive

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// checkConversationHashed holds readConversationHashed (one scan) to
// readConversationFast and hashchain.PayloadHash, and ReadConversation,
// whichever path answers, to encoding/json and PayloadHash.
func checkConversationHashed(t *testing.T, body []byte) bool {
	t.Helper()
	mc, sum, ok := readConversationHashed(body)
	if ok {
		fast, fok := readConversationFast(body)
		if !fok || !reflect.DeepEqual(mc, fast) {
			t.Fatalf("one scan on %q: %+v, readConversationFast %+v (%v)", body, mc, fast, fok)
		}
		checkConversationFast(t, body)
		want, err := hashchain.PayloadHash(body)
		if err != nil || sum != want {
			t.Fatalf("one scan's hash of %q is %s, hashchain.PayloadHash %s (%v)", body, sum, want, err)
		}
	}
	var ref conversationRefs
	jerr := json.Unmarshal(body, &ref)
	wsum, serr := PayloadHash(body)
	facts, ids, err := ReadConversation(body)
	switch {
	case jerr != nil || serr != nil:
		if err == nil {
			t.Fatalf("ReadConversation accepted %q: encoding/json %v, PayloadHash %v", body, jerr, serr)
		}
	case err != nil:
		t.Fatalf("ReadConversation refused %q: %v", body, err)
	default:
		full := ref.conversation()
		wids := ConversationMessageIDs(&full)
		if facts.ID != full.ID || facts.Payload != wsum || facts.Messages != len(wids) || !reflect.DeepEqual(ids, wids) {
			t.Fatalf("ReadConversation on %q: %+v %q, want %s %s %q", body, facts, ids, full.ID, wsum, wids)
		}
	}
	return ok
}

func TestReadConversationHashed(t *testing.T) {
	answered := 0
	for _, s := range conversationSeeds {
		if checkConversationHashed(t, []byte(s)) {
			answered++
		}
	}
	if _, _, ok := readConversationHashed([]byte(conversationSeeds[0])); !ok || answered < 8 {
		t.Fatalf("one scan answered %d seeds (the simulator's object: %v)", answered, ok)
	}
}

func FuzzReadConversationHashed(f *testing.F) {
	for _, s := range conversationSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkConversationHashed(t, body)
	})
}

// checkListingFast holds listingFast to json.Unmarshal, and Listing to it
// whichever path answers.
func checkListingFast(t *testing.T, body []byte) bool {
	t.Helper()
	var p struct {
		Conversations []json.RawMessage `json:"conversations"`
	}
	jerr := json.Unmarshal(body, &p)
	n, ok := listingFast(body)
	if ok && (jerr != nil || n != len(p.Conversations)) {
		t.Fatalf("listingFast on %q: %d, encoding/json %d, %v", body, n, len(p.Conversations), jerr)
	}
	got, err := Listing(body)
	if (err == nil) != (jerr == nil) || err == nil && got != len(p.Conversations) {
		t.Fatalf("Listing on %q: %d, %v; encoding/json %d, %v", body, got, err, len(p.Conversations), jerr)
	}
	return ok
}

var listingSeeds = []string{
	`{"conversations":[{"conversationId":"a","participants":[{"sessions":[{"mediaType":"message"}]}]},{"conversationId":"b"}],"totalHits":2}`,
	`{"conversations":[],"cursor":"x"}`, `{"totalHits":0}`, `{}`, ` { "conversations" : [ 1 , "x" , null , [ ] ] } `,
	`{"conversations":null}`, `{"conversations":{}}`, `{"conversations":"x"}`, `{"conversations":[1],"conversations":[1,2]}`,
	`{"Conversations":[1]}`, `{"conversationſ":[1]}`, `{"conversations":[1,]}`, `{"conversations":[1]} x`, `[]`, `null`,
	"{\"conversations\":[\"\xff\"]}", `{"conversations":[` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `]}`,
	`{"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `,"conversations":[1]}`, `{"conversations":[1e400]}`,
}

func TestListingFast(t *testing.T) {
	answered := 0
	for _, s := range listingSeeds {
		if checkListingFast(t, []byte(s)) {
			answered++
		}
	}
	if n, ok := listingFast([]byte(listingSeeds[0])); !ok || n != 2 || answered < 5 {
		t.Fatalf("listingFast answered %d seeds (the first: %d, %v)", answered, n, ok)
	}
}

func FuzzListingFast(f *testing.F) {
	for _, s := range listingSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkListingFast(t, body)
	})
}

// checkListingIDs holds listingIDsFast to json.Unmarshal, and ListingIDs
// to it whichever path answers.
func checkListingIDs(t *testing.T, body []byte) bool {
	t.Helper()
	var p struct {
		Conversations []struct {
			ConversationID string `json:"conversationId"`
		} `json:"conversations"`
	}
	jerr := json.Unmarshal(body, &p)
	var want []string
	for _, c := range p.Conversations {
		want = append(want, c.ConversationID)
	}
	ids, ok := listingIDsFast(body)
	if ok && (jerr != nil || !slices.Equal(ids, want)) {
		t.Fatalf("listingIDsFast on %q: %q, encoding/json %q, %v", body, ids, want, jerr)
	}
	got, err := ListingIDs(body)
	if (err == nil) != (jerr == nil) || err == nil && !slices.Equal(got, want) {
		t.Fatalf("ListingIDs on %q: %q, %v; encoding/json %q, %v", body, got, err, want, jerr)
	}
	return ok
}

var listingIDSeeds = append([]string{
	`{"conversations":[{"conversationId":"a\u00e9\n","x":1},{"conversationId":""},{}]}`,
	`{"conversations":[{"conversationId":"a","conversationId":"b"}]}`,
	`{"conversations":[{"ConversationId":"a"}]}`, `{"conversations":[{"conversationId":null}]}`,
	`{"conversations":[{"conversationId":1}]}`, `{"conversations":[null]}`, `{"conversations":[{"conversatıonId":"a"}]}`,
	`{"conversations":[{"conversationId":"a"` + strings.Repeat(`,"p":[`, 70) + strings.Repeat("]", 70) + `}]}`,
}, listingSeeds...)

func TestListingIDs(t *testing.T) {
	answered := 0
	for _, s := range listingIDSeeds {
		if checkListingIDs(t, []byte(s)) {
			answered++
		}
	}
	if ids, ok := listingIDsFast([]byte(listingSeeds[0])); !ok || !slices.Equal(ids, []string{"a", "b"}) || answered < 5 {
		t.Fatalf("listingIDsFast answered %d seeds (the first: %q, %v)", answered, ids, ok)
	}
}

func FuzzListingIDs(f *testing.F) {
	for _, s := range listingIDSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkListingIDs(t, body)
	})
}
