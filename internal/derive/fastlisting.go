package derive

import (
	"bytes"

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
	i := jsonscan.Space(body, 0)
	if i >= len(body) || body[i] != '{' {
		return 0, false
	}
	n, seen := 0, false
	end, err := jsonscan.Object(body, i, func(key []byte, v int) (int, error) {
		if string(key) == "conversations" {
			if seen || v >= len(body) || body[v] != '[' {
				return v, errDecline // twice (the last would win), null, or another type
			}
			seen = true
			return jsonscan.Array(body, v, func(e int) (int, error) {
				n++
				return jsonscan.Skip(body, e, fastMaxDepth-1)
			})
		}
		for _, c := range key {
			if c >= 0x80 {
				return v, errDecline
			}
		}
		if bytes.EqualFold(key, []byte("conversations")) {
			return v, errDecline
		}
		return jsonscan.Skip(body, v, fastMaxDepth)
	})
	if err != nil || jsonscan.Space(body, end) != len(body) {
		return 0, false
	}
	return n, true
}
