package leaf

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// exactReference is unmarshalExact for a MessageDetail the plain way: the
// object read into a map (whose keys encoding/json never folds), every
// member that is not one of the type's names exactly dropped, the media
// likewise, and what is left decoded.
func exactReference(raw []byte, d *MessageDetail) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	keep := func(m map[string]json.RawMessage, t reflect.Type) {
		names := map[string]bool{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			names[name] = true
		}
		for k := range m {
			if !names[k] {
				delete(m, k)
			}
		}
	}
	keep(m, reflect.TypeFor[MessageDetail]())
	if media, ok := m["media"]; ok {
		var refs []map[string]json.RawMessage
		if json.Unmarshal(media, &refs) == nil {
			for _, r := range refs {
				keep(r, reflect.TypeFor[MediaRef]())
			}
			m["media"], _ = json.Marshal(refs)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, d)
}

var exactSeeds = []string{
	`{"From":"a"}`, `{"from":"a","FROM":"b"}`, `{"FROM":"b","from":"a"}`, `{"content_ſha256":"x","content_sha256":"y"}`,
	`{"media":[{"id":"a","ID":"b","ſha256":"c"}],"Media":[]}`, `{"media":[null,{"id":"a"}]}`, `{"media":"x"}`, `{"media":{"id":"a"}}`,
	`{"\u0066rom":"a","\u0046rom":"b"}`, `{"to_commitment":"x","to_commitment":"y","TO_COMMITMENT":"z"}`, `null`, `[]`, `{"from":1,"From":"x"}`,
	`{"x":{"From":"y"},"from":"z"}`, ` {"from" : "a" , "FROM" : "b" } `, `{"from":"a"} x`, `{"media":[{"id":"a","\u212ad":"b"}]}`,
}

// FuzzUnmarshalExact holds unmarshalExact to exactReference on every
// document jsonscan reads (those it does not are not I-JSON, and go to
// encoding/json as they are).
func FuzzUnmarshalExact(f *testing.F) {
	for _, s := range append(exactSeeds, messageDetailSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if jsonscan.Check(raw, jsonscan.MaxDepth) != nil {
			return
		}
		var got, want MessageDetail
		err, wantErr := unmarshalExact(raw, &got), exactReference(raw, &want)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: unmarshalExact %v, reference %v", raw, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", raw, got, want)
		}
	})
}

// TestNamesOf: the names unmarshalExact reads each detail type with.
func TestNamesOf(t *testing.T) {
	n := namesOf(reflect.TypeFor[*MessageDetail]())
	media, exact, _ := n.lookup([]byte("media"))
	if !exact || media == nil {
		t.Fatal("media has no names")
	}
	if _, exact, folds := media.lookup([]byte("ſha256")); exact || !folds {
		t.Error("ſha256 is not taken for a variant of sha256")
	}
	if of, exact, _ := n.lookup([]byte("from")); !exact || of != nil {
		t.Error("from is not a plain member")
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[json.RawMessage](), reflect.TypeFor[EvidenceList](), reflect.TypeFor[map[string]int]()} {
		if namesOf(typ) != nil {
			t.Errorf("%v has names", typ)
		}
	}
	if namesOf(reflect.TypeFor[*DiffDetail]()) == nil || namesOf(reflect.TypeFor[*wireEntry]()) == nil {
		t.Error("a struct without names")
	}
}
