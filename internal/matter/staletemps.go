package matter

import (
	"context"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/evidence"
)

// removeStaleTemps removes from st the temporary files that writes
// stopped part-way (a killed produce, export, checkpoint) left, once, as
// the first writer of the matter's evidence after them: it holds the
// writer lock, which every command that writes evidence takes before
// opening the store (readers open it read-only and write nothing), so no
// write of this matter is in progress, and it has written nothing to st
// yet. Only files older than the lock are removed, not a write started
// since, by whatever else uses the store. What is removed is named in a
// warning; a failure is one too (the files are no evidence, and verify
// lists what stays).
func (m *Matter) removeStaleTemps(ctx context.Context, st evidence.Store) {
	sr, ok := st.(evidence.StaleTempRemover)
	if !ok || m.opts.ReadOnly || m.lock == nil {
		return
	}
	removed, err := sr.RemoveStaleTemps(ctx, m.lock.since)
	if n := len(removed); n > 0 {
		names := strings.Join(removed[:min(n, 3)], ", ")
		if n > 3 {
			names += ", …"
		}
		m.warn(fmt.Sprintf("removed %d temporary file(s) of writes stopped part-way from the evidence store %s (they name no evidence): %s", n, st.URL(), names))
	}
	if err != nil {
		m.warn(fmt.Sprintf("temporary files of writes stopped part-way are left in the evidence store: %v", err))
	}
}
