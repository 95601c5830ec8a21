package verify

import (
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/erasure"
)

// CutShortErase is what verify reports of an erase cut short (killed, a
// crash) after deleting evidence and before recording its erasure: its
// journal, beside the ledger, names what it was to delete and the
// command that records it. The deletions are a real gap until then, so
// verify still fails, but each missing object the journal names says so.
type CutShortErase struct {
	Journal       string   `json:"journal"`
	Command       string   `json:"command"`
	Started       string   `json:"started"`
	Conversations []string `json:"conversations"`
	Messages      []string `json:"messages"`
	Objects       int      `json:"objects"`
	// Missing counts the missing objects the journal names, when the
	// evidence was checked (Checked).
	Missing int  `json:"missing"`
	Checked bool `json:"evidence_checked"`
}

// String is the warning verify prints before its findings.
func (c *CutShortErase) String() string {
	found := "verify --evidence finds which"
	if c.Checked {
		found = fmt.Sprintf("%d of them found missing", c.Missing)
	}
	return fmt.Sprintf("an erase was cut short before recording its erasure (journal %s, started %s): the evidence objects it names that are missing were deleted by that erase and are not recorded as erased yet (%s); run the same erase again to record it: %s",
		c.Journal, c.Started, found, c.Command)
}

// labelCutShort marks each missing-object finding of fs whose object
// the journal p (at journal) names as deleted by that erase, and counts
// them.
func labelCutShort(fs []Finding, p *erasure.Pending, journal string) int {
	objs := map[string]bool{}
	for _, o := range p.Objects {
		objs[o] = true
	}
	const prefix = "evidence " // finish's "evidence <hex> is missing from …"
	n := 0
	for i := range fs {
		f := &fs[i]
		if f.Check != CheckEvidence || f.Warning || !strings.HasPrefix(f.Message, prefix) {
			continue
		}
		hex, rest, ok := strings.Cut(f.Message[len(prefix):], " ")
		if ok && objs[hex] && strings.HasPrefix(rest, "is missing from ") {
			f.Message += fmt.Sprintf(" (deleted by an erase cut short, see %s: not recorded until that erase is run again)", journal)
			n++
		}
	}
	return n
}
