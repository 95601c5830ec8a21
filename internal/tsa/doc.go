// Package tsa owns RFC 3161 timestamp tokens over checkpoints: asking a
// timestamp authority for one (Client.Timestamp, HTTP, the
// application/timestamp-query protocol of RFC 3161 §3.4) and checking one
// offline (Verify: message imprint, CMS signature, certificate chain to a
// given root bundle, each CA certificate of it with a key usage, if any,
// that has keyCertSign, the timeStamping extended key usage — the only one,
// in a critical extension — a key usage, if any, of digitalSignature
// and/or nonRepudiation alone, and the token's time within the signer
// certificate's validity).
//
// The message imprint of a checkpoint's token is SHA-256 of the signed
// checkpoint note's bytes exactly as the ledger stores them (Imprint).
// Parsing and building use github.com/digitorus/timestamp; the X.509
// checks are the standard library's, and custody's own where OpenSSL's
// are stricter (the signer's usages, the CA certificates' key usage).
package tsa
