// Package matter opens what every custody command needs: a matter's
// ledger, its evidence store and its keys. Commands keep flags, output and
// exit codes; the policy of where things are and what may be written is
// here, once (restic's OpenRepository plays this part there).
//
// A matter is a ledger file (custody.db) with its keys beside it
// (custody.key, the checkpoint signer key, mode 0600; custody.pub, the
// verifier key) and an evidence store: the one recorded in the ledger the
// first time a store was used, else evidence/ beside the ledger.
//
// # Read-only
//
// Open with Options.ReadOnly (verify, log, prove) opens nothing for
// writing and records nothing: the ledger is opened read-only
// (ledger.Options.ReadOnly), the evidence store is wrapped so that writes
// fail (evidence.ReadOnly), the evidence location is not recorded, and the
// signer key is not handed out. An explicit store location that differs
// from the recorded one is allowed read-only (a copied matter, an auditor's
// mirror), and refused for writing, so evidence is never split across two
// stores silently.
package matter
