package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
)

// BenchmarkCheckErased checks the erased list of a production that
// names n erasure entries of a 100,000-entry ledger, each vouched for;
// each op is one check of the list. Every erasure entry is proved
// against the latest checkpoint: over the leaf hashes read once, n adds
// little; when each proof read them all again, each entry cost about as
// much as the whole check of one.
func BenchmarkCheckErased(b *testing.B) {
	for _, n := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("erasures=%d", n), func(b *testing.B) {
			ctx := context.Background()
			l, man := erasedLedger(b, 100_000, n, ledger.Options{})
			o := ProductionOptions{Ledger: l, VerifierKey: l.VerifierKey()}
			for b.Loop() {
				var r ProductionReport
				if err := r.checkErased(ctx, man, o); err != nil || len(r.Findings) != 0 {
					b.Fatalf("%v %v", err, r.Findings)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/erasure")
		})
	}
}

// erasedLedger is a ledger of size entries (messages, and erasures
// erasures each of one message, spread through it), opened with opts,
// with a checkpoint over all of it and one vouching for each erasure; and
// a production manifest listing each erased message.
func erasedLedger(tb testing.TB, size, erasures int, opts ledger.Options) (*ledger.Ledger, *production.Manifest) {
	tb.Helper()
	ctx := context.Background()
	l, key, err := ledger.Create(ctx, filepath.Join(tb.TempDir(), "custody.db"), "acme-v-smith", opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	man := &production.Manifest{}
	var vouch []uint64
	batch := make([]leaf.Entry, 0, 1000)
	flush := func() []leaf.Entry {
		out, err := l.Append(ctx, batch...)
		if err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
		return out
	}
	every := max((size-2*erasures)/erasures, 1)
	for i, n := 0, 0; n < size; i++ {
		conv := fmt.Sprintf("conv-%05d", i/50)
		batch = append(batch, erasedTestMessage(conv, i))
		n++
		if i%every != every/2 || len(vouch) == erasures || n == size {
			if len(batch) == cap(batch) {
				flush()
			}
			continue
		}
		msg := batch[len(batch)-1]
		detail, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{}, Messages: []string{msg.MessageID},
			Partial: []string{conv}, Erased: []string{}, Collateral: []string{}, Kept: []leaf.ErasedKept{}, Operator: "dpo", Reason: "DSR-1"})
		if err != nil {
			tb.Fatal(err)
		}
		batch = append(batch, leaf.Entry{Kind: leaf.KindErasure, Detail: detail})
		n++
		out := flush()
		m, e := out[len(out)-2], out[len(out)-1]
		man.Erased = append(man.Erased, production.Erased{ConversationID: conv, MessageID: m.MessageID, Seq: m.Seq,
			LeafHash: m.LeafHash.String(), Status: production.StatusErased, ErasureSeq: e.Seq})
		vouch = append(vouch, e.Seq)
	}
	if len(batch) > 0 {
		flush()
	}
	if len(vouch) != erasures {
		tb.Fatalf("%d erasures made, want %d", len(vouch), erasures)
	}
	if _, err := l.Checkpoint(ctx, key); err != nil {
		tb.Fatal(err)
	}
	for _, seq := range vouch {
		if _, err := l.CheckpointErasure(ctx, key, seq); err != nil {
			tb.Fatal(err)
		}
	}
	return l, man
}

// erasedTestMessage is the i-th message entry of conversation conv.
func erasedTestMessage(conv string, i int) leaf.Entry {
	payload := sha256.Sum256(fmt.Appendf(nil, "payload %s %d", conv, i))
	hold := false
	detail, _ := json.Marshal(map[string]any{"direction": "inbound", "messenger_type": "whatsapp",
		"content_sha256": fmt.Sprintf("%x", payload)})
	return leaf.Entry{
		Kind:           leaf.KindMessage,
		ConversationID: conv,
		MessageID:      fmt.Sprintf("%032x", i),
		RunID:          "run-0001",
		PayloadSHA256:  hashchain.Hash(payload),
		EvidenceSHA256: hashchain.Hash(sha256.Sum256([]byte("evidence " + conv))),
		Source: &leaf.Source{Method: "POST", Path: "/api/v2/conversations/messages/" + conv + "/messages/bulk",
			Status: 200, CorrelationID: "c0ffee00-1234-4abc-8def-0123456789ab"},
		Compliance: &leaf.Compliance{LegalHold: &hold, OriginalTimestamp: "2024-04-30T09:15:27.481Z"},
		Detail:     detail,
	}
}
