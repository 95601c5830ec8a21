package ledger

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// benchBatch is how many entries one Append carries, as an export commits
// a bulk page of messages.
const benchBatch = 1000

// BenchmarkAppend appends message-sized entries (~600-byte leaves) in
// batches of 1,000, one transaction per batch, synchronous=FULL, 50
// messages to a conversation. b.N counts entries. ids=random gives each
// message a random 32-hex-digit id, as Genesys does, and random
// conversation ids; ids=ordered gives shorter, increasing ids. The message
// index is keyed by a hash of the id (schema.sql), so it sees random keys
// either way; the conversation index sees ordered ones only in the second.
func BenchmarkAppend(b *testing.B) {
	for _, order := range []string{"random", "ordered"} {
		b.Run("ids="+order, func(b *testing.B) {
			f := newFixture(b)
			all := make([]leaf.Entry, b.N)
			for i := range all {
				conv := fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i / 50), byte(i / 50 >> 8), byte(i / 50 >> 16)}))[:32]
				all[i] = message(conv, i)
				if order == "ordered" {
					all[i].ConversationID = fmt.Sprintf("conv-%08d", i/50)
					all[i].MessageID = fmt.Sprintf("msg-%010d", i)
				}
			}
			leaf, _ := all[0].AppendLeaf(nil)
			b.ReportMetric(float64(len(leaf)), "leaf-bytes")
			b.ResetTimer()
			cpu0 := benchutil.CPUTime()
			for done := 0; done < b.N; done += benchBatch {
				if _, err := f.l.Append(f.ctx, all[done:min(done+benchBatch, b.N)]...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/entry")
		})
	}
}

// BenchmarkLatestCapture looks up the latest capture of random messages of
// a 100,000-entry ledger with random ids, as an export does for each
// message it fetches: through every level of the message index, then the
// entry's row. Each op is one lookup.
func BenchmarkLatestCapture(b *testing.B) {
	const size = 100_000
	f := newFixture(b)
	ids := make([]string, 0, size)
	batch := make([]leaf.Entry, benchBatch)
	for done := 0; done < size; done += benchBatch {
		for i := range batch {
			conv := fmt.Sprintf("%x", sha256.Sum256([]byte{byte((done + i) / 50), byte((done + i) / 50 >> 8)}))[:32]
			batch[i] = message(conv, done+i)
			ids = append(ids, batch[i].MessageID)
		}
		if _, err := f.l.Append(f.ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := ids[(i*7919)%size]
		if _, ok, err := f.l.LatestCapture(f.ctx, id); err != nil || !ok {
			b.Fatalf("LatestCapture(%s): %v %v", id, ok, err)
		}
		i++
	}
}
