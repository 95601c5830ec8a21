// Package folder is the evidence store backend for a local directory:
// locations DIR or file://DIR (scheme "file"). Objects are written to a
// temporary file, fsynced, made read-only and hard-linked to their address
// (a batch on Linux: renamed with RENAME_NOREPLACE), which never replaces
// an existing name; directories are fsynced. A batch
// (PutBatch) is made durable by two syncfs(2) calls on Linux (files, then
// links), by per-file and per-directory fsync elsewhere. Nothing
// is created until the first write, so read-only commands can open a store
// that has yet to receive evidence. No symbolic link below the folder is
// followed, by a read or a write: on Linux every name is opened with
// openat2 (RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH) relative to the folder,
// elsewhere a folder at a time with O_NOFOLLOW; an object reached through
// a link is refused as one that is a link. A folder cannot place legal holds: it
// refuses evidence.Options.LegalHold. Its one option, --folder-requests,
// is how many reads and writes work on many objects keeps in flight
// (evidence.Parallel): by default 32 on a network share (fsinfo), where
// each is a round trip, and 1 on a local disk.
package folder
