package produce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// fixture builds, without HTTP, a matter of convs conversations of per
// messages each the way export records them: the conversation object,
// one bulk-messages body per conversation and the hold answer stored as
// evidence, a conversation entry and one message entry per message built
// by internal/derive, and a signed checkpoint. Every fifth conversation
// is under legal hold; every 25th message has a small image attachment,
// and every 25th from the 13th one the API gave no url for.
func fixture(tb testing.TB, dir string, convs, per int) (*ledger.Ledger, evidence.Store, string) {
	tb.Helper()
	return fixtureWith(tb, dir, convs, per, func(c, k int, mid string) []byte {
		if (c*per+k)%25 == 0 {
			return []byte(fmt.Sprintf("\x89PNG fake image of message %s", mid))
		}
		return nil
	})
}

// fixtureWith is fixture with the image attachment of message k of
// conversation c given by media (nil: none).
func fixtureWith(tb testing.TB, dir string, convs, per int, media func(c, k int, mid string) []byte) (*ledger.Ledger, evidence.Store, string) {
	tb.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	l, key, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), "bench", ledger.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	put := func(v any) hashchain.Hash {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		ref, err := st.Put(ctx, b)
		if err != nil {
			tb.Fatal(err)
		}
		return ref.Sum
	}
	var batch []leaf.Entry
	flush := func() {
		if _, err := l.Append(ctx, batch...); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for c := range convs {
		id := fmt.Sprintf("c%07d-0000-4000-8000-000000000000", c)
		cust := fmt.Sprintf("+4477009%05d", c%100000)
		biz := "+15550100"
		held := c%5 == 0
		mc := genesys.MessageConversation{ID: id, Participants: []genesys.MessageMediaParticipant{
			{ID: "p1", Name: "Customer " + fmt.Sprint(c), Purpose: "customer", Address: cust,
				FromAddress: &genesys.Address{Name: "Customer " + fmt.Sprint(c), AddressNormalized: cust},
				ToAddress:   &genesys.Address{Name: "Acme Support", AddressNormalized: biz}},
			{ID: "p2", Name: "Agent Smith", Purpose: "agent", User: &genesys.DomainEntityRef{ID: "u1", Name: "Agent Smith"}},
		}}
		var msgs []genesys.MessageData
		var refs [][]leaf.MediaRef
		for k := range per {
			mid := fmt.Sprintf("m%07d-%04d-4000-8000-000000000000", c, k)
			mc.Participants[k%2].Messages = append(mc.Participants[k%2].Messages, genesys.MessageDetails{MessageID: mid})
			t := start.Add(time.Duration(c)*time.Minute + time.Duration(k)*time.Second + 123*time.Millisecond)
			m := genesys.MessageData{ID: mid, Timestamp: t.Format(genesys.TimeLayout), MessengerType: "whatsapp", ConversationID: id,
				NormalizedMessage: &genesys.NormalizedMessage{ID: mid, Type: "Text", Text: fmt.Sprintf("message %d of conversation %d: Grüße, when does my order arrive?", k, c),
					Channel: &genesys.MessagingChannel{Platform: "Whatsapp", Time: t.Format(genesys.TimeLayout)}}}
			if k%2 == 0 {
				m.Direction, m.FromAddress, m.ToAddress = "inbound", cust, biz
			} else {
				m.Direction, m.FromAddress, m.ToAddress = "outbound", biz, cust
				m.CreatedBy = &genesys.UserRef{ID: "u1", Name: "Agent Smith"}
				m.NormalizedMessage.OriginatingEntity = "Human"
				m.NormalizedReceipts = []genesys.NormalizedMessage{{Type: "Receipt", Status: "Read", Channel: &genesys.MessagingChannel{Time: t.Add(time.Minute).Format(genesys.TimeLayout)}}}
			}
			var mrefs []leaf.MediaRef
			if img := media(c, k, mid); img != nil {
				ref, err := st.Put(ctx, img)
				if err != nil {
					tb.Fatal(err)
				}
				aid := "att-" + mid[:8]
				m.NormalizedMessage.Content = []genesys.MessageContent{{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{
					ID: aid, Mime: "image/png", Filename: "photo.png", URL: "https://media.example/" + aid}}}
				mrefs = []leaf.MediaRef{{ID: aid, SHA256: ref.Sum.String(), Evidence: ref.Sum.String()}}
			}
			if (c*per+k)%25 == 12 {
				// An attachment the API gave no url for: never downloaded.
				m.NormalizedMessage.Content = []genesys.MessageContent{{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{
					ID: "nourl-" + mid[:8], Mime: "image/png", Filename: "lost.png"}}}
			}
			msgs = append(msgs, m)
			refs = append(refs, mrefs)
		}
		convEv := put(mc)
		bulkEv := put(genesys.TextMessageListing{Entities: msgs})
		holdEv := put([]genesys.EntityRef{})
		facts, _, err := derive.ReadConversation(mustJSON(tb, mc))
		if err != nil {
			tb.Fatal(err)
		}
		facts.Held = held
		ce, err := derive.Conversation(facts, holdEv, []string{bulkEv.String()}, []string{}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		ce.RunID, ce.EvidenceSHA256 = "run-bench", convEv
		batch = append(batch, ce)
		for k := range msgs {
			md, payload, err := derive.DecodeMessage(mustJSON(tb, msgs[k]))
			if err != nil {
				tb.Fatal(err)
			}
			// A v3 leaf (ledger format v3): personal fields as salted
			// commitments, the opening kept as evidence; produce reads
			// content from the response bodies either way.
			var salt [leaf.SaltSize]byte
			copy(salt[:], fmt.Sprintf("salt %s", md.ID))
			op, err := st.Put(ctx, derive.Opening(md, salt).Encode())
			if err != nil {
				tb.Fatal(err)
			}
			e, err := derive.Message(id, md, payload, held, nil, refs[k], &derive.Seal{Salt: salt, Opening: op.Sum})
			if err != nil {
				tb.Fatal(err)
			}
			e.RunID, e.EvidenceSHA256 = "run-bench", bulkEv
			batch = append(batch, e)
		}
		if len(batch) >= 2000 {
			flush()
		}
	}
	flush()
	if _, err := l.Checkpoint(ctx, key); err != nil {
		tb.Fatal(err)
	}
	return l, st, key
}

func mustJSON(tb testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestWriteFixture writes the benchmark's matter for a run of the custody
// binary (peak RSS, docs/benchmarks.md) when CUSTODY_PRODUCE_FIXTURE names
// a new folder: CUSTODY_PRODUCE_FIXTURE=/tmp/pf go test -run TestWriteFixture.
func TestWriteFixture(t *testing.T) {
	dir := os.Getenv("CUSTODY_PRODUCE_FIXTURE")
	if dir == "" {
		t.Skip("set CUSTODY_PRODUCE_FIXTURE=DIR to write the benchmark matter (not a test)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, st, key := fixture(t, dir, 10_000, 10)
	defer l.Close()
	defer st.Close()
	if err := os.WriteFile(filepath.Join(dir, "custody.key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "custody.pub"), []byte(l.VerifierKey()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
