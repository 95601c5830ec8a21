// Package ledger owns custody's SQLite ledger: the append-only entries and
// signed checkpoints that are the chain of custody, and the mutable run
// state (runs, run items, key/value state) that exports keep beside them.
// The byte-level format is specified in docs/ledger-format.md; the entries,
// their leaves and the proof file are internal/leaf's (leaf.Entry and so
// on), the hashing internal/hashchain's. This package stores and queries
// them.
//
// # Opening
//
// Create makes a new ledger (and its checkpoint signing key); Open opens an
// existing one and never creates a file. Open checks the SQLite header
// before SQLite writes anything, so a missing file (ErrNotExist), a file
// that is not a custody ledger (ErrNotLedger) and a ledger from a newer
// schema (ErrNewerSchema) are refused with the file untouched. A ledger
// custody may not write (an auditor's read-only copy) opens read-only.
//
// # Writing
//
// Update runs a function in one immediate transaction; through its Tx the
// function can Append entries and write run state (PutRun, PutRunItem,
// SetState), and all of it commits together. Append is Update with just
// entries. Appending validates each entry and computes its leaf
// (leaf.Entry.AppendLeaf: the RFC 8785 bytes of the entry object), leaf
// hash and chain link, and assigns the next sequence number.
// For idempotent re-export, LatestCaptures returns the last capture of
// each conversation and message id (a Capture): skip when its
// PayloadSHA256 is unchanged, append with Supersedes set to its Seq when it
// changed. Look a message up with its own conversation: one message id
// may be listed by two conversations, each a subject of its own, and
// Append refuses an entry that supersedes another conversation's capture
// (LatestCapture, by message id alone, may answer with that one).
//
//	err := l.Update(ctx, func(tx *ledger.Tx) error {
//		latest, err := tx.LatestCaptures([]string{msgID})
//		if err != nil { return err }
//		prev, found := latest[ledger.Capture{ConversationID: convID, MessageID: msgID}]
//		if found && prev.PayloadSHA256 == e.PayloadSHA256 { return nil }
//		if found { e.Supersedes = &prev.Seq }
//		if _, err := tx.Append(e); err != nil { return err }
//		return tx.PutRunItem(ledger.RunItem{RunID: run, ItemID: convID, Status: ledger.ItemDone})
//	})
//
// Checkpoint signs and stores a C2SP checkpoint of the whole ledger.
//
// # Reading and checking
//
// Head, Entry, Entries (streaming, in sequence order, with a Filter),
// EntriesByMessage, EntriesByConversation, Checkpoints; Prove builds a
// self-contained inclusion proof file (a leaf.Proof; leaf.VerifyProof
// checks one with just the verifier key), and ProveIn many, over the leaf
// hashes LeafHashes read once. Snapshot hands out the stored
// rows and checkpoints of one read transaction, unchecked: judging them is
// internal/verify's work (the store keeps only the checks it needs before
// it signs or proves: Checkpoint refuses an inconsistent ledger).
//
// Times are injected through Options.Now.
package ledger
