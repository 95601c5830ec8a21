// Package hashchain is the pure cryptographic core of custody: bytes in,
// hashes, proofs and signed checkpoints out. It does no file or network I/O.
package hashchain
