package production

import (
	"slices"
	"strings"
)

// StagingKey is the key of the ledger's state that lists, one a line,
// the folders productions are being built in: the absolute path of
// .OUT.produce-HEX, without the .building or .entry-SEQ that follows it.
// produce adds its line before it writes any message text and removes it
// in the transaction that records the production, or once it has
// removed the folder. A produce killed before recording leaves the folder,
// with the produced messages' text, and its line: custody erase, which
// like produce holds the matter's writer lock, finds the folder by it and
// removes it, wherever --out was (no entry names a production never
// recorded, so nothing else leads to it).
const StagingKey = "produce/staging"

// StagingLines returns the folders a StagingKey value lists.
func StagingLines(v string) []string {
	var out []string
	for l := range strings.SplitSeq(v, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// WithStaging returns the StagingKey value v with stem added.
func WithStaging(v, stem string) string {
	lines := StagingLines(v)
	if !slices.Contains(lines, stem) {
		lines = append(lines, stem)
	}
	return strings.Join(lines, "\n")
}

// WithoutStaging returns the StagingKey value v without stems ("" when
// none is left).
func WithoutStaging(v string, stems ...string) string {
	return strings.Join(slices.DeleteFunc(StagingLines(v), func(l string) bool { return slices.Contains(stems, l) }), "\n")
}
