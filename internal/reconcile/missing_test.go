package reconcile_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
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

// countingStore counts the objects read from a store (Get and GetInto).
type countingStore struct {
	evidence.Store
	reads atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	s.reads.Add(1)
	return s.Store.Get(ctx, sum)
}

func (s *countingStore) GetInto(ctx context.Context, sum hashchain.Hash, buf []byte) ([]byte, error) {
	s.reads.Add(1)
	if g, ok := s.Store.(evidence.GetIntoer); ok {
		return g.GetInto(ctx, sum, buf)
	}
	return s.Store.Get(ctx, sum) // S3
}

// Parallelism is the wrapped store's (the S3 store's 16).
func (s *countingStore) Parallelism() int { return evidence.Parallelism(s.Store) }

// TestMissingSkipsCheckedOpenings: Missing gives the ids, timestamps and
// seqs Captures gives; it reads no opening of a capture Conversation
// returned (read and checked then), and opens and checks any other as
// Captures does — a wrong opening still fails. ConversationBrief gives
// Conversation's captures in brief and reads no opening.
func TestMissingSkipsCheckedOpenings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var es []leaf.Entry
	for i := range 40 {
		d := &leaf.MessageDetail{ContentSHA256: genesys.ContentHash(fmt.Sprint("text ", i)), From: "+4915700000000", To: "+4915711111111",
			Direction: "inbound", MessengerType: "whatsapp"}
		msg := fmt.Sprintf("%032x", i)
		o := &leaf.Opening{MessageID: msg, Salt: sha256.Sum256(fmt.Append(nil, i)), Fields: map[string]string{
			"content_sha256": d.ContentSHA256, "from": d.From, "provider_message_id": "", "to": d.To}}
		if i == 39 {
			// The opening of another message: a capture that cannot be opened.
			o.MessageID = "someone else"
		}
		ref, err := st.Put(ctx, o.Encode())
		if err != nil {
			t.Fatal(err)
		}
		d.SetCommitments(o, ref.Sum)
		raw, _ := leaf.EncodeDetail(d)
		es = append(es, leaf.Entry{Kind: leaf.KindMessage, ConversationID: fmt.Sprintf("conv-%d", i/10), MessageID: msg,
			PayloadSHA256: hashchain.Hash{1}, Detail: raw,
			Compliance: &leaf.Compliance{AuditRefs: []string{}, OriginalTimestamp: fmt.Sprintf("2024-03-01T10:00:%02d.5Z", i)}})
	}
	out, err := l.Append(ctx, es...)
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	x := &reconcile.LedgerIndex{L: l, Evidence: cs}
	conv0, err := x.Conversation(ctx, "conv-0") // seqs of out[0:10]
	if err != nil || len(conv0) != 10 {
		t.Fatalf("Conversation: %d captures, %v", len(conv0), err)
	}
	brief := func(c diff.Captured) [4]string {
		return [4]string{c.ConversationID, c.MessageID, c.Timestamp, fmt.Sprint(c.Seq)}
	}
	var seqs []uint64
	for _, e := range out[:20] {
		seqs = append(seqs, e.Seq)
	}
	var viaCaptures, viaMissing [][4]string
	if err := x.Captures(ctx, seqs, func(c diff.Captured) error { viaCaptures = append(viaCaptures, brief(c)); return nil }); err != nil {
		t.Fatal(err)
	}
	before := cs.reads.Load()
	if err := x.Missing(ctx, seqs, func(c diff.Captured) error { viaMissing = append(viaMissing, brief(c)); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaMissing, viaCaptures) || len(viaMissing) != 20 || viaMissing[3][2] != "2024-03-01T10:00:03.500Z" {
		t.Errorf("Missing gave\n%v\nCaptures gave\n%v", viaMissing, viaCaptures)
	}
	if n := cs.reads.Load() - before; n != 10 {
		t.Errorf("Missing read %d openings; want 10 (those of conv-1, which Conversation did not load)", n)
	}
	// ConversationBrief: Conversation's captures in brief, no opening read,
	// even of the wrong one in conv-3.
	for _, conv := range []string{"conv-2", "conv-3"} {
		before := cs.reads.Load()
		brief3, err := (&reconcile.LedgerIndex{L: l, Evidence: cs}).ConversationBrief(ctx, conv)
		if err != nil || len(brief3) != 10 {
			t.Fatalf("ConversationBrief(%s): %d captures, %v", conv, len(brief3), err)
		}
		if n := cs.reads.Load() - before; n != 0 {
			t.Errorf("ConversationBrief(%s) read %d openings", conv, n)
		}
		full, err := x.Conversation(ctx, conv)
		if conv == "conv-3" {
			if err == nil {
				t.Error("Conversation(conv-3) opened a wrong opening")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range full {
			if brief(full[i]) != brief(brief3[i]) || brief3[i].ContentSHA256 != "" {
				t.Errorf("%s capture %d: brief %+v, full %+v", conv, i, brief3[i], full[i])
			}
		}
	}

	// A capture whose opening is wrong fails Missing as it fails Captures.
	bad := []uint64{out[39].Seq}
	errC := x.Captures(ctx, bad, func(diff.Captured) error { return nil })
	errM := x.Missing(ctx, bad, func(diff.Captured) error { return nil })
	if errC == nil || errM == nil || !strings.Contains(errM.Error(), "someone else") {
		t.Errorf("a wrong opening: Captures %v, Missing %v; want both to fail", errC, errM)
	}
}
