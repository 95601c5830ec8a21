package verify

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestOpeningCheck: openingRead.check compares the opening's field values
// with the message's instead of encoding the derived opening; it must
// judge as the encoding did (the stored bytes equal to
// derive.Opening(md, salt).Encode()) and name each field that differs.
func TestOpeningCheck(t *testing.T) {
	md := &genesys.MessageData{ID: "m1", ProviderMessageID: "wamid.1", FromAddress: "+15550100", ToAddress: "+15550199",
		TextBody: "hello", Direction: "inbound", MessengerType: "whatsapp", Timestamp: "2026-01-02T03:04:05.000Z"}
	salt := sha256.Sum256([]byte("salt"))
	good := derive.Opening(md, salt)
	cases := []struct {
		name  string
		edit  func(*leaf.Opening)
		wants []string // fields named by findings, in order
	}{
		{"same", func(*leaf.Opening) {}, nil},
		{"from", func(o *leaf.Opening) { o.Fields["from"] = "+15550000" }, []string{"opening.from"}},
		{"to and content", func(o *leaf.Opening) {
			o.Fields["to"] = ""
			o.Fields["content_sha256"] = strings.Repeat("0", 64)
		}, []string{"opening.content_sha256", "opening.to"}},
		{"provider id", func(o *leaf.Opening) { o.Fields["provider_message_id"] = "wamid.2" }, []string{"opening.provider_message_id"}},
	}
	for _, c := range cases {
		o := &leaf.Opening{MessageID: good.MessageID, Salt: good.Salt, Fields: map[string]string{}}
		for k, v := range good.Fields {
			o.Fields[k] = v
		}
		c.edit(o)
		b := o.Encode()
		op := &openingRead{sum: hashchain.Hash(sha256.Sum256(b)), name: "x", bytes: b}
		e := &leaf.Entry{Seq: 7, MessageID: md.ID}
		seal, fs := op.check(e, md, derive.MessageDetail(md, []leaf.MediaRef{{ID: "att"}})) // media is not among the opened values
		if seal == nil || seal.Salt != salt || seal.Opening != op.sum {
			t.Fatalf("%s: seal %+v", c.name, seal)
		}
		// The reference: what the check did before, encode and compare.
		if same := bytes.Equal(derive.Opening(md, o.Salt).Encode(), b); same != (len(fs) == 0) {
			t.Fatalf("%s: encoded openings equal %v, findings %v", c.name, same, fs)
		}
		if len(fs) != len(c.wants) {
			t.Fatalf("%s: findings %v, want %v", c.name, fs, c.wants)
		}
		for i, f := range fs {
			if !strings.HasPrefix(f.Message, c.wants[i]+": the leaf has ") || *f.Seq != 7 {
				t.Fatalf("%s: finding %q, want %s", c.name, f.Message, c.wants[i])
			}
		}
	}
	// Another message's opening is refused before the fields.
	o := derive.Opening(&genesys.MessageData{ID: "m2"}, salt)
	b := o.Encode()
	if seal, fs := (&openingRead{bytes: b, name: "x"}).check(&leaf.Entry{Seq: 1, MessageID: "m1"}, md, derive.MessageDetail(md, nil)); seal != nil || len(fs) != 1 {
		t.Fatalf("another message's opening: %v %v", seal, fs)
	}
}

// TestOpeningOfAddedTextBody: the opening of a message whose evidence
// holds a textBody other than its normalizedMessage.text (no Genesys sent
// one: a proxy added it), written by a custody that read textBody first,
// fails opening.content_sha256 — the leaf does not commit to the
// message's text; one of a message Genesys sent (both equal) passes
// (docs/ledger-format.md, "The text of a message").
func TestOpeningOfAddedTextBody(t *testing.T) {
	salt := sha256.Sum256([]byte("salt"))
	for _, c := range []struct {
		name, textBody string
		wants          int
	}{{"as Genesys sent it", "the real text", 0}, {"a proxy's textBody", "FAKE TEXTBODY", 1}} {
		md := &genesys.MessageData{ID: "m1", TextBody: c.textBody, Direction: "inbound", Timestamp: "2026-01-02T03:04:05.000Z",
			NormalizedMessage: &genesys.NormalizedMessage{Text: "the real text"}}
		o := derive.Opening(md, salt)
		o.Fields["content_sha256"] = genesys.ContentHash(c.textBody) // what a capture reading textBody first wrote
		b := o.Encode()
		op := &openingRead{sum: hashchain.Hash(sha256.Sum256(b)), name: "x", bytes: b}
		_, fs := op.check(&leaf.Entry{Seq: 3, MessageID: md.ID}, md, derive.MessageDetail(md, nil))
		if len(fs) != c.wants || (c.wants > 0 && !strings.HasPrefix(fs[0].Message, "opening.content_sha256: the leaf has ")) {
			t.Errorf("%s: findings %v, want %d on opening.content_sha256", c.name, fs, c.wants)
		}
	}
}
