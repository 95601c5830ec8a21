package genesys

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestNormalizeContentWhiteSpaceAsDocumented: docs/ledger-format.md lists
// the code points a content hash trims from both ends, so that a verifier
// in another language (whose own trim differs: Python's str.strip, JS's
// trim) strips the same ones. The list must be exactly what
// NormalizeContent trims.
func TestNormalizeContentWhiteSpaceAsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ledger-format.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(doc)), " ")
	const start, end = "exactly the code points with Unicode's White_Space property: ", ". That is Go's"
	i := strings.Index(text, start)
	j := strings.Index(text[i+1:], end)
	if i < 0 || j < 0 {
		t.Fatal("the doc does not list the white space a content hash trims")
	}
	listed := map[rune]bool{}
	re := regexp.MustCompile(`U\+([0-9A-F]{4,6})(?:–U\+([0-9A-F]{4,6}))?`)
	for _, m := range re.FindAllStringSubmatch(text[i+len(start):i+1+j], -1) {
		lo, _ := strconv.ParseUint(m[1], 16, 32)
		hi := lo
		if m[2] != "" {
			hi, _ = strconv.ParseUint(m[2], 16, 32)
		}
		for r := lo; r <= hi; r++ {
			listed[rune(r)] = true
		}
	}
	if len(listed) == 0 {
		t.Fatal("no code point in the doc's list")
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		trimmed := NormalizeContent(string(r)+"x"+string(r)) == "x"
		if trimmed != listed[r] {
			t.Errorf("U+%04X: trimmed %v, listed in the doc %v", r, trimmed, listed[r])
		}
	}
}
