package erase

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// recordedDiff is a diff entry as the erasure needs it: its findings
// objects, in order (one gzip member each; a line may run on from one
// part into the next).
type recordedDiff struct {
	seq    uint64
	runID  string
	source string // the export it read, as recorded
	parts  []hashchain.Hash
}

// findingsWhy is what a findings object deleted held, and what deleting
// it costs: the diff's findings can no longer be read whole. The rerun
// it advises is said for what it brings back: no erased text or sender
// (diff does not compare them), but the erased ids, and compliance values
// where the export's differ (TestDiffAfterErasure).
func findingsWhy(named string) string {
	return "its findings name " + named + ", with the values compared (a text's plain SHA-256, from which a short text can be guessed, and a sender's address) where the diff found them to differ: deleted, as a production's manifest is; " +
		"report, produce --diff and refetch can no longer read this diff: run custody diff again on the export to record its findings anew. " +
		"That diff compares no erased message's text or sender, so neither comes back into the evidence; its findings may name the erased conversations and messages again, " +
		"with the export's timestamp, legal hold and audit references of those it still holds where they differ from the capture"
}

// scanFindings reads the n findings objects of a recorded diff in order
// (open returns one's stored bytes, hash-checked, or nil and no error
// when it is absent) and returns, for each object holding some of a
// line whose finding names a conversation of convs or a message of msgs
// (its "conversation_id" or "message_id"), what it names ("conversation
// C", "message M"). An erased finding (a diff made after an erasure) is
// not counted: it holds no value of the message. A line that runs on
// into the next object marks both. An object that cannot be decompressed
// is in unreadable, with why; an error of open stops the scan.
func scanFindings(n int, open func(i int) ([]byte, error), convs, msgs map[string]bool) (named map[int]string, unreadable map[int]error, err error) {
	named, unreadable = map[int]string{}, map[int]error{}
	if len(convs)+len(msgs) == 0 {
		return named, unreadable, nil
	}
	var line []byte
	start := 0 // the object the line being read began in
	endLine := func(i int) {
		if what := namesErased(line, convs, msgs); what != "" {
			for j := start; j <= i; j++ {
				if named[j] == "" {
					named[j] = what
				}
			}
		}
		line = line[:0]
	}
	for i := range n {
		b, err := open(i)
		if err != nil {
			return nil, nil, err
		}
		if b == nil {
			line = line[:0] // absent: a line cut by it names nothing here
			continue
		}
		var r io.Reader = bytes.NewReader(b)
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(r)
			if err != nil {
				unreadable[i], line = err, line[:0]
				continue
			}
			r = zr
		}
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			chunk, err := br.ReadSlice('\n')
			if len(line) == 0 && len(chunk) > 0 {
				start = i
			}
			line = append(line, chunk...)
			switch {
			case err == nil:
				endLine(i)
				continue
			case errors.Is(err, bufio.ErrBufferFull):
				continue
			case err != io.EOF:
				// Cut short: what was read is judged; the rest cannot be.
				endLine(i)
				unreadable[i] = err
			}
			break
		}
	}
	if len(line) > 0 {
		endLine(n - 1)
	}
	for i := range named {
		delete(unreadable, i) // deleted all the same
	}
	return named, unreadable, nil
}

// namesErased returns "conversation C" or "message M" when the finding
// line names one of convs or msgs and is not an erased finding, else "".
func namesErased(line []byte, convs, msgs map[string]bool) string {
	what := ""
	if c := member(line, "conversation_id"); c != "" && convs[c] {
		what = "conversation " + c
	} else if m := member(line, "message_id"); m != "" && msgs[m] {
		what = "message " + m
	}
	if what == "" {
		return ""
	}
	var f struct {
		Kind finding.Kind `json:"kind"`
	}
	if json.Unmarshal(line, &f) == nil && f.Kind == finding.Erased {
		return ""
	}
	return what
}

// member returns the string value of a finding line's top-level member
// name, as encoding/json writes it ("name":"value"); "" when absent. A
// quote inside a string value is escaped, so the pattern is the member.
func member(line []byte, name string) string {
	key := []byte(`"` + name + `":"`)
	i := bytes.Index(line, key)
	if i < 0 {
		return ""
	}
	v := line[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return ""
	}
	return string(v[:j])
}

// erasedDiffs are the diffs whose findings objects this erasure deleted
// (erased, sorted hex), each with those objects and why.
func erasedDiffs(diffs []recordedDiff, why map[hashchain.Hash]string, erased []string) []leaf.ErasedDiff {
	var out []leaf.ErasedDiff
	for _, d := range diffs {
		ed := leaf.ErasedDiff{Seq: d.seq, RunID: d.runID}
		for _, h := range d.parts {
			if _, deleted := slices.BinarySearch(erased, h.String()); deleted && why[h] != "" {
				w := why[h]
				ed.Findings = append(ed.Findings, h.String())
				if ed.Why == "" {
					ed.Why = w
				}
			}
		}
		if len(ed.Findings) > 0 {
			out = append(out, ed)
		}
	}
	return out
}

// findingsUnreadable is why a findings object that cannot be read is
// kept: custody cannot tell what it holds.
func findingsUnreadable(d recordedDiff, err error) string {
	return fmt.Sprintf("diff findings of diff entry %d (run %s): could not be read (%v), so may hold the values compared of what is erased (a text's plain SHA-256, a sender's address); kept, since custody cannot tell: examine it with custody verify --evidence", d.seq, d.runID, strings.TrimSpace(err.Error()))
}
