package s3util

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The hints name what the user sets: the flags every S3-reaching command
// shares (--s3-endpoint, --s3-region, --s3-profile; diff's
// --source-s3-… default to them) and the AWS SDK's environment.
const (
	hintCredentials = "set AWS_PROFILE (or --s3-profile) to a profile in ~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (docs/evidence.md, AWS credentials)"
	hintRefused     = "the S3 service refused these credentials or they lack permission on this bucket: check AWS_PROFILE (or --s3-profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	hintBucket      = "check the bucket name in the s3:// location, and that --s3-endpoint and --s3-region (or AWS_REGION) point where it lives"
	hintRegion      = "the bucket is in another region: set --s3-region (or AWS_REGION) to it"
	hintEndpoint    = "check --s3-endpoint (an S3-compatible store's URL, e.g. http://127.0.0.1:7070; leave it out for AWS S3) and the network"
	hintNoRegion    = "set --s3-region or AWS_REGION (e.g. eu-west-1)"
	hintProfile     = "--s3-profile (or AWS_PROFILE) names no profile in ~/.aws/config or ~/.aws/credentials"
)

// Error is an S3 failure as custody reports it: the S3 operation, the
// service's code and message without the SDK's wrapping (request ids,
// "operation error S3: …, https response error StatusCode: …"), and a
// hint naming the flag or environment variable to set. The SDK's error
// stays reachable with errors.As / errors.Is (Unwrap).
type Error struct {
	Op     string // the S3 operation, e.g. "HeadBucket"; "" when none was sent
	Code   string // the service's error code, e.g. "AccessDenied"; "" for a transport or credential failure
	Msg    string // what went wrong, in one line
	Status int    // the HTTP status, 0 if none
	hint   string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	if e.Code != "" {
		b.WriteString(e.Code)
		if e.Msg != "" && e.Msg != e.Code {
			b.WriteString(": " + e.Msg)
		}
	} else {
		b.WriteString(e.Msg)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	return b.String()
}

// Hint says what to set to fix the failure ("" if nothing in particular).
// cmd/custody prints it on its own line.
func (e *Error) Hint() string { return e.hint }

func (e *Error) Unwrap() error { return e.Err }

// Explain returns an error from the AWS SDK as an *Error with a hint;
// any other error (nil, cancellation, custody's own) is returned as is.
func Explain(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return err
	}
	e := &Error{Op: op.OperationName, Err: err, Msg: oneLine(op.Err)}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		e.Status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code, e.Msg = api.ErrorCode(), api.ErrorMessage()
		switch e.Code {
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch",
			"ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled",
			"XAdminUserNotFound": // versitygw's unknown access key id (with 404)
			e.hint = hintRefused
		case "NoSuchBucket":
			e.hint = hintBucket
		case "NotFound":
			if e.Op == "HeadBucket" {
				e.Code, e.hint = "NoSuchBucket", hintBucket
			}
		case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "MovedPermanently":
			e.hint = hintRegion
		}
		if e.hint == "" && e.Status == 403 {
			e.hint = hintRefused
		}
		if e.hint == "" && e.Status == 301 {
			e.hint = hintRegion
		}
		return e
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "get credentials") || strings.Contains(s, "failed to retrieve credentials") ||
		strings.Contains(s, "static credentials are empty") || strings.Contains(s, "get identity"):
		// Any status is the credential source's (the EC2 metadata
		// service), not S3's.
		e.Msg, e.hint, e.Status = "no AWS credentials found", hintCredentials, 0
	case strings.Contains(s, "Invalid region") || strings.Contains(s, "region not set") || strings.Contains(s, "invalid region"):
		e.Msg, e.hint = "no valid region", hintNoRegion
	default:
		var ne *net.OpError
		var dns *net.DNSError
		switch {
		case errors.As(err, &dns):
			e.Msg, e.hint = "cannot reach the S3 endpoint: no such host "+dns.Name, hintEndpoint
		case errors.As(err, &ne):
			addr := ""
			if ne.Addr != nil {
				addr = " " + ne.Addr.String()
			}
			e.Msg, e.hint = "cannot reach the S3 endpoint"+addr+": "+oneLine(ne.Err), hintEndpoint
		}
	}
	return e
}

// oneLine is err's text on one line, without the SDK's request ids.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	if i := strings.Index(s, ", RequestID:"); i >= 0 {
		s = s[:i]
	}
	return s
}
