// Package reconcile reconciles old Recording API exports with the ledger:
// it gives internal/diff its view of what custody captured (LedgerIndex),
// records each diff in the chain of custody (the findings and the hash of
// every export file read, kept as evidence and named by a "diff" entry),
// and refetches the gaps a diff found through the export machinery,
// recording every outcome.
package reconcile
