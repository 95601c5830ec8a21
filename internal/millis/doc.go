// Package millis reads the one timestamp form custody writes and Genesys
// sends: UTC with exactly three fractional digits,
// "2006-01-02T15:04:05.000Z" (Layout). Parse is the fast path the leaf
// decoder and the diff take for it, beside time.Parse, which stays the
// reference (genesys.ParseTimestamp for any RFC 3339 text): the leaf
// decoder reads one per entry and the diff two per message compared.
//
// The package is pure and depends on the standard library only, so that
// internal/leaf (the ledger format) and internal/exportfile (old exports)
// share it without depending on each other.
package millis
