// Package hashchain is the pure cryptographic core of custody: bytes in,
// hashes, proofs and signed checkpoints out. It owns the exact byte formats
// below and nothing else: no file, database or network I/O. internal/ledger
// stores what it computes; verify recomputes it.
//
// All hashes are SHA-256, 32 bytes, written as 64 lowercase hex digits
// (Hash.String) except inside checkpoints, which use base64.
//
// # Canonical JSON
//
// A ledger entry's leaf is the RFC 8785 (JCS) serialization of the entry
// object, and payload_sha256 is SHA-256 of the JCS of the API object:
//
//	payload_sha256 = SHA-256(JCS(payload))
//
// JCS input must be I-JSON: valid UTF-8 JSON without duplicate member names,
// lone surrogates or numbers outside the IEEE 754 double range; anything
// else is rejected with ErrInvalidJSON, never repaired. Numbers become
// doubles, so integers above 2^53 lose precision by design of RFC 8785;
// identifiers that large must travel as JSON strings.
//
// # Leaves, nodes and roots (RFC 6962 / RFC 9162 §2.1)
//
//	leafhash[i]       = SHA-256(0x00 || leaf[i])
//	node(left, right) = SHA-256(0x01 || left || right)
//	MTH({})           = SHA-256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
//	MTH({h})          = h
//	MTH(D[0:n])       = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//
// Inclusion proofs (PATH) and consistency proofs (PROOF) are the RFC 9162
// §2.1.3 and §2.1.4 lists of 32-byte hashes, leaf side first, so any RFC 6962
// verifier (for example transparency-dev/merkle/proof) checks them.
//
// # Hash chain
//
//	chain[-1] = 32 zero bytes (ZeroHash)
//	chain[i]  = SHA-256("custody/chain/v1" || 0x00 || chain[i-1] || leafhash[i])
//
// The preimage is always 81 bytes: the 16 ASCII bytes of the tag, one zero
// byte, then the two hashes. The chain is checked entry by entry, so a
// changed, dropped or reordered entry is located exactly; the Merkle root
// over the same leaf hashes gives the compact proofs.
//
// Domain separation: the four SHA-256 preimages are told apart by their first
// byte. Leaf hashes start with 0x00, interior nodes with 0x01, chain links
// with 'c' (0x63), and a JCS document with '{', '[', '"', '-', a digit, 't',
// 'f' or 'n'. No value of one kind can be passed off as another.
//
// # Checkpoints (C2SP tlog-checkpoint in a C2SP signed note)
//
// The checkpoint body is exactly three newline-terminated lines:
//
//	<origin>\n
//	<tree size, decimal, no leading zeros>\n
//	<Merkle root, standard base64 with padding (44 characters)>\n
//
// Extension lines are not written and not accepted. The signed note is the
// body, an empty line, and one signature line per signer:
//
//	— <key name> <base64(key hash (4 bytes, big-endian) || Ed25519 signature (64 bytes))>\n
//
// where the dash is U+2014, the Ed25519 signature covers the body bytes, and
// key hash = first 4 bytes of SHA-256(<key name> || "\n" || 0x01 || public key).
// Keys are golang.org/x/mod/sumdb/note strings: the verifier key
// "<name>+<key hash hex>+<base64(0x01 || public key)>" and the secret signer
// key "PRIVATE+KEY+<name>+<key hash hex>+<base64(0x01 || seed)>". The key name
// must equal the checkpoint origin; VerifyCheckpoint enforces it.
package hashchain
