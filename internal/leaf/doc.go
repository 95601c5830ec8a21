// Package leaf is the ledger's format as bytes: the entry object and its
// RFC 8785 leaf (Entry, Validate, AppendLeaf, DecodeLeaf, CanonicalDetail,
// and CheckLeaf, the strict check every verifier of a leaf runs),
// the entry kinds as one table (Kinds) with a typed detail per kind
// (MessageDetail, ConversationDetail, RunDetail, … with EncodeDetail,
// DecodeDetail and the evidence each names, EvidenceRefs), the time
// layout, and the proof file with its offline check (Proof, ParseProof,
// VerifyProof). docs/ledger-format.md specifies every byte.
//
// It is pure — no I/O, no SQLite, no cgo — so that whoever needs only the
// format (custody verify --proof, a verifier, a tool reading leaves) links
// only leaf, internal/hashchain and internal/jsonscan, not the database
// (TestPure holds that). internal/ledger stores what leaf encodes and
// reads back through it.
//
// Every hand-written reader here is a fast path beside its reference —
// DecodeLeaf's beside encoding/json, CanonicalDetail's beside
// hashchain.Canonicalize, MessageDetail's beside json.Unmarshal,
// CheckLeaf's beside its slow path — built on jsonscan, fuzzed against the
// reference, and kept because a benchmark shows it pays
// (BenchmarkDecodeLeaf, BenchmarkDecodeMessageDetail, BenchmarkCheckLeaf).
//
// Member names are exact, as the format says: encoding/json matches them
// without regard to case and keeps the last of a repeated one, so every
// object of a fixed format (proof files, their fields and timestamps,
// openings) has its names checked by jsonscan.Members before encoding/json
// reads it, and the open objects (leaves, details) are read through
// unmarshalExact, which hides a member in another case from it.
package leaf
