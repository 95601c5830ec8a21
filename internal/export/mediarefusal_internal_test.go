package export

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestNotServed: every way a storage host refuses an url (S3's, CloudFront's,
// an empty body, 410, S3's 400 ExpiredToken: any 4xx but 408 and 429)
// sends the attachment to a fresh url or the Recordings service,
// whatever the words; other failures do not. Before, only a 410 or a body
// saying "expired" did, and then only 403, 404 and 410.
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
		"400 token sent to the host":     {&fetch.APIError{Status: 400, Body: genesys.ErrorBody{Code: "InvalidArgument"}}, true},
		"S3 400 ExpiredToken":            {&fetch.APIError{Status: 400, Body: genesys.ErrorBody{Code: "ExpiredToken", Message: "The provided token has expired."}}, true},
		"401":                            {&fetch.APIError{Status: 401}, true},
		"429":                            {&fetch.APIError{Status: 429}, false},
		"408":                            {&fetch.APIError{Status: 408}, false},
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

// TestRetryRuleRecordingsNeverAsked: past the messages API's 30 days, an
// attachment recorded refused or expired whose reason names no answer of
// the Recordings service (a refusal export did not take for one, as S3's
// 400 ExpiredToken before), or says its recording "names no copy of it"
// (as an export matching copies by their ids alone recorded: commit
// review 2, M2), is tried again, through that service, its answer then
// recorded (first); one the service had no copy of is not,
// and one it refused, or whose copy's url was refused, is tried again
// without a new entry for nothing had. Before, only the last were.
func TestRetryRuleRecordingsNeverAsked(t *testing.T) {
	msg := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	now := msg.Add(60 * 24 * time.Hour)
	at := msg.Add(40 * 24 * time.Hour) // appended past the 30 days
	for name, tc := range map[string]struct {
		mr                          leaf.MediaRef
		again, viaRecordings, first bool
	}{
		"400 ExpiredToken, never asked": {leaf.MediaRef{Status: leaf.MediaRefused, Reason: "400 Bad Request: ExpiredToken: The provided token has expired."}, true, true, true},
		"a body not the attachment":     {leaf.MediaRef{Status: leaf.MediaRefused, Reason: "size mismatch: the storage host served 1 bytes, the API states 2 (contentSizeBytes): not the attachment, not kept"}, true, true, true},
		"no recording":                  {leaf.MediaRef{Status: leaf.MediaExpired, Reason: "403 Forbidden; " + recordingsNoRecording}, false, false, false},
		"no copy matched":               {leaf.MediaRef{Status: leaf.MediaExpired, Reason: "403 Forbidden; " + recordingsNoCopyMatched}, false, false, false},
		"no copy named, by ids alone":   {leaf.MediaRef{Status: leaf.MediaExpired, Reason: "403 Forbidden: AccessDenied: Request has expired; " + recordingsNoCopy}, true, true, true},
		"recordings refused":            {leaf.MediaRef{Status: leaf.MediaExpired, Reason: "403 Forbidden; " + recordingsForbidden}, true, true, false},
		"copy refused":                  {leaf.MediaRef{Status: leaf.MediaExpired, Reason: "403 Forbidden; " + recordingsCopyRefused}, true, true, false},
		"copy not the attachment":       {leaf.MediaRef{Status: leaf.MediaRefused, Reason: "size mismatch; " + recordingsCopyNotGood}, true, true, false},
		"too large":                     {leaf.MediaRef{Status: leaf.MediaTooLarge, Reason: "bigger"}, false, false, false},
	} {
		again, via, first := retryRule(now, msg.Format(time.RFC3339Nano), at, tc.mr)
		if again != tc.again || via != tc.viaRecordings || first != tc.first {
			t.Errorf("%s: retryRule = %v %v %v, want %v %v %v", name, again, via, first, tc.again, tc.viaRecordings, tc.first)
		}
	}
}

// TestRetryRuleMismatch: bytes kept as sha256_mismatch (cut short in
// transit) are downloaded again by a later run — through the messages
// API within the 30 days, the Recordings service after them — never
// first (the bytes kept stay recorded unless good ones are had); not
// when the stated sha256 reads as no digest, which no bytes match, nor
// when a later run was served the very same bytes (L1).
// Before, a mismatch was never tried again.
func TestRetryRuleMismatch(t *testing.T) {
	msg := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	mm := leaf.MediaRef{Status: leaf.MediaSHA256Mismatch, Reason: "the downloaded bytes do not have the sha256 the API states"}
	for name, tc := range map[string]struct {
		now, at                     time.Time
		mr                          leaf.MediaRef
		again, viaRecordings, first bool
	}{
		"within the 30 days":         {msg.Add(10 * 24 * time.Hour), msg.Add(24 * time.Hour), mm, true, false, false},
		"past them, captured before": {msg.Add(40 * 24 * time.Hour), msg.Add(24 * time.Hour), mm, true, true, false},
		"past them, captured after":  {msg.Add(60 * 24 * time.Hour), msg.Add(40 * 24 * time.Hour), mm, true, true, false},
		"unreadable stated sha256":   {msg.Add(10 * 24 * time.Hour), msg.Add(24 * time.Hour), leaf.MediaRef{Status: leaf.MediaSHA256Mismatch, Reason: mediaSHA256Unreadable}, false, false, false},
		"the same bytes again":       {msg.Add(10 * 24 * time.Hour), msg.Add(24 * time.Hour), leaf.MediaRef{Status: leaf.MediaSHA256Mismatch, Reason: mediaMismatchAgain}, false, false, false},
		"the same bytes, past them":  {msg.Add(60 * 24 * time.Hour), msg.Add(40 * 24 * time.Hour), leaf.MediaRef{Status: leaf.MediaSHA256Mismatch, Reason: mediaMismatchAgain + "; " + recordingsMatchedByName}, false, false, false},
	} {
		again, via, first := retryRule(tc.now, msg.Format(time.RFC3339Nano), tc.at, tc.mr)
		if again != tc.again || via != tc.viaRecordings || first != tc.first {
			t.Errorf("%s: retryRule = %v %v %v, want %v %v %v", name, again, via, first, tc.again, tc.viaRecordings, tc.first)
		}
	}
}

// TestMatchProps: a copy whose ids differ is a candidate when it states
// the attachment's file name, and its type and size where both state one
// (a copy stating no type, or no size as a template's header media,
// matching any; an attachment stating no size, contentSizeBytes being
// optional, matching copies of any size), each url once. Two alike are
// both candidates, for the stated sha256 to settle (copyAmong); another
// type or size, or an attachment stating no name, match none. Before
// (commit review 2, M3), an attachment stating no size matched only
// copies stating none, and a header media stating no size found its own
// url twice and was refused as ambiguous.
func TestMatchProps(t *testing.T) {
	var rc recordingCopies
	rc.add(copyProps{"IMG_1.jpg", 100, "image/jpeg"}, "u-jpeg")
	rc.add(copyProps{"voice.ogg", 200, ""}, "u-ogg")       // no type stated (not an image)
	rc.add(copyProps{"twice.pdf", 300, ""}, "u-twice-1")   // the same file sent twice
	rc.add(copyProps{"twice.pdf", 300, ""}, "u-twice-2")   //
	rc.add(copyProps{"header.png", 0, "image/png"}, "u-h") // a template's header media
	rc.add(copyProps{"header.png", 0, "image/png"}, "u-h") // named twice in the transcript
	rc.add(copyProps{"", 5, "image/png"}, "u-noname")      // not enough to match by
	for name, tc := range map[string]struct {
		a    genesys.ContentAttachment
		want []string
	}{
		"unique":                   {genesys.ContentAttachment{Filename: "IMG_1.jpg", ContentSizeBytes: 100, Mime: "image/jpeg"}, []string{"u-jpeg"}},
		"type with parameters":     {genesys.ContentAttachment{Filename: "IMG_1.jpg", ContentSizeBytes: 100, Mime: "Image/JPEG; q=1"}, []string{"u-jpeg"}},
		"another type":             {genesys.ContentAttachment{Filename: "IMG_1.jpg", ContentSizeBytes: 100, Mime: "image/png"}, nil},
		"another size":             {genesys.ContentAttachment{Filename: "IMG_1.jpg", ContentSizeBytes: 101, Mime: "image/jpeg"}, nil},
		"API states no size":       {genesys.ContentAttachment{Filename: "IMG_1.jpg", Mime: "image/jpeg"}, []string{"u-jpeg"}},
		"API states no type":       {genesys.ContentAttachment{Filename: "IMG_1.jpg", ContentSizeBytes: 100}, []string{"u-jpeg"}},
		"copy states no type":      {genesys.ContentAttachment{Filename: "voice.ogg", ContentSizeBytes: 200, Mime: "audio/ogg"}, []string{"u-ogg"}},
		"two alike":                {genesys.ContentAttachment{Filename: "twice.pdf", ContentSizeBytes: 300, Mime: "application/pdf"}, []string{"u-twice-1", "u-twice-2"}},
		"header media":             {genesys.ContentAttachment{Filename: "header.png", ContentSizeBytes: 42, Mime: "image/png"}, []string{"u-h"}},
		"header media, no size":    {genesys.ContentAttachment{Filename: "header.png", Mime: "image/png"}, []string{"u-h"}},
		"no name":                  {genesys.ContentAttachment{ContentSizeBytes: 5, Mime: "image/png"}, nil},
		"another name, same props": {genesys.ContentAttachment{Filename: "IMG_2.jpg", ContentSizeBytes: 100, Mime: "image/jpeg"}, nil},
	} {
		if got := rc.matchProps(&tc.a); !slices.Equal(got, tc.want) {
			t.Errorf("%s: matchProps = %q, want %q", name, got, tc.want)
		}
	}
}

// TestCopyAmong: of copies alike by what they state, the one whose bytes
// have the sha256 the API states is taken, each downloaded once at most;
// with no sha256 stated (or one that reads as no digest) none is taken
// and none downloaded, the reason saying why (final); with none of the
// stated sha256, the reason says so (tried again by a later run); a
// failure that may pass is the conversation's (commit review 2, M3).
func TestCopyAmong(t *testing.T) {
	bodies := map[string]string{"/one": "the first file", "/two": "the second one", "/other": "another file.."}
	var calls atomic.Int64
	var fail atomic.Bool
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, bodies[req.URL.Path])
	}))
	defer media.Close()
	c, err := fetch.New(fetch.Config{ClientID: "id", ClientSecret: "secret", APIURL: "http://127.0.0.1:1", LoginURL: "http://127.0.0.1:1",
		Rate: 1e9, Backoff: func(int) time.Duration { return time.Millisecond }, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{d: Deps{Client: c}, o: Options{Log: slog.New(slog.DiscardHandler)}}
	urls := []string{media.URL + "/one", media.URL + "/two", media.URL + "/other"}
	sum := func(s string) string { return fetch.SHA256Hex([]byte(s)) }
	for name, tc := range map[string]struct {
		sha256    string
		fail      bool
		want      string // the body taken
		none      string
		wantErr   bool
		wantCalls int64
	}{
		"the second":          {sha256: sum("the second one"), want: "the second one", wantCalls: 2},
		"the first":           {sha256: sum("the first file"), want: "the first file", wantCalls: 1},
		"none of it":          {sha256: sum("not served"), none: recordingsCopiesNoneGood, wantCalls: 3},
		"no sha256 stated":    {none: recordingsCopiesAlike},
		"sha256 not a digest": {sha256: "nope", none: recordingsCopiesAlike},
		"host failing":        {sha256: sum("the second one"), fail: true, wantErr: true, wantCalls: 2},
	} {
		calls.Store(0)
		fail.Store(tc.fail)
		a := &genesys.ContentAttachment{ID: "a", Filename: "f.pdf", Mime: "application/pdf", Sha256: tc.sha256}
		resp, none, err := r.copyAmong(context.Background(), &recordingCopies{}, urls, a, expectOf(a))
		switch {
		case tc.wantErr != (err != nil):
			t.Errorf("%s: err %v", name, err)
		case tc.want != "" && (resp == nil || string(resp.Body) != tc.want):
			t.Errorf("%s: took %v, want %q", name, resp, tc.want)
		case tc.want == "" && resp != nil:
			t.Errorf("%s: took %q, want none", name, resp.Body)
		case tc.none == "" && none != "" || !strings.HasPrefix(none, tc.none):
			t.Errorf("%s: none %q, want %q", name, none, tc.none)
		case calls.Load() != tc.wantCalls:
			t.Errorf("%s: %d downloads, want %d", name, calls.Load(), tc.wantCalls)
		}
	}
	// What none served is said, the same for the same bodies in any
	// order, for a later run to stop at (commit review 4, M1).
	fail.Store(false)
	a := &genesys.ContentAttachment{ID: "a", Filename: "f.pdf", Mime: "application/pdf", Sha256: sum("not served")}
	_, none, _ := r.copyAmong(context.Background(), &recordingCopies{}, urls, a, expectOf(a))
	_, again, _ := r.copyAmong(context.Background(), &recordingCopies{}, []string{urls[2], urls[0], urls[1]}, a, expectOf(a))
	_, other, _ := r.copyAmong(context.Background(), &recordingCopies{}, urls[:2], a, expectOf(a))
	if !strings.Contains(none, servedMark) || none != again || other == none {
		t.Errorf("none served: %q, in another order %q, of two %q", none, again, other)
	}
	// Many alike, a sha256 stated: each downloaded in turn, only its
	// digest kept, until the one of it (before, more than 8 were never
	// downloaded, none taken: review-commits4 L1).
	var many []string
	for i := range 11 {
		many = append(many, fmt.Sprintf("%s/other?copy=%d", media.URL, i))
	}
	many = append(many, media.URL+"/two")
	calls.Store(0)
	a = &genesys.ContentAttachment{ID: "a", Filename: "f.pdf", Mime: "application/pdf", Sha256: sum("the second one")}
	resp, none, err := r.copyAmong(context.Background(), &recordingCopies{}, many, a, expectOf(a))
	if err != nil || resp == nil || string(resp.Body) != "the second one" || calls.Load() != int64(len(many)) {
		t.Fatalf("%d alike, the last of the sha256 stated: took %v, err %v, %d downloads, none %q", len(many), resp, err, calls.Load(), none)
	}
	// Past the download budget, none more is downloaded: the reason says
	// how many were, not that no sha256 is stated, and a later run tries
	// again.
	defer func(b int64) { copyBudgetBytes = b }(copyBudgetBytes)
	copyBudgetBytes = 20 // about two of the bodies served
	calls.Store(0)
	resp, none, err = r.copyAmong(context.Background(), &recordingCopies{}, many, a, expectOf(a))
	if resp != nil || err != nil || calls.Load() != 2 || strings.Contains(none, "no sha256 stated") || !strings.Contains(none, recordingsCopiesTooMany) || !strings.Contains(none, "(12 copies, 2 downloaded within") {
		t.Fatalf("past the budget: took %v, err %v, %d downloads, none %q", resp, err, calls.Load(), none)
	}
	again2, _, _ := retryRule(time.Now(), time.Now().Add(-60*24*time.Hour).Format(time.RFC3339Nano), time.Now().Add(-time.Hour), leaf.MediaRef{Status: leaf.MediaExpired, Reason: "403 Forbidden; " + none})
	if !again2 {
		t.Fatalf("%q not tried again", none)
	}
}

// TestExpiry: of the refusals that send an attachment to a fresh url or
// the Recordings service (notServed), those of a lapsed or removed url
// are its expiry past the 30 days; another 4xx is recorded refused, with
// its status (commit review 2, L3).
func TestExpiry(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"S3 403 Request has expired":   {&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: "Request has expired"}}, true},
		"CloudFront 403 Access denied": {&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: "Access denied"}}, true},
		"403 empty body":               {&fetch.APIError{Status: 403}, true},
		"S3 404 NoSuchKey":             {&fetch.APIError{Status: 404, Body: genesys.ErrorBody{Code: "NoSuchKey"}}, true},
		"410":                          {&fetch.APIError{Status: 410}, true},
		"S3 400 ExpiredToken":          {&fetch.APIError{Status: 400, Body: genesys.ErrorBody{Code: "ExpiredToken", Message: "The provided token has expired."}}, true},
		"400 InvalidArgument":          {&fetch.APIError{Status: 400, Body: genesys.ErrorBody{Code: "InvalidArgument", Message: "Unsupported Authorization Type"}}, false},
		"401":                          {&fetch.APIError{Status: 401}, false},
		"405":                          {&fetch.APIError{Status: 405}, false},
		"429 saying expired":           {&fetch.APIError{Status: 429, Body: genesys.ErrorBody{Message: "expired"}}, false},
		"network":                      {fmt.Errorf("dial tcp: connection refused"), false},
	} {
		if got := expiry(tc.err); got != tc.want {
			t.Errorf("%s: expiry = %v, want %v", name, got, tc.want)
		}
	}
}
