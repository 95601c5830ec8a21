// Package matter opens what every custody command needs: a matter's
// ledger, its evidence store and its keys. Commands keep flags, output and
// exit codes; the policy of where things are, what may be written and who
// may write is here, once (restic's OpenRepository plays this part there).
//
// # A matter is a folder
//
// A matter is the folder that holds its ledger (custody.db), the keys
// beside it (custody.key, the checkpoint signer key, mode 0600;
// custody.pub, the verifier key), its writer lock (custody.lock) and,
// normally, its evidence store (evidence/, a folder store) with the signed
// checkpoints custody writes there (evidence/checkpoints/). Copy the
// folder and the copy is a complete matter: it checks itself with no
// reference to where it came from.
//
// # Where the evidence is
//
// Options.Evidence (--evidence LOC) if given; else the location the
// ledger recorded; else evidence/ beside the ledger. A writable matter
// records the first store it uses (ledger state "evidence_url"):
//
//   - a folder inside the matter's folder: relative to it, slash-separated
//     ("evidence"), so that a copy of the folder finds its own store;
//   - anything else: its canonical form (an absolute path, s3://bucket/prefix).
//
// A recorded relative location is read relative to the ledger's folder,
// wherever it now is. An absolute folder (recorded by custody before
// locations were relative, or a store kept outside the matter) is used as
// recorded when it is inside the matter's folder, and a writer rewrites it
// in the relative form. When it is outside and the matter's folder holds
// a folder of the same last name (evidence/ beside a ledger that was
// moved or copied), that folder is used, with a warning (Options.Warn;
// stderr): read-only opens always; a writer only when the recorded folder
// no longer exists — while both exist a writer is refused
// (ErrEvidenceAmbiguous) until --evidence says which — and it then records
// the relative form. Otherwise the recorded location is used as it is.
//
// Another store given for writing is refused (ErrEvidenceElsewhere), so
// that one matter's evidence is never split across two stores silently,
// unless the recorded store no longer exists (a folder that is gone): then
// the given one is used and recorded, with a warning. A read-only open may
// check any store, and records nothing.
//
// # One writer at a time
//
// Open for writing (and Create) takes an exclusive flock(2) on the lock
// file beside the ledger (LockPath: custody.db → custody.lock) before the
// ledger is opened, and Close releases it after the ledger is closed. The
// lock file holds the holder's pid, host, command (Options.Command) and
// start time as JSON; a second writer fails at once with a *LockedError
// (errors.Is ErrLocked) that names them. The kernel releases an flock
// when its process ends however it ends, so a lock file left by a dead
// process never blocks; the file is never removed (two writers could then
// lock two different files), only emptied on release. A ledger that cannot
// be written is refused for writing (ErrNotWritable) before the lock file is
// created, so a read-only copy is never written to.
//
// # Read-only
//
// Open with Options.ReadOnly (verify, log, prove) takes no lock, never
// waits for one, opens nothing for writing and records nothing: the
// ledger is opened read-only (ledger.Options.ReadOnly: immutable only when
// nobody can write it, else SQLite's mode=ro with WAL locks, so a reader
// beside a running export sees one consistent snapshot; see ledger.Open),
// the evidence store is wrapped so that writes fail (evidence.ReadOnly),
// and the signer key is not handed out.
package matter
