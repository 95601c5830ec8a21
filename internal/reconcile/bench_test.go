package reconcile_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// BenchmarkLedgerIndexEach is what format v3 costs the diff's ledger
// side: Each over the same captures written as v1 leaves (fields in
// clear) and as v3 leaves (commitments, each opened from its opening in
// a folder evidence store). Reported per message.
func BenchmarkLedgerIndexEach(b *testing.B) {
	const n = 4000
	for _, v3 := range []bool{false, true} {
		name := map[bool]string{false: "v1", true: "v3"}[v3]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			l, _, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), "m", ledger.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var es []leaf.Entry
			for i := range n {
				d := &leaf.MessageDetail{ContentSHA256: genesys.ContentHash(fmt.Sprint("text ", i)), From: "+4915700000000", To: "+4915711111111",
					Direction: "inbound", MessengerType: "whatsapp"}
				msg := fmt.Sprintf("%032x", i)
				if v3 {
					o := &leaf.Opening{MessageID: msg, Salt: sha256.Sum256(fmt.Append(nil, i)), Fields: map[string]string{
						"content_sha256": d.ContentSHA256, "from": d.From, "provider_message_id": "", "to": d.To}}
					ref, err := st.Put(ctx, o.Encode())
					if err != nil {
						b.Fatal(err)
					}
					d.SetCommitments(o, ref.Sum)
				}
				raw, _ := leaf.EncodeDetail(d)
				es = append(es, leaf.Entry{Kind: leaf.KindMessage, ConversationID: fmt.Sprintf("conv-%d", i/20), MessageID: msg,
					PayloadSHA256: hashchain.Hash{1}, Detail: raw,
					Compliance: &leaf.Compliance{AuditRefs: []string{}, OriginalTimestamp: "2024-03-01T10:00:00.000Z"}})
			}
			if _, err := l.Append(ctx, es...); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				x := &reconcile.LedgerIndex{L: l, Evidence: st}
				count := 0
				if err := x.Each(ctx, func(diff.Captured) error { count++; return nil }); err != nil || count != n {
					b.Fatal(err, count)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/message")
		})
	}
}
