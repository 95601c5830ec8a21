package evidence_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// remoteStore is a store whose reads and writes wait a little, as an S3
// round trip does, and that asks for 16 of them in flight
// (evidence.Parallel); it records the most it had in flight at once.
type remoteStore struct {
	evidence.Store
	reads, puts benchutil.InFlight
}

func (s *remoteStore) Put(ctx context.Context, data []byte) (evidence.Ref, error) {
	defer s.puts.Enter()()
	time.Sleep(5 * time.Millisecond)
	return s.Store.Put(ctx, data)
}

func (s *remoteStore) Parallelism() int { return 16 }

func (s *remoteStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	defer s.reads.Enter()()
	time.Sleep(5 * time.Millisecond)
	return s.Store.Get(ctx, sum)
}

// TestParallelism: a store's Parallelism reaches readers through
// the read-only wrapper, a local folder asks for none, and Verify keeps
// as many reads in flight as a remote store asks for, beyond its default
// of one a processor.
func TestParallelism(t *testing.T) {
	ctx := context.Background()
	f, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := evidence.Parallelism(evidence.ReadOnly(f)); n != 1 {
		t.Errorf("a folder's Parallelism is %d, want 1", n)
	}
	s := &remoteStore{Store: f}
	if n := evidence.Parallelism(evidence.ReadOnly(s)); n != 16 {
		t.Errorf("through ReadOnly: %d, want 16", n)
	}
	var sums []hashchain.Hash
	for i := range 64 {
		ref, err := f.Put(ctx, fmt.Appendf(nil, "object %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
	rep, err := evidence.Verify(ctx, evidence.ReadOnly(s), evidence.Sums(sums), evidence.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Referenced != 64 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	def := max(4, runtime.GOMAXPROCS(0)) // without the store's figure
	if most := s.reads.Most(); def < 16 && most <= int64(def) || most > int64(max(def, 16)) {
		t.Errorf("at most %d reads in flight, want more than the default %d and at most %d", most, def, max(def, 16))
	}
}

// TestPutAllParallelism: PutAll keeps as many Puts in flight as a remote
// store asks for, beyond its own floor of 8, and stores every object.
func TestPutAllParallelism(t *testing.T) {
	ctx := context.Background()
	f, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &remoteStore{Store: f}
	var data [][]byte
	for i := range 64 {
		data = append(data, fmt.Appendf(nil, "object %d", i))
	}
	refs, err := evidence.PutAll(ctx, s, data)
	if err != nil || len(refs) != len(data) {
		t.Fatalf("PutAll: %d refs, %v", len(refs), err)
	}
	for i, r := range refs {
		if got, err := f.Get(ctx, r.Sum); err != nil || string(got) != string(data[i]) {
			t.Errorf("object %d: %q, %v", i, got, err)
		}
	}
	if most := s.puts.Most(); most <= 8 || most > 16 {
		t.Errorf("at most %d puts in flight, want more than 8 and at most 16", most)
	}
}
