// Package s3test starts a real S3-compatible server (versitygw, posix
// backend, versioning on) on loopback for tests, so S3 code is exercised
// against real S3 semantics — checksums, conditional writes, Object Lock
// and legal hold — rather than a mock.
//
// The versitygw binary is looked up in $CUSTODY_TOOLS, then $PATH, then
// <repo root>/.tools/bin (`make test-deps` installs it there). When it is
// missing, tests that need it fail under CI (env CI set) and are skipped,
// loudly, elsewhere.
//
// One server is shared by every test in a test binary (started on first
// use, stopped when the last test using it ends); tests isolate themselves
// with distinct buckets (see Server.Bucket).
package s3test
