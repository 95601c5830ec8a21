// Package recexport writes what an old Genesys Recording API bulk export
// looks like — with the damage such exports do — for the simulator, the
// tests and the benchmarks of internal/diff and internal/exportfile.
//
// It owns the two export shapes the simulator writes (the Genesys S3
// layout of one recording file plus a _metadata.json per conversation, and
// a customer "reshape" of one {"channel","messages"} file per
// conversation), the seeded, deterministic damage profile (stripped
// compliance fields, timestamps cut to seconds or shifted, messages
// dropped, altered, duplicated or fabricated, WhatsApp templates' header
// media and messages' attachments left out or replaced, files truncated,
// conversations left out — for no recording, for sensitive data not asked
// for, or not yet in the data lake), and the ground-truth Manifest listing
// every damage done with its origin (Genesys's exporter, a customer's
// pipeline, tampering) and, for a gap, the cause a diff should name; it is
// written outside the export so that tests know exactly which findings a
// correct diff must report.
//
// Exporter plugs it into the simulator's recording jobs
// (sim.Options.RecordingExporter).
package recexport
