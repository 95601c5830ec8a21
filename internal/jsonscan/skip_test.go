package jsonscan

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestSkipValue: each kind of value is skipped whole, and the decoder is
// left at what follows it; a value cut short is an error.
func TestSkipValue(t *testing.T) {
	for _, v := range []string{`1`, `"s"`, `null`, `[]`, `{}`, `[1,[2,{"a":[3]}],"x"]`, `{"a":{"b":[{},{"c":"]"}]},"d":4}`} {
		dec := json.NewDecoder(strings.NewReader(`[` + v + `,"next"]`))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		if err := SkipValue(dec); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if tok, err := dec.Token(); err != nil || tok != "next" {
			t.Errorf("%s: then %v %v, want \"next\"", v, tok, err)
		}
	}
	dec := json.NewDecoder(strings.NewReader(`{"a":[1,2`))
	if err := SkipValue(dec); err == nil {
		t.Error("a value cut short was skipped without an error")
	}
	// Nesting: MaxDepth levels are skipped, one more is refused (before
	// reading the rest: Decoder.Token would keep a stack entry a level).
	for _, n := range []int{MaxDepth, MaxDepth + 1} {
		deep := strings.Repeat("[", n) + strings.Repeat("]", n)
		err := SkipValue(json.NewDecoder(strings.NewReader(deep)))
		if got := errors.Is(err, ErrDepth); got != (n > MaxDepth) {
			t.Errorf("%d levels: %v", n, err)
		}
	}
}
