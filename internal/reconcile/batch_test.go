package reconcile_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// TestConversationsBatch holds ConversationsBatch to Conversation: for
// any set of conversations — v3 captures with their openings, captures
// superseded by later ones, another matter's, conversations the ledger
// lacks, the empty id, duplicates — it gives each exactly what
// Conversation gives, once; a wrong opening fails it as it fails
// Conversation; and what it loaded counts as loaded and checked for
// Missing (no opening read again).
func TestConversationsBatch(t *testing.T) {
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
	entry := func(i int, conv, msg, matter, text string, wrong bool) leaf.Entry {
		d := &leaf.MessageDetail{ContentSHA256: genesys.ContentHash(text), From: fmt.Sprint("+49157", i), To: "+4915711111111",
			Direction: "inbound", MessengerType: "whatsapp"}
		o := &leaf.Opening{MessageID: msg, Salt: sha256.Sum256(fmt.Append(nil, i)), Fields: map[string]string{
			"content_sha256": d.ContentSHA256, "from": d.From, "provider_message_id": "", "to": d.To}}
		if wrong {
			o.MessageID = "someone else" // the opening of another message
		}
		ref, err := st.Put(ctx, o.Encode())
		if err != nil {
			t.Fatal(err)
		}
		d.SetCommitments(o, ref.Sum)
		raw, _ := leaf.EncodeDetail(d)
		return leaf.Entry{Kind: leaf.KindMessage, Matter: matter, ConversationID: conv, MessageID: msg,
			PayloadSHA256: hashchain.Hash{1}, Detail: raw,
			Compliance: &leaf.Compliance{AuditRefs: []string{}, OriginalTimestamp: fmt.Sprintf("2024-03-01T10:00:%02d.5Z", i%60)}}
	}
	var es []leaf.Entry
	for i := range 60 {
		conv := fmt.Sprintf("conv-%d", i%6) // interleaved, as captures of several conversations are
		es = append(es, entry(i, conv, fmt.Sprintf("%s-msg-%d", conv, i/12), "m", fmt.Sprint("text ", i), conv == "conv-5" && i == 59))
	}
	es = append(es, entry(60, "conv-1", "other-matter", "n", "x", false))
	out, err := l.Append(ctx, es...)
	if err != nil {
		t.Fatal(err)
	}
	// A later capture of conv-2's first message supersedes the earlier ones.
	re := entry(61, "conv-2", "conv-2-msg-0", "m", "changed", false)
	re.Supersedes = &out[2].Seq
	if _, err := l.Append(ctx, re); err != nil {
		t.Fatal(err)
	}
	// The same openings in S3 (versitygw), read 64 at a time.
	srv := s3test.Start(t)
	s3st, err := s3store.Open(ctx, "s3://"+srv.Bucket(t, false)+"/m", s3store.Options{Client: srv.Client(t)}, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Walk(ctx, func(sum hashchain.Hash) error {
		b, err := st.Get(ctx, sum)
		if err == nil {
			_, err = s3st.Put(ctx, b)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	for _, convs := range [][]string{
		{"conv-0", "conv-1"},
		{"conv-2", "conv-1", "conv-0", "conv-4"},
		{"conv-3", "nowhere", "", "conv-3", "conv-0"},
		{"nowhere"},
		{""},
		{"conv-4", "conv-5"}, // conv-5 has a wrong opening
	} {
		for _, mode := range []string{"folder", "slow", "s3"} {
			t.Run(strings.Join(convs, ",")+"/"+mode, func(t *testing.T) {
				cs := &countingStore{Store: st}
				var store evidence.Store = cs
				var ps *parallelStore
				switch mode {
				case "slow":
					// Openings read several at a time, as from S3.
					ps = &parallelStore{countingStore: cs}
					store = ps
				case "s3":
					cs.Store = s3st
				}
				x := &reconcile.LedgerIndex{L: l, Evidence: store, Matter: "m"}
				got := map[string][]diff.Captured{}
				err := x.ConversationsBatch(ctx, convs, func(conv string, all []diff.Captured) {
					if _, twice := got[conv]; twice {
						t.Errorf("%s given twice", conv)
					}
					got[conv] = all
				})
				ref := &reconcile.LedgerIndex{L: l, Evidence: st, Matter: "m"}
				var refErr error
				for _, conv := range convs {
					if conv == "" {
						continue
					}
					want, err := ref.Conversation(ctx, conv)
					if err != nil {
						refErr = err
						if _, ok := got[conv]; ok {
							t.Errorf("%s: Conversation fails (%v), the batch gave it", conv, err)
						}
						continue
					}
					if g, ok := got[conv]; ok && !reflect.DeepEqual(g, want) {
						t.Errorf("%s: batch\n%+v\nConversation\n%+v", conv, g, want)
					} else if !ok && err == nil && refErr == nil && conv != "conv-5" {
						t.Errorf("%s: not given", conv)
					}
				}
				if _, ok := got[""]; ok {
					t.Error("the empty id was given")
				}
				if (err == nil) != (refErr == nil) || err != nil && !strings.Contains(err.Error(), "someone else") {
					t.Fatalf("batch error %v, Conversation's %v", err, refErr)
				}
				// Missing reads no opening of a capture the batch gave.
				var seqs []uint64
				for _, all := range got {
					for _, c := range all {
						seqs = append(seqs, c.Seq)
					}
				}
				slices.Sort(seqs)
				// One opening read for each capture that stands, none for
				// those superseded (conv-2's first message).
				if n := cs.reads.Load(); err == nil && n != int64(len(seqs)) {
					t.Errorf("%d openings read for %d captures", n, len(seqs))
				}
				if ps != nil && len(seqs) >= 8 && ps.reads.Most() < 2 {
					t.Errorf("a store of Parallelism %d had at most %d reads in flight", ps.Parallelism(), ps.reads.Most())
				}
				before := cs.reads.Load()
				if err := x.Missing(ctx, seqs, func(diff.Captured) error { return nil }); err != nil {
					t.Fatal(err)
				}
				if n := cs.reads.Load() - before; n != 0 {
					t.Errorf("Missing read %d openings of captures the batch checked", n)
				}
			})
		}
	}
}

// parallelStore is a store that says reads should be kept in flight 8
// at a time (evidence.Parallel, as S3 does) and records the most it had
// in flight at once; each read waits a little, as a round trip would.
type parallelStore struct {
	*countingStore
	reads benchutil.InFlight
}

func (s *parallelStore) Parallelism() int { return 8 }

func (s *parallelStore) GetInto(ctx context.Context, sum hashchain.Hash, buf []byte) ([]byte, error) {
	defer s.reads.Enter()()
	time.Sleep(2 * time.Millisecond)
	return s.countingStore.GetInto(ctx, sum, buf)
}
