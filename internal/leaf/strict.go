package leaf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// CheckLeaf checks leaf bytes as strictly as docs/ledger-format.md
// ("Strict leaves") says a verifier must: the leaf is I-JSON (valid UTF-8,
// no lone surrogate, every number of magnitude below 2^53), no object in
// it names a member twice, its bytes are exactly the RFC 8785 canonical
// form of its value, and it is a custody entry object (the members of the
// format with their types, nothing else, and the rules Validate checks).
// The error wraps the first of ErrNotIJSON, ErrDuplicateMember,
// ErrNotCanonical and ErrNotEntry that applies, in that order.
//
// Both the ledger (before it signs or proves) and internal/verify use it,
// so what one refuses the other reports. Leaves as AppendLeaf writes them
// take a fast path (the fast decoder in a strict mode, one pass that
// copies nothing); anything else is judged by the slow path, which is the
// definition. FuzzCheckLeaf holds the two together.
func CheckLeaf(leaf []byte) error {
	if checkLeafFast(leaf) {
		return nil
	}
	return checkLeafSlow(leaf)
}

// checkLeafSlow is CheckLeaf without the fast path.
func checkLeafSlow(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: not valid UTF-8", ErrNotIJSON)
	}
	if err := jsonscan.Check(b, jsonscan.MaxDepth); err != nil {
		return fmt.Errorf("%w: not JSON: %w", ErrNotIJSON, err)
	}
	if _, err := jsonscan.UniqueKeys(b, jsonscan.Space(b, 0), jsonscan.MaxDepth); err != nil {
		if errors.Is(err, jsonscan.ErrDuplicateKey) {
			return fmt.Errorf("%w: %w", ErrDuplicateMember, err)
		}
		return fmt.Errorf("%w: %w", ErrNotIJSON, err)
	}
	if _, err := checkIJSON(b, jsonscan.Space(b, 0)); err != nil {
		return fmt.Errorf("%w: %w", ErrNotIJSON, err)
	}
	canon, err := hashchain.Canonicalize(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotIJSON, err)
	}
	if !bytes.Equal(canon, b) {
		k := 0
		for k < len(b) && k < len(canon) && b[k] == canon[k] {
			k++
		}
		return fmt.Errorf("%w: the bytes differ from the canonical form from byte %d on", ErrNotCanonical, k)
	}
	if err := checkEntryShape(b); err != nil {
		return fmt.Errorf("%w: %w", ErrNotEntry, err)
	}
	e, err := decodeLeafJSON(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotEntry, err)
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotEntry, err)
	}
	return nil
}

// checkIJSON walks the (valid) JSON value at b[i] and refuses strings
// (keys included) that decode to a lone surrogate and numbers whose
// magnitude is 2^53 or more (beyond them a double no longer holds every
// integer, so readers disagree on the value).
func checkIJSON(b []byte, i int) (int, error) {
	switch c := b[i]; {
	case c == '{':
		return jsonscan.Object(b, i, func(_ []byte, v int) (int, error) { return checkIJSON(b, v) })
	case c == '[':
		return jsonscan.Array(b, i, func(v int) (int, error) { return checkIJSON(b, v) })
	case c == '"':
		var buf [64]byte
		_, end, err := jsonscan.AppendString(buf[:0], b, i)
		return end, err
	case c == '-' || c >= '0' && c <= '9':
		end, err := jsonscan.Number(b, i)
		if err != nil {
			return end, err
		}
		f, _ := strconv.ParseFloat(string(b[i:end]), 64) // ±Inf when out of range
		if math.Abs(f) >= maxSafeInteger {
			return end, fmt.Errorf("number %s at byte %d has a magnitude of 2^53 or more", b[i:end], i)
		}
		return end, nil
	}
	return jsonscan.Literal(b, i)
}

// Member types of the entry object for checkEntryShape: 's' string,
// 'h' hash (64 lower-case hex digits), 'n' integer, 'o' object.
var entryMembers = map[string]byte{
	"at": 's', "compliance": 'o', "conversation_id": 's', "detail": 'o',
	"evidence_sha256": 'h', "kind": 's', "matter": 's', "message_id": 's',
	"payload_sha256": 'h', "run_id": 's', "source": 'o', "supersedes": 'n', "v": 'n',
}

// checkEntryShape checks the members of a canonical, duplicate-free leaf:
// only the entry object's members, each of its type (never null, except
// compliance.legal_hold), at, kind, matter and v present, v 1 or 3,
// conversation_id, message_id and run_id not empty, source and
// compliance with exactly their members.
func checkEntryShape(b []byte) error {
	if b[0] != '{' {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	_, err := jsonscan.Object(b, 0, func(key []byte, v int) (int, error) {
		k := string(key)
		t, ok := entryMembers[k]
		if !ok {
			return v, fmt.Errorf("unknown member %q", key)
		}
		seen[k] = true
		end, err := jsonscan.Skip(b, v, jsonscan.MaxDepth)
		if err != nil {
			return end, err
		}
		val := b[v:end]
		if err := checkType(k, t, val); err != nil {
			return end, err
		}
		switch k {
		case "v":
			if string(val) != "1" && string(val) != "3" {
				return end, fmt.Errorf("v is %s, want 1 or 3", val)
			}
		case "conversation_id", "message_id", "run_id":
			// AppendLeaf omits an empty id, as every custody has.
			if string(val) == `""` {
				return end, fmt.Errorf("%s is empty (an entry without one omits the member)", k)
			}
		case "source":
			err = checkObject(k, val, map[string]byte{"correlation_id": 's', "method": 's', "path": 's', "status": 'n'})
		case "compliance":
			err = checkObject(k, val, map[string]byte{"audit_refs": 'a', "legal_hold": 'b', "original_timestamp": 's'})
		}
		return end, err
	})
	if err != nil {
		return err
	}
	for _, k := range []string{"at", "kind", "matter", "v"} {
		if !seen[k] {
			return fmt.Errorf("member %q is missing", k)
		}
	}
	return nil
}

// checkObject checks that the object val has exactly the members of want,
// each of its type.
func checkObject(name string, val []byte, want map[string]byte) error {
	n := 0
	_, err := jsonscan.Object(val, 0, func(key []byte, v int) (int, error) {
		t, ok := want[string(key)]
		if !ok {
			return v, fmt.Errorf("%s has an unknown member %q", name, key)
		}
		n++
		end, err := jsonscan.Skip(val, v, jsonscan.MaxDepth)
		if err != nil {
			return end, err
		}
		return end, checkType(name+"."+string(key), t, val[v:end])
	})
	if err == nil && n != len(want) {
		err = fmt.Errorf("%s has %d of its %d members", name, n, len(want))
	}
	return err
}

// checkType checks one member's value against its type letter (see
// entryMembers; also 'a' array of strings, 'b' true, false or null).
func checkType(name string, t byte, val []byte) error {
	ok := false
	switch t {
	case 's':
		ok = val[0] == '"'
	case 'h':
		ok = len(val) == 66 && val[0] == '"' && bytes.IndexFunc(val[1:65], func(r rune) bool {
			return (r < '0' || r > '9') && (r < 'a' || r > 'f')
		}) < 0
	case 'n':
		ok = bytes.IndexFunc(val, func(r rune) bool { return r < '0' || r > '9' }) < 0
	case 'o':
		ok = val[0] == '{'
	case 'b':
		ok = string(val) == "true" || string(val) == "false" || string(val) == "null"
	case 'a':
		ok = val[0] == '['
		if ok {
			_, err := jsonscan.Array(val, 0, func(v int) (int, error) {
				if val[v] != '"' {
					return v, errors.New("not a string")
				}
				end, _, err := jsonscan.String(val, v)
				return end, err
			})
			ok = err == nil
		}
	}
	if !ok {
		what := map[byte]string{'s': "a string", 'h': "64 lower-case hex digits", 'n': "a non-negative integer",
			'o': "an object", 'b': "true, false or null", 'a': "an array of strings"}[t]
		return fmt.Errorf("%s is %.40s, want %s", name, val, what)
	}
	return nil
}

// DecodeChecked is DecodeLeaf and CheckLeaf at once: the entry, and
// whether the leaf is strict (CheckLeaf would return nil). For leaves as
// AppendLeaf writes them it is one pass of the strict fast decoder, where
// the two calls would be two. The entry's strings may be views of leaf's
// memory, not copies: they stay valid while leaf is unchanged, and a
// caller that keeps them past that clones them. FuzzDecodeChecked holds
// it to DecodeLeaf and CheckLeaf.
func DecodeChecked(leaf []byte) (e Entry, strict bool, err error) {
	r := leafReader{b: leaf, strict: true}
	if e, ok := r.read(); ok && e.validateKeep(false, nil, &r.det) == nil {
		return e, true, nil
	}
	if e, err = DecodeLeaf(leaf); err != nil {
		return Entry{}, false, err
	}
	return e, checkLeafSlow(leaf) == nil, nil
}
