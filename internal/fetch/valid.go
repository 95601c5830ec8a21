package fetch

import (
	"encoding/json"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// validJSON is json.Valid, answered by jsonscan's scanner (several times
// faster; every body of an export is checked) when it accepts: what it
// accepts encoding/json accepts (FuzzValidJSON). What it refuses, encoding/json
// decides (it is stricter: invalid UTF-8 in a string, deep nesting).
func validJSON(b []byte) bool {
	return jsonscan.Valid(b) || json.Valid(b)
}
