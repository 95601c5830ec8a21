// Package s3store is the evidence store backend for S3 and S3-compatible
// servers: locations s3://bucket/prefix (scheme "s3"). Every object is
// written with If-None-Match: "*" (never replacing a key) and
// x-amz-checksum-sha256 (the server refuses bytes that do not hash to it),
// and with evidence.Options.LegalHold an Object Lock legal hold.
//
// It owns its options (Options: endpoint, region, path style, credentials
// profile, or a ready client) and their --s3-… flags. It is named s3store,
// not s3, so that it never shadows the AWS SDK's s3 package it uses.
package s3store
