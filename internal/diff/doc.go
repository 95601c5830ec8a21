// Package diff compares old Recording API exports with what custody
// captured, message by message, and reports what the exports stripped or
// altered.
//
// It owns reading exports — a local folder or s3://bucket/prefix, in three
// shapes (the Genesys S3 layout, the customer "reshape" and JSON Lines) —
// the policy that names the required compliance fields and where each
// shape keeps them (docs/policy.md), the comparison rules and the finding
// kinds (docs/diff.md), and the writers that print findings as a table,
// JSON, CSV or JSON Lines.
//
// Everything an export contains is treated as hostile: a file that cannot
// be read or parsed, or whose name would escape the export's root, becomes
// a file_unreadable finding and the diff goes on. Memory does not grow
// with the size of the export: files are streamed one message at a time
// and the only per-message state is one bit per captured message.
//
// What custody captured is reached through the Index interface, so the
// package does not depend on the ledger.
package diff
