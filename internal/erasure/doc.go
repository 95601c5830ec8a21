// Package erasure reads what a matter has erased and what it holds: the
// erasure and hold entries of the ledger (ledger format v3, custody
// erase, custody hold, custody release), folded into one State.
//
// Every reader of message content asks it before showing a message:
//
//	st, err := erasure.Load(ctx, l)
//	if st.Message(convID, msgID) { /* show "erased", not the content */ }
//
// Excuses is the one rule of whether an evidence object absent from a
// store is erased, not missing: verify --evidence counts by it, and
// matter set-evidence leaves out of what a new store must hold what it
// excuses, so that the two agree.
//
// The report, productions, the export and the diff's ledger index read
// it; internal/erase (custody erase, hold, release) writes the entries and
// reads it for the holds that refuse an erasure. It sits in the pure core
// beside leaf: no I/O of its own (Load reads through the Controls
// interface, a *ledger.Ledger).
package erasure
