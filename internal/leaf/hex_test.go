package leaf

import (
	"strings"
	"testing"
)

// isLowerHex64Loop is isLowerHex64 a byte at a time: the reference.
func isLowerHex64Loop(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// TestIsLowerHex64: every byte value at every position of a valid string,
// and the lengths around 64, answer as the byte loop does.
func TestIsLowerHex64(t *testing.T) {
	valid := strings.Repeat("0123456789abcdef", 4)
	for pos := range 64 {
		for c := range 256 {
			b := []byte(valid)
			b[pos] = byte(c)
			if got, want := isLowerHex64(string(b)), isLowerHex64Loop(string(b)); got != want {
				t.Fatalf("byte %#x at %d: %v, want %v", c, pos, got, want)
			}
		}
	}
	for _, s := range []string{"", valid[:63], valid + "0", strings.Repeat("f", 64), strings.Repeat("g", 64), strings.Repeat("/", 64), strings.Repeat(":", 64), strings.Repeat("`", 64)} {
		if got, want := isLowerHex64(s), isLowerHex64Loop(s); got != want {
			t.Fatalf("%q: %v, want %v", s, got, want)
		}
	}
}

func FuzzIsLowerHex64(f *testing.F) {
	f.Add(strings.Repeat("0123456789abcdef", 4))
	f.Add(strings.Repeat("0123456789abcdeF", 4))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isLowerHex64(s), isLowerHex64Loop(s); got != want {
			t.Fatalf("%q: %v, want %v", s, got, want)
		}
		if len(s) > 64 {
			s = s[:64]
			if got, want := isLowerHex64(s), isLowerHex64Loop(s); got != want {
				t.Fatalf("%q: %v, want %v", s, got, want)
			}
		}
	})
}
