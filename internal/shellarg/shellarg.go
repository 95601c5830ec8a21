// Package shellarg quotes an argument for a POSIX shell, for the commands
// custody prints for a person to run (a hint, an erase journal's rerun,
// a report's checks, the demo's next steps): a path with a space or a
// quote in it, copied as shown, must name what it names.
package shellarg

import "strings"

// Quote returns s as one shell word: as it is when it holds only
// characters no shell treats specially, else in single quotes (a single
// quote in it written '\”).
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
