package genesys

import (
	"regexp"
	"strings"
)

// idPattern is what a Genesys conversation or message id looks like (a
// UUID, or a 32-digit hex message id); ids are used in URL paths and file
// names, so anything else is refused.
var idPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$`)

// ValidID reports whether id is safe to use as a conversation or message
// id: export requests no other, and verify, comparing a run's listing
// with its run state, knows an id that breaks it was never requested.
func ValidID(id string) bool { return idPattern.MatchString(id) && !strings.Contains(id, "..") }
