package jsonscan

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownMember means an object has a member whose name is not one the
// reader allows.
var ErrUnknownMember = errors.New("json object has a member not allowed here")

// Members reads the object at b[i] (its opening brace) as Object does and
// holds its member names to names exactly: each must be one of them, byte
// for byte after decoding escapes ("valu\u0065" is "value"), and none may
// appear twice. Names are case-sensitive and not folded in any way —
// "Value", "VALUE" and "ſalt" (long s) are not "value" and "salt" — where
// encoding/json would match all three and keep the last of a repeated
// member. For each member Members calls member with the name's index in
// names and the index of the value; member reads the value and returns
// the index past it. Members returns a bit per name (bit k: names[k] was
// present; at most 64 names) and the index past the closing brace.
//
// It is the check every reader of a format with a fixed set of members
// makes before (or instead of) encoding/json, so that the file reads the
// same to it as to any exact-name reader (jq, Python's json): recursively,
// by calling Members again from member where the format nests objects.
// A name outside names fails with ErrUnknownMember, a repeated one with
// ErrDuplicateKey, each in a *SyntaxError.
func Members(b []byte, i int, names []string, member func(k, v int) (int, error)) (seen uint64, end int, err error) {
	if len(names) > 64 {
		panic("jsonscan: Members takes at most 64 names")
	}
	end, err = Object(b, i, func(key []byte, v int) (int, error) {
		k := -1
		for n, name := range names {
			if name == string(key) {
				k = n
				break
			}
		}
		switch {
		case k < 0:
			return v, &SyntaxError{Offset: v, What: unknownWhat(key, names), Err: ErrUnknownMember}
		case seen&(1<<k) != 0:
			return v, &SyntaxError{Offset: v, What: fmt.Sprintf("member %q twice", key), Err: ErrDuplicateKey}
		}
		seen |= 1 << k
		return member(k, v)
	})
	if err != nil {
		return 0, end, err
	}
	return seen, end, nil
}

// unknownWhat says what is wrong with member key: unknown, or (the
// mistake or forgery worth naming) one of names in another case.
func unknownWhat(key []byte, names []string) string {
	for _, name := range names {
		if strings.EqualFold(string(key), name) {
			return fmt.Sprintf("member %q is not %q: member names are exact (case-sensitive, no Unicode folding)", key, name)
		}
	}
	return fmt.Sprintf("unknown member %q", key)
}

// Missing returns the first of names whose bit is not in seen (Members's
// result) among the bits of required, "" when all are there.
func Missing(seen, required uint64, names []string) string {
	for k, name := range names {
		if required&(1<<k) != 0 && seen&(1<<k) == 0 {
			return name
		}
	}
	return ""
}
