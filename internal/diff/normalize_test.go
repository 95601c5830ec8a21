package diff

import "testing"

// TestContentHash pins the hash the ledger's captures and the exports are
// compared by: both sides use ContentHash, so a change to it would not show
// in a diff's findings, only here.
func TestContentHash(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"Héllo\nworld", "df08c3f74df95d60586ba597b46c1ee5ad2429b88fae27f1417faf45a2fcda7a"},
		// NFD, CRLF and padding normalise away.
		{" \tHe\u0301llo\r\nworld \n", "df08c3f74df95d60586ba597b46c1ee5ad2429b88fae27f1417faf45a2fcda7a"},
	} {
		if got := ContentHash(tc.in); got != tc.want {
			t.Errorf("ContentHash(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if emptyContentHash != ContentHash("") {
		t.Error("emptyContentHash is not the hash of empty text")
	}
}
