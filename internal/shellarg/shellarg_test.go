package shellarg

import (
	"os/exec"
	"testing"
)

// TestQuote: what a shell makes of Quote(s) is s, whatever s holds.
func TestQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh here")
	}
	for _, s := range []string{"plain/path-1.2_x", "", "a b", "it's", `a"b`, "$HOME", "a\nb", "*", "-", "a'b'c", "ü é"} {
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh -c printf %%s %s: %q, %v; want %q", Quote(s), out, err, s)
		}
	}
	if q := Quote("/tmp/matter-1/evidence"); q != "/tmp/matter-1/evidence" {
		t.Errorf("a plain path is quoted: %s", q)
	}
}
