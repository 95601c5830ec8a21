package fetch

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestValidJSON: validJSON answers as json.Valid, on the bodies where
// jsonscan and encoding/json disagree too.
func TestValidJSON(t *testing.T) {
	for _, b := range []string{
		`{"entities":[{"id":"a"}]}`, `{"entities":[{"id":"a"}`, ``, ` `, `null`, "{\"a\":\"\xff\"}",
		strings.Repeat("[", 600) + strings.Repeat("]", 600), `{"a":1}x`, `{"a":"\ud800"}`,
	} {
		if got, want := validJSON([]byte(b)), json.Valid([]byte(b)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid %v", b, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	f.Add([]byte(`{"entities":[{"id":"a","n":1.5e3,"t":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}
