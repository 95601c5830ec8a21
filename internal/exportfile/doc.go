// Package exportfile reads old Genesys Recording API exports: where the
// files are (Source: a local folder or s3://bucket/prefix) and what is in
// them (Shape: the Genesys S3 layout, a customer's reshape, JSON Lines),
// down to each exported message's compliance fields in a comparable form
// (Message). It knows nothing of what custody captured: internal/diff
// compares the messages it reads with the ledger's captures.
//
// The name says what it owns — the files of an export, not the export
// verb (internal/export, which captures from Genesys) nor the diff.
//
// Each shape is one file (shape_*.go) and one row of shapes (shape.go);
// the readers they share are the encoding/json reference (parse.go) and
// a strict fast path beside it (fast.go, reading through
// internal/jsonscan), which FuzzFastPath holds to the reference item for
// item. No JSON is read here by hand: what is not encoding/json is
// jsonscan.
//
// A folder is walked one name at a time, never through a symbolic link
// (folder.go): on Linux by bare descriptors (folder_linux.go), elsewhere
// through os.Root, the portable walk and the reference TestWalkKinds
// holds the other to.
//
// Everything in an export is hostile: a file that cannot be read or
// parsed, or whose name would escape the export's root, becomes a
// Problem and reading goes on. Files are streamed one message at a time;
// memory does not grow with a file's size.
package exportfile
