// Package report writes the compliance report of a matter: report.html,
// one self-contained page an auditor reads on screen or prints to PDF
// (with a certificate of authenticity on its own page), and report.json,
// the same facts for machines (schema in docs/report.md and schema.json).
//
// It reads the ledger in one pass for the matter's facts, streams the
// findings of a recorded diff back from the evidence store
// (reconcile.StreamFindings), and renders each conversation's transcript
// from the evidence itself — the raw API responses, decoded through
// internal/derive — not from the leaf's detail, so what a reader sees is
// what Genesys answered. The leaf gives only what the ledger itself
// vouches for: seq, leaf hash, ids, timestamps, legal hold, payload hash
// and evidence references. Generation streams: one conversation is held
// at a time, so memory grows with the number of conversations (a few
// words each), not with messages; past a few thousand conversations the
// transcripts go to pages of their own beside an index.
//
// Generate appends a "report" entry naming the SHA-256 of every file
// written and signs a checkpoint, so the report is itself in the chain
// of custody; verify.ReportFile later says whether a file is one of them.
//
// It sits above the verbs, beside internal/demo: it composes reconcile
// (to read a diff back) and verify (to state what was checked).
package report
