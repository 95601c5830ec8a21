package export

import (
	"fmt"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
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

// TestUnrecorded: of a message's media without a url, those a capture
// that fetched media left out (made before export asked the Recordings
// service for them) are lacking; none are when no media was fetched
// (--media=false says that apart), nor those recorded.
func TestUnrecorded(t *testing.T) {
	md := &genesys.MessageData{NormalizedMessage: &genesys.NormalizedMessage{Content: []genesys.MessageContent{
		{Attachment: &genesys.ContentAttachment{ID: "with", URL: "https://media.example/with"}},
		{Attachment: &genesys.ContentAttachment{ID: "a"}},
		{Template: &genesys.NotificationTemplate{Header: &genesys.TemplateHeader{Media: &genesys.ContentAttachment{ID: "h"}}}},
		{Attachment: &genesys.ContentAttachment{ID: "b"}},
	}}}
	for name, tc := range map[string]struct {
		refs []leaf.MediaRef
		want []string
	}{
		"no media fetched": {nil, nil},
		"left out":         {[]leaf.MediaRef{{ID: "with"}}, []string{"a", "b", "h"}},
		"some recorded":    {[]leaf.MediaRef{{ID: "with"}, {ID: "b", Status: leaf.MediaRefused}}, []string{"a", "h"}},
		"all recorded":     {[]leaf.MediaRef{{ID: "with"}, {ID: "a"}, {ID: "b"}, {ID: "h"}}, nil},
	} {
		if got := unrecorded(md, tc.refs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: unrecorded = %v, want %v", name, got, tc.want)
		}
	}
	if !hasMedia(&genesys.MessageData{NormalizedMessage: &genesys.NormalizedMessage{Content: md.NormalizedMessage.Content[1:2]}}) {
		t.Error("hasMedia: a message whose one attachment has no url has none")
	}
}
