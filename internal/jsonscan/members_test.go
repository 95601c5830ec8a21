package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// memberNames are the names the Members tests allow: two of a field
// proof's, and one whose fold set has a non-ASCII member (the Kelvin
// sign, U+212A, folds to k as long s, U+017F, folds to s).
var memberNames = []string{"value", "salt", "k"}

// memberStruct is what encoding/json decodes with memberNames: it matches
// names without regard to case, so after Members it must agree with an
// exact reader.
type memberStruct struct {
	Value json.RawMessage `json:"value"`
	Salt  json.RawMessage `json:"salt"`
	K     json.RawMessage `json:"k"`
}

func readMembers(b []byte) (uint64, error) {
	i := Space(b, 0)
	seen, end, err := Members(b, i, memberNames, func(_, v int) (int, error) { return Skip(b, v, MaxDepth-1) })
	if err == nil && Space(b, end) != len(b) {
		err = syntaxErr(end, "data after the value")
	}
	return seen, err
}

func TestMembers(t *testing.T) {
	for s, want := range map[string]error{
		`{}`: nil, `{"value":1}`: nil, ` { "salt" : "x" , "value" : {"VALUE":1} } `: nil, `{"valu\u0065":1,"k":2}`: nil,
		`{"Value":1}`: ErrUnknownMember, `{"value":true,"VALUE":false}`: ErrUnknownMember, `{"ſalt":"x"}`: ErrUnknownMember,
		`{"\u212a":1}`: ErrUnknownMember, `{"K":1}`: ErrUnknownMember, `{"values":1}`: ErrUnknownMember, `{"":1}`: ErrUnknownMember,
		`{"value":1,"value":2}`: ErrDuplicateKey, `{"value":1,"\u0076alue":2}`: ErrDuplicateKey,
		`[]`: ErrSyntax, `{"value":1,}`: ErrSyntax, `{"value"}`: ErrSyntax, `{"\ud800":1}`: ErrLoneSurrogate,
	} {
		_, err := readMembers([]byte(s))
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("Members(%s) = %v, want %v", s, err, want)
		}
	}
	seen, err := readMembers([]byte(`{"k":0,"value":1}`))
	if err != nil || seen != 0b101 || Missing(seen, 0b111, memberNames) != "salt" || Missing(seen, 0b101, memberNames) != "" {
		t.Errorf("seen %b, %v", seen, err)
	}
	// A name in another case is named for what it is.
	_, err = readMembers([]byte(`{"value":true,"VALUE":false}`))
	if err == nil || !strings.Contains(err.Error(), `"VALUE" is not "value"`) || !strings.Contains(err.Error(), "case-sensitive") {
		t.Errorf("error %v does not say the name is in another case", err)
	}
}

// refMembers is Members by encoding/json: the object's keys read token by
// token (as decoded strings, so compared exactly), each one of
// memberNames and none twice.
func refMembers(b []byte) (seen uint64, ok bool) {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m == nil {
		return 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, false
		}
		k := -1
		for n, name := range memberNames {
			if name == t.(string) {
				k = n
			}
		}
		if k < 0 || seen&(1<<k) != 0 {
			return 0, false
		}
		seen |= 1 << k
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			return 0, false
		}
	}
	if _, err := dec.Token(); err != nil {
		return 0, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, false
	}
	return seen, true
}

// FuzzMembers holds Members to refMembers on every document both
// parsers read alike (jsonscan's strings are stricter: see FuzzValid),
// and checks what Members is for: once it accepts, encoding/json's
// case-insensitive struct decoding reads every member as an exact reader
// (a map) does.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"value":1}`, `{"value":true,"VALUE":false}`, `{"salt":"x","Salt":"y"}`, `{"ſalt":"x"}`, `{"\u017falt":"x"}`,
		`{"\u212a":1}`, `{"k":1,"K":2}`, `{"value":1,"value":2}`, `{"valu\u0065":1}`, ` {"value" : [ {"Value":1} ] } `,
		`{"value":{"value":1,"value":2}}`, `{"x":1}`, `{"\ud800":1}`, `[]`, `{"value":1}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b, MaxDepth) != nil {
			return
		}
		seen, err := readMembers(b)
		want, ok := refMembers(b)
		if (err == nil) != ok || ok && seen != want {
			t.Fatalf("%q: Members %b, %v; encoding/json %b, %v", b, seen, err, want, ok)
		}
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		var s memberStruct
		if json.Unmarshal(b, &m) != nil || json.Unmarshal(b, &s) != nil {
			t.Fatalf("%q: accepted, but encoding/json does not decode it", b)
		}
		for _, c := range []struct {
			name string
			got  json.RawMessage
		}{{"value", s.Value}, {"salt", s.Salt}, {"k", s.K}} {
			if !bytes.Equal(c.got, m[c.name]) {
				t.Fatalf("%q: the struct reads %s as %s, an exact reader as %s", b, c.name, c.got, m[c.name])
			}
		}
	})
}
