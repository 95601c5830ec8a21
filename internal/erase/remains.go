package erase

import (
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
)

// Remain is a place where personal data of what an erasure erased is
// left after it, which the erasure does not delete: an evidence object
// kept (an analytics listing page, an object another conversation
// shares, one Object Lock kept), a recorded production or report whose
// files were delivered, the export a recorded diff read, the ledger's
// leaves of captures from before format v3, a folder a killed produce
// left that could not be removed. The operator recalls or deletes what
// can be; the rest is said so that nothing left goes unsaid.
type Remain struct {
	// Place is "evidence", "production", "report", "export", "ledger"
	// or "folder".
	Place string `json:"place"`
	// Object is an evidence object (64 hex); Seq a production's or
	// report's entry; Name a report's run id, or the diff runs that read
	// an export.
	Object string `json:"object,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
	Name   string `json:"name,omitempty"`
	// Folder is a production's or report's folder, an export's location,
	// a leftover folder; "" when the ledger does not record it.
	Folder string `json:"folder,omitempty"`
	// Why says what it holds and why it is left, or what to do.
	Why string `json:"why"`
}

// recallWhat is what to do with a production or report named.
const recallWhat = "custody cannot delete files already delivered: recall or delete them"

// remains lists every place personal data of what d erased is left
// (Remain): its kept objects, its outputs (reportFolders gives a report
// entry's recorded folder), the exports its diffs read (diffSources by
// diff entry), v1 erased captures whose leaves keep personal fields, and
// the produce leftovers that could not be removed.
func remains(d *leaf.ErasureDetail, reportFolders map[uint64]string, diffSources map[uint64]string, v1 int, leftoversFailed []string) []Remain {
	out := []Remain{}
	for _, k := range d.Kept {
		out = append(out, Remain{Place: "evidence", Object: k.Object, Why: k.Why})
	}
	// The exports the diffs read, each once (several diffs may read one).
	runs := map[string][]string{}
	var sources []string
	for _, df := range d.Diffs {
		src := diffSources[df.Seq]
		if src == "" {
			continue
		}
		if runs[src] == nil {
			sources = append(sources, src)
		}
		runs[src] = append(runs[src], df.RunID)
	}
	for _, src := range sources {
		rs := runs[src]
		out = append(out, Remain{Place: "export", Name: strings.Join(rs, ", "), Folder: src,
			Why: fmt.Sprintf("the export that diff %s %s read holds, or may hold, the erased messages (the findings named them): it is not custody's to delete; delete it, or recall it where it came from", map[bool]string{true: "run", false: "runs"}[len(rs) == 1], strings.Join(rs, ", "))})
	}
	for _, o := range d.Outputs {
		r := Remain{Place: o.Kind, Seq: o.Seq, Why: o.Why + "; " + recallWhat}
		switch o.Kind {
		case leaf.KindReport:
			r.Name, r.Folder = o.Name, reportFolders[o.Seq]
		default:
			r.Folder = o.Name
		}
		out = append(out, r)
	}
	if v1 > 0 {
		out = append(out, Remain{Place: "ledger", Why: fmt.Sprintf("%d erased captures are from before ledger format v3: their leaves keep the sender, recipient and content hash in clear, which no erasure can remove from an append-only ledger", v1)})
	}
	for _, p := range leftoversFailed {
		out = append(out, Remain{Place: "folder", Folder: p, Why: "left by a produce killed before it recorded its production, and could not be looked at or removed: it may hold the produced messages' text; remove it, or run the same produce again"})
	}
	return out
}
