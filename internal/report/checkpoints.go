package report

import "strings"

// keyID is a verifier key's NAME+HASH: a C2SP signed-note verifier key is
// NAME+HASH+KEY, where NAME cannot hold a '+' and KEY, base64, can; so the
// identity is cut at the second '+', never the last. A key not of that
// form is shown whole.
func keyID(vkey string) string {
	name, rest, ok := strings.Cut(vkey, "+")
	if !ok {
		return vkey
	}
	hash, _, ok := strings.Cut(rest, "+")
	if !ok {
		return vkey
	}
	return name + "+" + hash
}
