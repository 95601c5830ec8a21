// Package fsinfo tells whether a path lies on a file system whose reads
// wait on a network: NFS, SMB, 9p (WSL's Windows drives), Ceph, AFS and
// FUSE mounts (sshfs, rclone, s3fs, cloud drives); on Windows, network
// drives and UNC paths. Each open and read there is a round trip, so a
// reader of many small files must keep many in flight, where on a local
// disk whose blocks are cached each read costs only CPU and the readers
// already use every core. A portable matter handed to an auditor often
// sits on such a share.
//
// It also opens the files of a folder that must be regular files
// (OpenRegular) without blocking on a FIFO planted among them: the
// export and production readers share that check; ReadRegular reads a
// small file so, and ReadRegularNoFollow refuses a symbolic link as well,
// for files that must be in their folder (a production's manifest). It
// syncs a folder after a file was named in it (SyncDir), for the writers
// of matter files and reports. TryLock takes a lock file's flock without waiting: the
// matter's writer lock, and produce's lock on the folder it writes.
// IgnoringEINTR retries a bare system call a signal interrupted, for the
// readers and writers that make them (evidence folders, export walks,
// productions). On Linux ReadDirents lists a directory from its raw
// entries (getdents64), with no allocation an entry, for the walks that
// list many files: an export folder's, and the evidence store's shards.
package fsinfo
