package reconcile

import (
	"bytes"
	"os"
	"testing"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/genesys"
)

// TestMessageID: messageID reads a message's top-level id as
// derive.DecodeMessage does, or declines and leaves it to the decoder.
func TestMessageID(t *testing.T) {
	for _, tc := range []struct {
		raw string
		id  string
		ok  bool
	}{
		{`{"id":"m1","text":"x"}`, "m1", true},
		{` {"normalizedMessage":{"id":"n"},"id":"m2"}`, "m2", true},
		{`{"x":[{"id":"no"}],"id":"m3","y":{"id":"no"}}`, "m3", true},
		{`{"ID":"m1"}`, "", false},
		{`{"Id":"m1","id":"m2"}`, "", false},
		{`{"id":"a","id":"b"}`, "", false},
		{`{"id":"m\u0031"}`, "", false},
		{`{"id":5}`, "", false},
		{`{"text":"x"}`, "", false},
		{`{"id":"m1"`, "", false},
		{`[1]`, "", false},
	} {
		id, ok := messageID([]byte(tc.raw))
		if id != tc.id || ok != tc.ok {
			t.Errorf("messageID(%s) = %q %v, want %q %v", tc.raw, id, ok, tc.id, tc.ok)
		}
	}
	// Where it answers, it agrees with the decoder, on every message the
	// simulator serves in derive's samples.
	b, err := os.ReadFile("../derive/testdata/messages.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, raw := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		md, _, err := derive.DecodeMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := messageID(raw); ok {
			answered++
			if id != md.ID {
				t.Errorf("messageID %q, the decoder %q", id, md.ID)
			}
		}
	}
	if answered == 0 {
		t.Error("messageID answered for no sample message")
	}
}

// TestMayHaveMedia: a message mayHaveMedia declines has neither an
// attachment nor a template header, as the decoder reads it; on every
// sample message, and on keys encoding/json matches without regard to
// the case of their first letter.
func TestMayHaveMedia(t *testing.T) {
	b, err := os.ReadFile("../derive/testdata/messages.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	raws := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	raws = append(raws,
		[]byte(`{"id":"m1","normalizedMessage":{"content":[{"contentType":"Attachment","Attachment":{"id":"a1"}}]}}`),
		[]byte(`{"id":"m2","normalizedMessage":{"content":[{"contentType":"Notification","template":{"Header":{"type":"Media","media":{"id":"h2"}}}}]}}`),
		[]byte(`{"id":"m3","normalizedMessage":{"text":"no media"}}`))
	declined, withMedia := 0, 0
	for _, raw := range raws {
		md, _, err := derive.DecodeMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		has := len(genesys.AttachmentIDs(md)) > 0 || genesys.TemplateHeaderMedia(md) != nil
		if has {
			withMedia++
		}
		if !mayHaveMedia(raw) {
			declined++
			if has {
				t.Errorf("mayHaveMedia declines %s, which has media", md.ID)
			}
		}
	}
	if declined == 0 || withMedia < 3 {
		t.Errorf("%d messages declined, %d with media: the samples show nothing", declined, withMedia)
	}
}
