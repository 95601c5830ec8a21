package derive

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// listingFast is Listing's json.Unmarshal (the length of the
// "conversations" array) in one pass of jsonscan: a listing page is large
// and verify --evidence reads every one. It declines (ok false) whatever
// it is not sure encoding/json reads the same — a member name that is
// "conversations" only without regard to case, or not ASCII, the member
// twice, a value that is not an array, nesting deeper than fastMaxDepth,
// anything jsonscan refuses (it is stricter: invalid UTF-8) — and
// encoding/json decides. FuzzListingFast holds it to json.Unmarshal.
func listingFast(body []byte) (int, bool) {
	n := 0
	ok := eachListed(body, func(e int) (int, error) {
		n++
		return jsonscan.Skip(body, e, fastMaxDepth-1)
	})
	return n, ok
}

// eachListed calls elem with the index of each element of a listing
// page's "conversations" array, in order, and reports whether the page is
// one the fast paths read (listingFast says which it declines). elem
// returns the index past its element.
func eachListed(body []byte, elem func(e int) (int, error)) bool {
	i := jsonscan.Space(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	seen := false
	end, err := jsonscan.Object(body, i, func(key []byte, v int) (int, error) {
		if string(key) == "conversations" {
			if seen || v >= len(body) || body[v] != '[' {
				return v, errDecline // twice (the last would win), null, or another type
			}
			seen = true
			return jsonscan.Array(body, v, elem)
		}
		if !asciiName(key) || bytes.EqualFold(key, []byte("conversations")) {
			return v, errDecline
		}
		return jsonscan.Skip(body, v, fastMaxDepth)
	})
	return err == nil && jsonscan.Space(body, end) == len(body)
}

// ListingIDs returns the conversation ids a listing page (one page of an
// analytics job's results) names, in order, as encoding/json reads
// {"conversations":[{"conversationId":…},…]} (an element without one
// gives ""): what a verifier compares with the run state. Its fast path
// reads the page in one pass of jsonscan, as Listing's does; a page it
// is not sure of is json.Unmarshal's. FuzzListingIDs holds the two equal.
func ListingIDs(body []byte) ([]string, error) {
	if ids, ok := listingIDsFast(body); ok {
		return ids, nil
	}
	var p struct {
		Conversations []struct {
			ConversationID string `json:"conversationId"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("derive: listing page: %w", err)
	}
	ids := make([]string, len(p.Conversations))
	for i, c := range p.Conversations {
		ids[i] = c.ConversationID
	}
	return ids, nil
}

// listingIDsFast is ListingIDs' json.Unmarshal in one pass (eachListed);
// it declines as listingFast does, and also an element that is not an object, a
// conversationId that is not a string or comes twice, and a member name
// that is conversationId only without regard to case, or not ASCII.
func listingIDsFast(body []byte) ([]string, bool) {
	ids := []string{}
	ok := eachListed(body, func(e int) (int, error) {
		id, end, ok := conversationIDAt(body, e)
		if !ok {
			return e, errDecline
		}
		ids = append(ids, id)
		return end, nil
	})
	if !ok {
		return nil, false
	}
	return ids, true
}

// conversationIDAt reads the listed conversation at body[e] (an object)
// for its conversationId.
func conversationIDAt(body []byte, e int) (string, int, bool) {
	if e >= len(body) || body[e] != '{' {
		return "", e, false
	}
	id, got := "", false
	end, err := jsonscan.Object(body, e, func(key []byte, v int) (int, error) {
		if string(key) == "conversationId" {
			if got || v >= len(body) || body[v] != '"' {
				return v, errDecline
			}
			got = true
			end, esc, err := jsonscan.String(body, v)
			if err != nil {
				return v, errDecline
			}
			if !esc {
				id = string(body[v+1 : end-1])
				return end, nil
			}
			s, end, err := jsonscan.AppendString(nil, body, v)
			if err != nil {
				return v, errDecline
			}
			id = string(s)
			return end, nil
		}
		if !asciiName(key) || bytes.EqualFold(key, []byte("conversationId")) {
			return v, errDecline
		}
		return jsonscan.Skip(body, v, fastMaxDepth-2)
	})
	return id, end, err == nil
}

// asciiName reports whether a member name is ASCII: encoding/json folds
// some other letters onto ASCII ones (the Kelvin sign onto k), which the
// fast paths do not follow.
func asciiName(key []byte) bool {
	for _, c := range key {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
