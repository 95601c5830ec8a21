package derive

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// checkDecodeMessagesIn holds DecodeMessagesIn to what it fuses:
// MessagesIn, then DecodeMessage of each message, error for error.
func checkDecodeMessagesIn(t *testing.T, body []byte) {
	t.Helper()
	got, err := DecodeMessagesIn(body)
	list, werr := MessagesIn(body)
	if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
		t.Fatalf("DecodeMessagesIn(%q): error %v, MessagesIn %v", body, err, werr)
	}
	if len(got) != len(list) {
		t.Fatalf("DecodeMessagesIn(%q): %d messages, MessagesIn %d", body, len(got), len(list))
	}
	for i, raw := range list {
		md, sum, derr := DecodeMessage(raw)
		g := got[i]
		if !bytes.Equal(g.Raw, raw) {
			t.Fatalf("DecodeMessagesIn(%q): message %d is %q, MessagesIn's %q", body, i, g.Raw, raw)
		}
		if (g.Err == nil) != (derr == nil) || derr != nil && g.Err.Error() != derr.Error() {
			t.Fatalf("DecodeMessagesIn(%q): message %d: error %v, DecodeMessage %v", body, i, g.Err, derr)
		}
		if !reflect.DeepEqual(g.MD, md) || g.Payload != sum {
			t.Fatalf("DecodeMessagesIn(%q): message %d differs from DecodeMessage's", body, i)
		}
	}
}

// bulkSeeds are bodies for DecodeMessagesIn: the sample messages in one
// bulk body, and bodies with a message the fast decoder declines or
// that does not decode, or that the split refuses.
func bulkSeeds(t testing.TB) []string {
	samples := sampleMessages(t)
	var parts []string
	for _, raw := range samples {
		parts = append(parts, string(raw))
	}
	seeds := []string{
		`{"entities":[` + strings.Join(parts, ",") + `],"pageSize":25}`,
		`{"pageSize":25, "entities" : [ ` + strings.Join(parts, " , ") + ` ] } `,
		string(bulkBody(3)),
		`{"entities":[{"id":"a"},{"id":"b","media":[]},{"id":"c"}]}`,
		`{"entities":[{"id":"a"},{"id":1},{"id":"c"}]}`,
		`{"entities":[{"id":"a"},null,"x",1,{"id":"c"}]}`,
		`{"entities":[{"id":"a"},{"id":"b"`,
		`{"entities":[{"id":"a"},{"id":"\ud800"},{"id":"c"}]}`,
		`{"entities":[{"id":"a"},{"unknown":1e400},{"id":"c"}]}`,
		`{"entities":[{"id":"a"},{"id":"b"}],"entities":[]}`,
		`{"Entities":[{"id":"a"}]}`,
		`{"entities":[{"id":"a"} {"id":"b"}]}`,
		`{"entities":[{"id":"a"}]} x`,
		`{"entities":[{"deep":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}]}`,
		`{"entities":[{"deep":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}]}`,
		`{"entities":[{"id":"` + strings.Repeat("é", 3000) + `"},{"id":"` + strings.Repeat("x\\n", 2000) + `"}]}`,
		`{"entities":[{"id":"a\u00e9b","name":"\n1","textBody":"plain"},{"id":"c\td","name":"\"2","textBody":"plain too"}]}`, // escapes: copies, not views of a reused buffer
		`{"entities":[]}`, `{"entities":null}`, `{"entities":{}}`, `{"id":"single"}`, `[]`, ``,
	}
	for _, raw := range contentCases {
		seeds = append(seeds, `{"entities":[`+raw+`,`+raw+`]}`)
	}
	return append(seeds, bodySeeds...)
}

func TestDecodeMessagesIn(t *testing.T) {
	for _, body := range bulkSeeds(t) {
		checkDecodeMessagesIn(t, []byte(body))
	}
	// Many messages, of many lengths: the arena each takes.
	var parts []string
	for i := range 200 {
		parts = append(parts, fmt.Sprintf(`{"id":"%d","textBody":"%s","normalizedMessage":{"text":"%s"}}`, i, strings.Repeat("a", i*37%500), strings.Repeat("b", i*53%700)))
	}
	checkDecodeMessagesIn(t, []byte(`{"entities":[`+strings.Join(parts, ",")+`]}`))
}

// FuzzDecodeMessagesIn: DecodeMessagesIn answers as MessagesIn and
// DecodeMessage do, error for error.
func FuzzDecodeMessagesIn(f *testing.F) {
	for _, s := range bulkSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecodeMessagesIn(t, body)
	})
}

// TestDecodeMessagesInParts: the messages of a body share no part
// (their strings are views of the body, their parts are their own):
// every string of one message changed, appending to its slices
// included, leaves every other message as a fresh decode gives it.
func TestDecodeMessagesInParts(t *testing.T) {
	body := []byte(bulkSeeds(t)[0])
	for victim := range 13 {
		got, err := DecodeMessagesIn(body)
		if err != nil || len(got) != 13 {
			t.Fatalf("%d messages, %v", len(got), err)
		}
		want, _ := DecodeMessagesIn(body)
		scribble(reflect.ValueOf(got[victim].MD).Elem())
		for i := range got {
			if i != victim && !reflect.DeepEqual(got[i].MD, want[i].MD) {
				t.Fatalf("changing message %d changed message %d", victim, i)
			}
		}
	}
}

// scribble sets every string reachable from v to "scribbled", and
// appends a zero element to every slice (within its capacity, where an
// array shared with another message would show it).
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("scribbled")
	case reflect.Pointer:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			scribble(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
		if v.Len() < v.Cap() {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		}
	}
}
