package diff

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// TestS3HostileObjects puts hostile keys and contents in a real S3 server.
// (versitygw resolves "..", "." and "//" in keys on write, so the listing
// cannot show those; TestS3Entry covers them as real S3 would list them.)
func TestS3HostileObjects(t *testing.T) {
	srv := s3test.Start(t)
	c := srv.Client(t)
	bucket := srv.Bucket(t, false)
	ctx := context.Background()
	objects := map[string]string{
		"exp/a\\..\\b.json":                         `{"conversationId":"c1","messages":[]}`,
		"exp/q?.json":                               `{}`,
		"exp/h#.json":                               `{}`,
		"exp/../outside.json":                       `{"conversationId":"c1","messages":[{"id":"m1"}]}`, // lands outside the prefix
		"exp/conversation_id=c1/r.json":             "\xEF\xBB\xBF" + `{"messagingTranscript":[{"id":"m1","timestamp":"2024-03-01T10:00:00.123Z","messageText":"Héllo\nworld","from":"+4411"},{"id":"m2",`,
		"exp/conversation_id=c1/r_metadata.json":    `{"conversationId":"c1"}`,
		"exp/lines.jsonl":                           `{"conversation_id":"c1","message_id":"m1"}` + "\n" + strings.Repeat("x", 3000) + "\n",
		"exp/empty.json":                            ``,
		"exp/audio.ogg":                             "OggS\x00",
		"exp/folder/":                               ``,
		"exp/conversation_id=c2/deep/er/wrong.json": `{"messagingTranscript":[1]}`,
	}
	for k, v := range objects {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte(v))})
		if err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	got, s := runSource(t, exportfile.NewS3Source(c, bucket, "exp"), oneCapture(), Options{MaxLineBytes: 1024})
	want := map[string]string{
		`a\\..\\b.json`:                         `unsafe name: character '\\'`, // shown with each \ doubled (SafeDisplay)
		"q?.json":                               "unsafe name: character '?'",
		"h#.json":                               "unsafe name: character '#'",
		"conversation_id=c1/r.json":             "truncated",
		"lines.jsonl":                           "line 2: longer than 1024 bytes",
		"empty.json":                            "empty file",
		"audio.ogg":                             "not JSON",
		"conversation_id=c2/deep/er/wrong.json": "messagingTranscript[0]: a JSON number",
	}
	seen := map[string]bool{}
	for _, f := range got {
		if strings.Contains(f.File, "outside") {
			t.Errorf("read an object outside the prefix: %+v", f)
		}
		if f.Kind != finding.FileUnreadable {
			continue
		}
		sub, ok := want[f.File]
		if !ok || !strings.Contains(f.Detail, sub) {
			t.Errorf("unexpected finding %+v", f)
		}
		seen[f.File] = true
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no file_unreadable finding for %q", name)
		}
	}
	// m1 was read before the truncation (BOM and all) and matches the
	// capture but for the fields the genesys shape cannot hold (stated
	// once for the export); the JSON Lines copy of it is a duplicate. c2,
	// never captured, no message of it readable, is a gap for refetch.
	wantKeys := []key{
		{finding.FormatLacks, "", "", finding.FieldLegalHold}, {finding.FormatLacks, "", "", finding.FieldAuditTrailID},
		{finding.Duplicated, "c1", "m1", ""}, {finding.NotCaptured, "c2", "", ""},
	}
	var other []Finding
	for _, f := range got {
		if f.Kind != finding.FileUnreadable {
			other = append(other, f)
		}
	}
	if d := diffKeys(wantKeys, keysOf(other)); d != "" {
		t.Errorf("%s\n%+v", d, other)
	}
	// Every object but the folder marker and the one outside the prefix.
	if s.Files != len(objects)-2 {
		t.Errorf("files = %d, want %d", s.Files, len(objects)-2)
	}
}

// An S3 prefix with no objects (or only folder markers) is an error, never
// a complete export.
func TestS3EmptyPrefix(t *testing.T) {
	srv := s3test.Start(t)
	c := srv.Client(t)
	bucket := srv.Bucket(t, false)
	ctx := context.Background()
	// A neighbour prefix and a folder marker: neither is an export file.
	for _, k := range []string{"exp-old/x.json", "exp/folder/"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(nil)}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for _, prefix := range []string{"exp", "nothing-here"} {
		_, err := Run(ctx, exportfile.NewS3Source(c, bucket, prefix), oneCapture(), Options{}, func(Finding) error { return nil })
		if !errors.Is(err, ErrEmptySource) || !strings.Contains(err.Error(), "s3://"+bucket+"/"+prefix) {
			t.Errorf("prefix %s: err = %v, want ErrEmptySource naming the prefix", prefix, err)
		}
	}
}
