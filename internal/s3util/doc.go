// Package s3util holds the S3 plumbing that custody's packages share: parsing
// s3://bucket/prefix locations, building an aws-sdk-go-v2 client for AWS or
// an S3-compatible endpoint, listing and reading objects with a size limit,
// and classifying S3 errors (not found, precondition failed) so callers can
// match them with errors.Is(err, fs.ErrNotExist) instead of SDK types.
//
// It knows nothing about evidence, exports or ledgers; internal/evidence,
// the simulator and diff build on it.
package s3util
