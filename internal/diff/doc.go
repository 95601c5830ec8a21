// Package diff compares old Recording API exports with what custody
// captured, message by message, and reports what the exports stripped or
// altered.
//
// It owns the comparison: the policy's rules (which compliance fields are
// required, how timestamps and content compare; docs/policy.md), the
// comparison rules (docs/diff.md), the summary, and the writers that
// print findings as a table, JSON, CSV or JSON Lines. Reading the export —
// its location, its files' shapes, each message's fields — is
// internal/exportfile's; the finding kinds are internal/finding's table;
// a message's normal forms (content hash, timestamps) are
// internal/genesys's, shared with the capture.
//
// Everything wrong with an export is a finding and the diff goes on.
// Memory does not grow with the size of the export: files are streamed
// one message at a time and the only per-message state is one bit per
// captured message.
//
// What custody captured is reached through the Index interface, so the
// package does not depend on the ledger.
package diff
