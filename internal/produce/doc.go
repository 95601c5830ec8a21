// Package produce writes productions for review platforms from the
// ledger and its evidence: RSMF 2.0 files (Relativity Short Message
// Format) and Concordance DAT/OPT load files with natives, each message
// carrying its ledger seq, leaf hash and a proof file, and the production
// itself recorded in the ledger (a production entry holding the hash of
// its manifest, internal/production's format).
//
// Message content — text, sender, recipient, attachments — comes from the
// evidence objects the leaves name (raw API responses, read through
// internal/derive and internal/genesys), each checked against the leaf's
// payload hash; the leaf gives only seq, hashes, ids, time, legal hold and
// which evidence. Messages are proved against the first checkpoint that
// covers the whole selection, so the same selection on the same ledger
// gives byte-identical files however the ledger grew since.
//
// ValidateManifest and ReadRSMF check RSMF files against Relativity's
// RSMF 2.0.0 JSON schema (embedded) and the specification's
// cross-reference rules; production.ReadDAT reads a load file back.
package produce
