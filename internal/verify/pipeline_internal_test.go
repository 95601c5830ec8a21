package verify

import (
	"crypto/sha256"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

func TestPrefetch(t *testing.T) {
	evDone := make(chan struct{})
	p := newPrefetch(evDone)
	sum := func(s string) hashchain.Hash { return hashchain.Hash(sha256.Sum256([]byte(s))) }
	a, b, c := sum("a"), sum("b"), sum("c")
	p.register(1, a, rawBody)
	p.register(2, b, holdBody)
	p.register(3, c, rawBody)
	if p.keep(sum("unregistered")) != nil {
		t.Fatal("keep of an object nobody registered: want nil (streamed)")
	}
	// A taker waiting before the worker comes: the worker must still find it.
	got := make(chan *fetched)
	go func() { got <- p.take(a) }()
	p.keep(a)([]byte("a"), true)
	if f := <-got; f == nil || !f.intact || string(f.data) != "a" {
		t.Fatalf("take(a) = %+v", f)
	}
	if p.take(a) != nil {
		t.Fatal("taken twice")
	}
	// Decoded on the worker; an altered object is handed over as not intact.
	p.keep(b)([]byte(`not json`), true)
	if f := p.take(b); f == nil || f.err == nil {
		t.Fatalf("hold body that does not decode: %+v", f)
	}
	// The hashing stopped before reaching c: take gives up.
	close(evDone)
	if f := p.take(c); f != nil {
		t.Fatalf("take after the hashing stopped: %+v", f)
	}
	// forget drops what no one took, far enough behind.
	p2 := newPrefetch(make(chan struct{}))
	for i := range 3000 {
		p2.register(uint64(i), sum(string(rune(i))), rawBody)
	}
	p2.forget(prefetchWindow + 2000)
	if n := len(p2.pending); n != 1000 {
		t.Fatalf("after forget: %d pending, want 1000", n)
	}
	if p2.head != 0 || len(p2.order) != 1000 {
		t.Fatalf("queue not compacted: head %d, len %d", p2.head, len(p2.order))
	}
}

func TestMergeFindings(t *testing.T) {
	f := func(seq uint64, check string) Finding { return Finding{Check: check, Seq: &seq} }
	ev := []Finding{f(1, "e"), f(3, "e"), f(3, "e2")}
	dv := []Finding{f(0, "d"), f(3, "d"), f(4, "d")}
	var got []string
	for _, x := range mergeFindings(ev, dv) {
		got = append(got, x.Check+string(rune('0'+*x.Seq)))
	}
	want := []string{"d0", "e1", "e3", "e23", "d3", "d4"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestRunParallel(t *testing.T) {
	out := make([]int, 1000)
	var fs []func()
	for i := range out {
		fs = append(fs, func() { out[i] = i + 1 })
	}
	runParallel(fs)
	for i, v := range out {
		if v != i+1 {
			t.Fatalf("job %d not run", i)
		}
	}
}
