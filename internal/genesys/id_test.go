package genesys

import (
	"regexp"
	"strings"
	"testing"
)

// idOracle is the regular expression ValidID was, before it was written
// out by hand.
var idOracle = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$`)

func oracleValidID(id string) bool { return idOracle.MatchString(id) && !strings.Contains(id, "..") }

func TestValidID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"0b1e7c2a-4b8f-4c3e-9d1a-2f3e4a5b6c7d", true},
		{"f3a9c1d2e4b5a6978877665544332211", true},
		{"a", true},
		{"Z.b_c-d", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{".hidden", false},
		{"-flag", false},
		{"_x", false},
		{"a..b", false},
		{"a/b", false},
		{"../etc", false},
		{"a b", false},
		{"a\x00", false},
		{"é", false},
		{"a\n", false},
	} {
		if got := ValidID(c.id); got != c.want {
			t.Errorf("ValidID(%q) = %v, want %v", c.id, got, c.want)
		}
		if got := oracleValidID(c.id); got != c.want {
			t.Errorf("the oracle says %v for %q: the table is wrong", got, c.id)
		}
	}
}

// FuzzValidID holds ValidID to the regular expression it replaced.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"0b1e7c2a-4b8f-4c3e-9d1a-2f3e4a5b6c7d", "a..b", ".", "a.b", strings.Repeat("x", 128), strings.Repeat("x", 129), "ab\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := ValidID(id), oracleValidID(id); got != want {
			t.Fatalf("ValidID(%q) = %v, the regular expression says %v", id, got, want)
		}
	})
}
