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
