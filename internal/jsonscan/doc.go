// Package jsonscan is custody's one hand-written JSON reader: a strict
// RFC 8259 scanner over []byte that every fast path of the project is
// built on (the leaf decoder, the RFC 8785 canonicalizer's fast path, the
// typed entry details, the proof file's duplicate check, the export
// parser's fast path in internal/exportfile, and the white space before a
// streamed document's first byte), so the grammar is written, tested and
// fuzzed once. Outside it and internal/leaf, JSON is read with
// encoding/json. Members checks the member names of an object of a
// fixed format exactly, byte for byte, each once, before encoding/json
// (which matches names without regard to case) decodes it. It also holds the string escapers,
// each named for the rule it follows: AppendStringRFC8785 (JCS leaves)
// and AppendStringEncodingJSON (what encoding/json.Marshal writes).
//
// The functions work on a byte slice and an index and return the index
// past what they read; SkipValue alone works on an encoding/json Decoder,
// for the readers that stream a large document with one. Space, Literal, Number and String allocate nothing
// unless they fail; a string without escapes is its own value (String's
// fast path, which finds its end eight bytes at a time), so only escaped
// strings are decoded (AppendString). Strings are stricter than
// encoding/json's: raw control characters and invalid UTF-8 are refused
// (RFC 8259 §8.1), and decoding refuses lone surrogate escapes instead of
// replacing them, so every decoded value is valid UTF-8.
//
// encoding/json is the reference: the fuzz tests hold Valid, AppendString
// and the escapers to json.Valid, json.Unmarshal and json.Marshal. The
// package is pure — no I/O, no cgo — and depends on the standard library
// only.
package jsonscan
