package hashchain

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The messages of the signed-note packages' (x/mod/sumdb/note,
// transparency-dev/formats/note) key parse errors that are fixed text,
// and what each means. Only these are passed on: another message might
// quote the key (formats' other parsers do), and a key is a secret.
var noteKeyErrors = map[string]string{
	"malformed verifier id":      "its name or key is malformed (a name with spaces, a key of the wrong length)",
	"malformed signer id":        "its name or key is malformed (a name with spaces, a key of the wrong length)",
	"unknown verifier algorithm": "its key is of a kind not used here (a witness's key where a ledger's belongs, or the other way round)",
	"unknown signer algorithm":   "its key is of a kind not used here (a witness's key where a ledger's belongs, or the other way round)",
	"invalid verifier hash":      "its HASH does not match its name and key (a damaged copy)",
	"invalid key hash":           "its HASH does not match its name and key (a damaged copy)",
}

// VerifierKeyProblem says what is wrong with key, which was to be a
// signed-note verifier key (NAME+HASH+KEY) and failed to parse with err,
// in words that never quote it or any part of it: a file named by
// mistake can hold anything, a signer key or a password included.
func VerifierKeyProblem(key string, err error) string {
	return keyProblem(key, err, false)
}

// SignerKeyProblem is VerifierKeyProblem for a signer key
// (PRIVATE+KEY+NAME+HASH+KEY).
func SignerKeyProblem(key string, err error) string {
	return keyProblem(key, err, true)
}

func keyProblem(key string, err error, signer bool) string {
	const private = "PRIVATE+KEY+"
	form, rest := "NAME+HASH+KEY", key
	if signer {
		form = "PRIVATE+KEY+NAME+HASH+KEY"
	}
	isPrivate := strings.HasPrefix(key, private)
	// The fields are cut as the note packages cut them: the KEY, base64,
	// may itself hold '+'.
	if isPrivate {
		rest = key[len(private):]
	}
	_, rest, ok1 := strings.Cut(rest, "+")
	hash, k, ok2 := strings.Cut(rest, "+")
	switch {
	case key == "":
		return "it is empty"
	case !utf8.ValidString(key) || strings.ContainsFunc(key, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return "it is not text"
	case strings.ContainsAny(key, "\r\n"):
		return "it is more than one line (a key is one line, " + form + ")"
	case !signer && isPrivate:
		return "it is a signer key (a secret); give the verifier key (.pub)"
	case signer && !isPrivate && ok1 && ok2:
		return "it is a verifier key; give the signer key (.key)"
	case !ok1 || !ok2 || (signer && !isPrivate):
		return "it is not of the form " + form
	case len(hash) != 8 || strings.Trim(hash, "0123456789abcdefABCDEF") != "":
		return "its HASH is not 8 hex digits"
	}
	if _, e := base64.StdEncoding.DecodeString(k); e != nil || k == "" {
		return "its KEY is not base64"
	}
	if err != nil {
		if p, ok := noteKeyErrors[err.Error()]; ok {
			return p
		}
	}
	return "it does not parse as a key"
}

// IsKeyText reports whether v (surrounding white space aside) is a
// signed-note key written out — a verifier key NAME+HASH+KEY whose HASH
// matches its name and key, of any algorithm (a ledger's or a witness's),
// or a signer key PRIVATE+KEY+NAME+HASH+KEY — rather than the name of a
// file holding one. Flags that take "a key, or a file holding it" ask this
// first: were a file tried first, a copy of a matter could carry a file
// at the path the auditor's key spells (a key's name may hold '/') and
// have its own key read in place of the one typed.
func IsKeyText(v string) bool {
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, " \t\r\n") {
		return false
	}
	rest, signer := strings.CutPrefix(v, "PRIVATE+KEY+")
	name, rest, ok1 := strings.Cut(rest, "+")
	hash, k, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || len(hash) != 8 || strings.Trim(hash, "0123456789abcdef") != "" {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(k)
	if err != nil || len(key) < 2 {
		return false
	}
	if signer {
		return true // its HASH is over the public key, not at hand here
	}
	// The key hash of the note formats: the first four bytes of
	// SHA-256(name "\n" algorithm-byte key).
	sum := sha256.Sum256(append([]byte(name+"\n"), key...))
	return hash == hex.EncodeToString(sum[:4])
}
