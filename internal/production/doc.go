// Package production is the format of a custody production bundle — what
// `custody produce` writes and `custody verify --production` checks: the
// file layout, the manifest (manifest.json) that lists every produced file
// with its SHA-256 and every produced message with its ledger seq, leaf
// hash and proof file, and the rules a path in it must follow.
//
// It is pure (no I/O): the writer (internal/produce) and the checker
// (internal/verify) share it, and a verifier needs only this format, the
// proof format of internal/leaf and the ledger's verifier key.
package production
