package export_test

import (
	"encoding/json"
	"testing"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/genesys"
)

// BenchmarkBulkParse is what capture does with one bulk response of a
// conversation's messages (issue 16, "parse once"): before, the listing
// was decoded typed (and thrown away), then split, then each message
// decoded with its payload hash; now it is split and each message decoded
// once. Both check the body is JSON first, as fetch does.
func BenchmarkBulkParse(b *testing.B) {
	e := newEnv(b, 5, "")
	var listing genesys.TextMessageListing
	for _, c := range whatsApp(e.srv.Org) {
		for _, m := range c.Messages {
			listing.Entities = append(listing.Entities, e.srv.ServedMessage(m))
		}
		if len(listing.Entities) >= 20 {
			break
		}
	}
	body, err := json.Marshal(listing)
	if err != nil {
		b.Fatal(err)
	}
	each := func(b *testing.B) {
		list, err := derive.MessagesIn(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, raw := range list {
			if _, _, err := derive.DecodeMessage(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("%d messages, %d bytes", len(listing.Entities), len(body))
	b.Run("typed-then-split", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
			var l genesys.TextMessageListing
			if err := json.Unmarshal(body, &l); err != nil {
				b.Fatal(err)
			}
			each(b)
		}
	})
	b.Run("split-once", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
			each(b)
		}
	})
}
