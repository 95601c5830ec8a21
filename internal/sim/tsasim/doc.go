// Package tsasim is a test RFC 3161 timestamp authority: its own test CA
// (a root and a TSA certificate with the critical timeStamping extended
// key usage, made fresh at start), an HTTP endpoint speaking
// application/timestamp-query, and faults on demand: down (503), slow,
// a bad signature, the wrong imprint, a signer without the timeStamping
// usage, with it not critical or beside another, a signer whose key usage
// has more than signing, a signer from another CA. 'custody sim tsa' serves it; tests
// and the demo start it in process. Nothing it signs is trustworthy
// outside a test: its keys live in memory and die with it.
package tsasim
