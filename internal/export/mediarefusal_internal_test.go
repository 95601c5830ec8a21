package export

import (
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
)

// TestNotServed: every way a storage host refuses an url (S3's, CloudFront's,
// an empty body, 410) sends the attachment to a fresh url or the
// Recordings service, whatever the words; other failures do not. Before,
// only a 410 or a body saying "expired" did.
func TestNotServed(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"S3 403 Request has expired":     {&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: "Request has expired"}}, true},
		"S3 403 Access Denied":           {&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: "Access Denied"}}, true},
		"S3 404 NoSuchKey":               {&fetch.APIError{Status: 404, Body: genesys.ErrorBody{Code: "NoSuchKey", Message: "The specified key does not exist."}}, true},
		"CloudFront 403 Access denied":   {&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: "Access denied"}}, true},
		"403 empty body":                 {&fetch.APIError{Status: 403}, true},
		"410 empty body":                 {&fetch.APIError{Status: 410}, true},
		"wrapped 404":                    {fmt.Errorf("download: %w", &fetch.APIError{Status: 404}), true},
		"400 token sent to the host":     {&fetch.APIError{Status: 400, Body: genesys.ErrorBody{Code: "InvalidArgument"}}, false},
		"429":                            {&fetch.APIError{Status: 429}, false},
		"500":                            {&fetch.APIError{Status: 500}, false},
		"too large":                      {fmt.Errorf("download: %w", fetch.ErrTooLarge), false},
		"unusable url":                   {fmt.Errorf("fetch: download: %w: want an http(s) url without user info", fetch.ErrInvalidArgument), false},
		"network":                        {fmt.Errorf("dial tcp: connection refused"), false},
		"403 in words, not an API error": {fmt.Errorf("403 Forbidden: Request has expired"), false},
	} {
		if got := notServed(tc.err); got != tc.want {
			t.Errorf("%s: notServed = %v, want %v", name, got, tc.want)
		}
	}
}
