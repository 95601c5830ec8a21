package produce_test

import (
	"context"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/produce"
)

// countingStore counts how the attachments (big) are read: whole (Get,
// GetInto) or streamed (Open).
type countingStore struct {
	evidence.Store
	big map[hashchain.Hash]bool

	mu             sync.Mutex
	whole, streams int
}

func (s *countingStore) count(sum hashchain.Hash, streamed bool) {
	if !s.big[sum] {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if streamed {
		s.streams++
	} else {
		s.whole++
	}
}

func (s *countingStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	s.count(sum, false)
	return s.Store.Get(ctx, sum)
}

func (s *countingStore) GetInto(ctx context.Context, sum hashchain.Hash, buf []byte) ([]byte, error) {
	s.count(sum, false)
	return s.Store.(evidence.GetIntoer).GetInto(ctx, sum, buf)
}

func (s *countingStore) Open(ctx context.Context, sum hashchain.Hash) (io.ReadCloser, error) {
	s.count(sum, true)
	return s.Store.(evidence.Opener).Open(ctx, sum)
}

// TestProduceBoundsHeldAttachments produces a conversation whose
// attachments weigh many times the bound on what a conversation holds in
// memory, with the bound lowered: nothing beyond it is held (what is
// spilled, to temporary files left nowhere, is read back instead), no
// attachment is read from the store whole, and the production is the
// same, byte for byte, as the one made with them all in memory. Bounds
// of 0 (nothing held) up to the default cover an attachment held or
// spilled, the zip held or spilled and the .rsmf file built whole or
// written in pieces.
func TestProduceBoundsHeldAttachments(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	var total int
	l, st, key := fixtureWith(t, dir, 3, 12, func(c, k int, mid string) []byte {
		var n int
		switch {
		case c == 0: // every message, 1 to about 150 KiB: about 900 KiB in all
			n = 1 + k*k*1000
		case c == 1 && k%4 == 0:
			n = 57 * 1024 // the size writeRSMF reads the zip in
		default:
			return nil
		}
		b := make([]byte, n)
		if k%2 == 0 {
			for i := range b {
				b[i] = byte(rng.Uint32()) // does not compress: the zip is as large
			}
		} else {
			for i := range b {
				b[i] = "WhatsApp "[i%9]
			}
		}
		total += n
		return b
	})
	defer l.Close()
	defer st.Close()
	cs := &countingStore{Store: st, big: map[hashchain.Hash]bool{}}
	ctx := context.Background()
	if err := st.Walk(ctx, func(sum hashchain.Hash) error {
		b, err := st.Get(ctx, sum)
		if len(b) >= 1000 && b[0] != '{' && b[0] != '[' { // not JSON: an attachment
			cs.big[sum] = true
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(cs.big) < 10 {
		t.Fatalf("%d attachments in the store", len(cs.big))
	}
	produce1 := func(limit int64, store evidence.Store) *produce.Result {
		t.Helper()
		defer produce.SetHeldLimit(limit)()
		produce.PeakHeld()
		cs.whole, cs.streams = 0, 0
		out := filepath.Join(t.TempDir(), "prod")
		res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: store}, produce.Options{Out: out, Format: produce.FormatBoth,
			SignerKey: key, VerifierKey: l.VerifierKey(), ValidateRSMF: true})
		if err != nil {
			t.Fatalf("bound %d: %v", limit, err)
		}
		if peak := produce.PeakHeld(); peak > limit {
			t.Errorf("bound %d: a conversation held %d bytes", limit, peak)
		}
		if store == cs && (cs.whole != 0 || cs.streams == 0) {
			t.Errorf("bound %d: attachments read whole %d times, streamed %d times; want none whole", limit, cs.whole, cs.streams)
		}
		// No temporary file is left beside the production's files.
		files := 0
		filepath.WalkDir(out, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files++
			}
			return err
		})
		if files != res.Files {
			t.Errorf("bound %d: %d files in the production, the manifest and its proof name %d", limit, files, res.Files)
		}
		return res
	}
	// The reference holds every attachment: the default bound is more
	// than they weigh with their zip and its base64.
	if total*4 > 8<<20 {
		t.Fatalf("the attachments weigh %d bytes: too much for the default bound", total)
	}
	ref := produce1(8<<20, cs)
	_, files, _, _ := readBack(t, ref.Dir)
	if len(files) < 10 {
		t.Fatalf("%d attachments produced", len(files))
	}
	for _, limit := range []int64{0, 1, 16 << 10, 150 << 10, 400 << 10, 600 << 10, 1000 << 10, 1500 << 10, 3 << 20} {
		res := produce1(limit, cs)
		if res.ManifestSHA256 != ref.ManifestSHA256 {
			t.Errorf("bound %d: manifest %s, with every attachment held %s", limit, res.ManifestSHA256, ref.ManifestSHA256)
		}
		os.RemoveAll(res.Dir)
	}
	// A store that cannot stream: each attachment is read whole, then
	// held or spilled all the same.
	for _, limit := range []int64{0, 150 << 10} {
		res := produce1(limit, getOnlyStore{st})
		if res.ManifestSHA256 != ref.ManifestSHA256 {
			t.Errorf("bound %d, a store that cannot stream: manifest %s, with every attachment held %s", limit, res.ManifestSHA256, ref.ManifestSHA256)
		}
	}
}

// getOnlyStore hides the store's Open and GetInto.
type getOnlyStore struct{ evidence.Store }
