package erasure

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

type controls struct {
	es  []leaf.Entry
	err error
}

func (c controls) Controls(context.Context) ([]leaf.Entry, error) { return c.es, c.err }

func entry(t *testing.T, seq uint64, d leaf.Detail) leaf.Entry {
	t.Helper()
	raw, err := leaf.EncodeDetail(d)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Entry{Seq: seq, Kind: d.Kind(), Detail: raw}
}

func TestState(t *testing.T) {
	obj := strings.Repeat("ab", 32)
	es := []leaf.Entry{
		entry(t, 3, &leaf.HoldDetail{Action: leaf.HoldSet, Conversations: []string{"c1", "c2"}, Reason: "litigation"}),
		entry(t, 5, &leaf.ErasureDetail{Conversations: []string{"c3"}, Messages: []string{"m3a", "m9"}, Partial: []string{"c9"}, Erased: []string{obj, "not-a-hash"}}),
		entry(t, 7, &leaf.HoldDetail{Action: leaf.HoldRelease, Conversations: []string{"c2"}, Reason: "settled"}),
		{Seq: 8, Kind: leaf.KindMessage}, // other kinds are ignored
	}
	st, err := Load(context.Background(), controls{es: es})
	if err != nil {
		t.Fatal(err)
	}
	if why, ok := st.Held("c1"); !ok || why != "litigation" {
		t.Errorf("c1 held: %q %v", why, ok)
	}
	if _, ok := st.Held("c2"); ok {
		t.Error("c2 still held after its release")
	}
	if !st.Conversation("c3") || st.Conversation("c9") || !st.Touched("c9") || st.Touched("c1") {
		t.Error("conversations erased, partly erased, untouched")
	}
	if !st.Message("c3", "any") || !st.Message("", "m9") || st.Message("c9", "m10") || st.Message("", "m1") {
		t.Error("messages erased")
	}
	h, _ := hashchain.ParseHash(obj)
	if seq, ok := st.Object(h); !ok || seq != 5 {
		t.Errorf("object erased by seq %d %v", seq, ok)
	}
	if c, m := st.Erased(); c != 1 || m != 2 {
		t.Errorf("Erased() = %d, %d", c, m)
	}
	boom := errors.New("boom")
	if _, err := Load(context.Background(), controls{err: boom}); !errors.Is(err, boom) {
		t.Errorf("Load error: %v", err)
	}
	bad := leaf.Entry{Seq: 9, Kind: leaf.KindErasure, Detail: []byte(`{"conversations":7}`)}
	if _, err := Load(context.Background(), controls{es: []leaf.Entry{bad}}); err == nil {
		t.Error("a malformed erasure detail loads")
	}
}
