package genesys

import "strings"

// maxIDLen is the longest id ValidID accepts.
const maxIDLen = 128

// ValidID reports whether id is safe to use as a conversation or message
// id: export requests no other, and verify, comparing a run's listing
// with its run state, knows an id that breaks it was never requested.
//
// What a Genesys conversation or message id looks like (a UUID, or a
// 32-digit hex message id) is an ASCII letter or digit, then up to 127
// letters, digits, '.', '_' or '-', with no ".." (ids are used in URL
// paths and file names, so anything else is refused). Checked by hand:
// the regular expression it was (kept in the tests as their oracle)
// compiled to a 127-fold program at every start of the binary, 0.4 ms
// of each command's start-up.
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen || !alnum(id[0]) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return !strings.Contains(id, "..")
}

func alnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
