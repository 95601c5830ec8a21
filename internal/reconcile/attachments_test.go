package reconcile_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestLedgerAttachmentsFromEvidence: the ledger index knows a capture's
// attachments from the message's evidence, not from the media custody
// downloaded (detail.media): a message whose attachment url had expired,
// one captured with --media=false, one whose attachment had no url at
// all are each known by their ids, and so is the template header media
// of each, custody having recorded media or not. Evidence no longer stored, or altered since
// (its bytes no longer what its address says), leaves them unknown: it
// decides nothing. Conversation, ConversationsBatch and Lookup agree.
func TestLedgerAttachmentsFromEvidence(t *testing.T) {
	ctx := context.Background()
	le := ledgertest.New(t, "m")
	att := func(id, url string) genesys.MessageContent {
		return genesys.MessageContent{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: id, URL: url, Mime: "image/jpeg"}}
	}
	header := func(id string) genesys.MessageContent {
		return genesys.MessageContent{ContentType: "Notification", Template: &genesys.NotificationTemplate{ID: "t", Language: "en_GB",
			Header: &genesys.TemplateHeader{Type: "Media", Media: &genesys.ContentAttachment{ID: id, URL: "https://media/" + id}}}}
	}
	msg := func(id string, cs ...genesys.MessageContent) genesys.MessageData {
		return genesys.MessageData{ID: id, Timestamp: "2024-03-01T10:00:00.000Z", FromAddress: "+1", Direction: "inbound", MessengerType: "whatsapp",
			NormalizedMessage: &genesys.NormalizedMessage{Text: "t " + id, Content: cs}}
	}
	type want struct {
		attachments      string
		attachmentsKnown bool
		header           string
		headerKnown      bool
		media            []leaf.MediaRef // detail.media, as export recorded it
		conv             string
		md               genesys.MessageData
	}
	cases := []want{
		{md: msg("m1", att("a1", "https://media/a1")), conv: "c1", attachments: "a1", attachmentsKnown: true, headerKnown: true,
			media: []leaf.MediaRef{{ID: "a1", Status: leaf.MediaExpired, Reason: "the url had expired"}}},
		{md: msg("m2", att("a2", "https://media/a2"), att("a0", "https://media/a0")), conv: "c1", attachments: "a0,a2", attachmentsKnown: true, headerKnown: true}, // --media=false
		{md: msg("m3", att("a3", "")), conv: "c1", attachments: "a3", attachmentsKnown: true, headerKnown: true},                                                   // no url: never downloaded
		{md: msg("m4", header("h4"), att("a4", "https://media/a4")), conv: "c1", attachments: "a4", attachmentsKnown: true, header: "h4", headerKnown: true,
			media: []leaf.MediaRef{{ID: "a4", Status: leaf.MediaExpired}, {ID: "h4", Status: leaf.MediaExpired}}},
		{md: msg("m5", header("h5")), conv: "c1", attachmentsKnown: true, header: "h5", headerKnown: true}, // --media=false: its header media named all the same
		{md: msg("m6"), conv: "c1", attachmentsKnown: true, headerKnown: true},
		{md: msg("m7", att("a7", "https://media/a7")), conv: "c2"}, // evidence not stored
		{md: msg("m8", att("a8", "https://media/a8")), conv: "c3"}, // evidence altered: a8 made a9
	}
	bodies := map[string][]byte{}
	for _, conv := range []string{"c1", "c2", "c3"} {
		var list genesys.TextMessageListing
		for _, c := range cases {
			if c.conv == conv {
				list.Entities = append(list.Entities, c.md)
			}
		}
		b, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		bodies[conv] = b
		if conv == "c2" { // c2's evidence is not stored
			continue
		}
		ref, err := le.Store.Put(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if conv == "c3" {
			f := filepath.Join(le.Dir, "evidence", evidence.Key(ref.Sum))
			os.Chmod(f, 0o644)
			if err := os.WriteFile(f, bytes.ReplaceAll(b, []byte("a8"), []byte("a9")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var entries []leaf.Entry
	for _, c := range cases {
		e, err := derive.Message(c.conv, &c.md, hashchain.Hash{1}, false, nil, c.media, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Matter, e.EvidenceSHA256 = "m", hashchain.Hash(sha256.Sum256(bodies[c.conv]))
		entries = append(entries, e)
	}
	if _, err := le.Ledger.Append(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	check := func(how string, got diff.Captured, w want) {
		t.Helper()
		if got.Attachments != w.attachments || got.AttachmentsKnown != w.attachmentsKnown || got.HeaderMedia != w.header || got.HeaderMediaKnown != w.headerKnown {
			t.Errorf("%s %s: attachments %q known %v, header media %q known %v; want %q %v, %q %v", how, got.MessageID,
				got.Attachments, got.AttachmentsKnown, got.HeaderMedia, got.HeaderMediaKnown, w.attachments, w.attachmentsKnown, w.header, w.headerKnown)
		}
	}
	byID := map[string]want{}
	for _, c := range cases {
		byID[c.md.ID] = c
	}
	x := &reconcile.LedgerIndex{L: le.Ledger, Evidence: le.Store}
	n := 0
	for _, conv := range []string{"c1", "c2", "c3"} {
		all, err := x.Conversation(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			n++
			check("Conversation", c, byID[c.MessageID])
		}
	}
	if err := (&reconcile.LedgerIndex{L: le.Ledger, Evidence: le.Store}).ConversationsBatch(ctx, []string{"c1", "c2", "c3"}, func(_ string, all []diff.Captured) {
		for _, c := range all {
			n++
			check("ConversationsBatch", c, byID[c.MessageID])
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		got, ok, err := (&reconcile.LedgerIndex{L: le.Ledger, Evidence: le.Store}).Lookup(ctx, c.conv, c.md.ID)
		if err != nil || !ok {
			t.Fatalf("Lookup %s: %v %v", c.md.ID, ok, err)
		}
		n++
		check("Lookup", got, c)
	}
	if n != 3*len(cases) {
		t.Errorf("%d captures checked, want %d", n, 3*len(cases))
	}
}
