package jsonscan

import (
	"encoding/json"
	"fmt"
)

// SkipValue reads past the value dec is at, token by token, so that a
// large value that is not wanted (an unknown key's, the messages of a
// report.json) costs no more memory than its largest string or number —
// Decode into a json.RawMessage would hold it whole. It is this package's
// one helper over encoding/json's Decoder, shared by the readers that
// stream a document with one. The value may nest MaxDepth levels:
// Decoder.Token keeps a stack entry per level and has no limit of its own,
// so a hostile `[[[[…` would otherwise cost memory in proportion to its
// length.
func SkipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			if depth++; depth > MaxDepth {
				return &SyntaxError{Offset: int(dec.InputOffset()), What: fmt.Sprintf("more than %d levels", MaxDepth), Err: ErrDepth}
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
