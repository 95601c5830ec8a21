package derive

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// mediaCases are message objects whose media the one pass must read as
// the reference does, or decline.
var mediaCases = []string{
	`{"id":"m1","normalizedMessage":{"content":[{"contentType":"Attachment","attachment":{"id":"a1","url":"u"}},{"attachment":{"id":"a2"}}]}}`,
	`{"id":"m2","normalizedMessage":{"content":[{"attachment":{}},{"attachment":{"url":"u"}}]}}`,
	`{"id":"m3","normalizedMessage":{"content":[{"template":{"header":{"media":{"id":"h1"}}}},{"template":{"header":{"media":{"id":"h2"}}}},{"attachment":{"id":"a3"}}]}}`,
	`{"id":"m4","normalizedMessage":{"content":[{"template":{"header":{}}},{"template":{"header":{"media":{}}}}]}}`,
	`{"id":"m5","normalizedMessage":{"text":"no media"},"timestamp":"2024-03-01T10:00:00.000Z"}`,
	`{"id":"m6"}`,
	`{"id":"m\u0037","normalizedMessage":{"content":[{"attachment":{"id":"a\u0037"}}]}}`,
	`{"id":"m8","normalizedMessage":{"content":[{"attachment":null}]}}`,
	`{"id":"m9","normalizedMessage":{"content":[{"Attachment":{"id":"a9"}}]}}`,
	`{"id":"m10","normalizedMessage":{"content":[{"attachment":{"id":"a10","id":"a11"}}]}}`,
	`{"id":"m12","normalizedMessage":{"content":[{"attachment":{"ID":"a12"}}]}}`,
	`{"id":"m13","normalizedMessage":{"content":[{"attachment":{"id":13}}]}}`,
	`{"id":"m14","normalizedMessage":{"content":{"attachment":{"id":"a14"}}}}`,
	`{"id":"m15","normalizedMessage":{"content":["x"]}}`,
	`{"id":"m16","normalizedMessage":null}`,
	`{"id":"m17","Id":"m18"}`,
	`{"id":"m19","normalizedMessage":{"content":[]},"timestamp":5}`,
	`{"id":"m20","normalizedMessage":{"content":[{"template":{"header":{"media":{"id":"h20"}},"header":{}}}]}}`,
	`{"id":"m21","normalizedMessage":{"content":[{"attachment":{"id":"a21"}}],"Content":[]}}`,
	`{"id":"m22","normaliſedMessage":{}}`,
	`{"id":"m23","normalizedMessage":{"content":[{"attachment":{"id":"a\ud800"}}]}}`,
	`{"id":"m24","media":[{"id":"old"}],"textBody":"x","normalizedMessage":{"content":[{"attachment":{"id":"a24"}}]}}`,
}

// checkMediaIn holds mediaInFast to mediaInRef on body: when the one pass
// answers, the reference splits the body into as many messages, and the
// one pass names what the reference does of every message it decodes.
func checkMediaIn(t *testing.T, body []byte) (answered bool) {
	t.Helper()
	fast, ok := mediaInFast(body)
	if !ok {
		return false
	}
	ref, decoded, err := mediaInRef(body)
	if err != nil {
		t.Fatalf("one pass read %q, the reference: %v", body, err)
	}
	if len(fast) != len(ref) {
		t.Fatalf("%q: %d messages, the reference %d", body, len(fast), len(ref))
	}
	for k := range ref {
		if decoded[k] && !reflect.DeepEqual(fast[k], ref[k]) {
			t.Fatalf("%q: message %d is %+v, the reference %+v", body, k, fast[k], ref[k])
		}
	}
	return true
}

// mediaBodies are response bodies: every sample message and media case
// alone, all the samples together, and a few bodies the one pass must
// leave to the reference.
func mediaBodies(t testing.TB) [][]byte {
	var out [][]byte
	list := func(msgs ...[]byte) []byte {
		return append(append([]byte(`{"entities":[`), bytes.Join(msgs, []byte(","))...), `]}`...)
	}
	samples := sampleMessages(t)
	for _, m := range samples {
		out = append(out, list(m))
	}
	out = append(out, list(samples...))
	for _, c := range mediaCases {
		out = append(out, list([]byte(c)))
	}
	for _, s := range []string{
		`{"entities":[{"id":"a"},{"id":"a"}]}`,
		`{"Entities":[{"id":"a"}]}`,
		`{"entities":[{"id":"a"}],"entities":[]}`,
		`{"entities":[]}`,
		`{"entities":null}`,
		`{"id":"single","normalizedMessage":{"content":[{"attachment":{"id":"a1"}}]}}`,
		`{"x":1,"entities":[{"id":"a"}],"y":[{"entities":2}]}`,
		`{"entities":[1]}`,
		`{"entities":[{"id":"a"}]} x`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// TestMediaIn: on every sample the one pass answers it names what the
// reference does; it answers for the samples (the usual body), declines
// what it must; and MediaIn gives the decoded messages either way.
func TestMediaIn(t *testing.T) {
	bodies := mediaBodies(t)
	answered := 0
	for _, b := range bodies {
		if checkMediaIn(t, b) {
			answered++
		}
	}
	if answered < len(sampleMessages(t)) {
		t.Errorf("the one pass answered %d of %d bodies: not even the samples", answered, len(bodies))
	}
	for _, c := range []struct {
		body   string
		fast   bool
		wantID []string
	}{
		{`{"entities":[` + mediaCases[0] + `,` + mediaCases[2] + `]}`, true, []string{"m1", "m3"}},
		{`{"entities":[{"id":"a"},{"id":"a"}]}`, false, []string{"a", "a"}},
		{`{"entities":[` + mediaCases[8] + `]}`, false, []string{"m9"}},
		{`{"entities":[` + mediaCases[16] + `]}`, true, []string{"m19"}}, // the reference leaves it out: see MediaIn
		{`{"id":"single","normalizedMessage":{"content":[{"attachment":{"id":"a1"}}]}}`, false, []string{"single"}},
	} {
		_, ok := mediaInFast([]byte(c.body))
		got, err := MediaIn([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		var ids []string
		for _, m := range got {
			ids = append(ids, m.ID)
		}
		if ok != c.fast || !reflect.DeepEqual(ids, c.wantID) {
			t.Errorf("%s: one pass %v, ids %q; want %v, %q", c.body, ok, ids, c.fast, c.wantID)
		}
	}
	got, err := MediaIn([]byte(`{"entities":[` + strings.Join(mediaCases[:4], ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []MessageMedia{{ID: "m1", Attachments: []string{"a1", "a2"}}, {ID: "m2", Attachments: []string{"", ""}},
		{ID: "m3", Attachments: []string{"a3"}, HeaderMedia: "h1"}, {ID: "m4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MediaIn: %+v, want %+v", got, want)
	}
}

// FuzzMediaIn: whenever the one pass answers, the reference agrees on
// every message it decodes.
func FuzzMediaIn(f *testing.F) {
	for _, b := range mediaBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkMediaIn(t, body) })
}
