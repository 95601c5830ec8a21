// Package finding is the closed vocabulary of a diff's findings: the
// finding kinds, in one table (Kinds) with what each means, its place in
// reports and whether it is a gap for refetch; the compliance fields a
// finding names; Counts, finding counts by kind; and the likely causes of
// gaps (Cause), which the diff names and the simulator's manifests record.
//
// It is pure — no I/O, no dependency on the diff — so that everything
// that speaks of findings reads the same table: internal/diff makes the
// findings and prints them, the simulator's ground-truth manifests
// (internal/sim/recexport) name the damage they did by finding kind, and
// internal/reconcile picks the gaps to refetch. A kind added to the table
// is known to all of them; TestTable holds the table complete.
package finding
