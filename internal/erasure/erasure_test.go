package erasure

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

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

func TestRecords(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	e := entry(t, 5, &leaf.ErasureDetail{Conversations: []string{"c3"}, Messages: []string{"m9"}, Partial: []string{"c9"},
		Collateral: []string{"m10", "m9"}, Operator: "ana", Reason: "DSR-1", OverrideHold: "LGL-7"})
	e.At = at
	es := []leaf.Entry{
		entry(t, 3, &leaf.HoldDetail{Action: leaf.HoldSet, Conversations: []string{"c2", "c1"}, Reason: "litigation"}),
		e,
	}
	st, err := Load(context.Background(), controls{es: es})
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Seq: 5, At: at, Operator: "ana", Reason: "DSR-1", OverrideHold: "LGL-7"}
	if r, ok := st.ConversationRecord("c3"); !ok || r != want {
		t.Errorf("c3: %+v %v", r, ok)
	}
	if r, ok := st.MessageRecord("c9", "m9"); !ok || r != want {
		t.Errorf("m9: %+v %v", r, ok)
	}
	if r, ok := st.MessageRecord("c3", "any"); !ok || r != want {
		t.Errorf("message of c3: %+v %v", r, ok)
	}
	if _, ok := st.MessageRecord("c9", "m10"); ok {
		t.Error("m10 (collateral) reads as erased")
	}
	if r, ok := st.Collateral("c9", "m10"); !ok || r != want {
		t.Errorf("m10 collateral: %+v %v", r, ok)
	}
	if _, ok := st.Collateral("c9", "m9"); ok {
		t.Error("an erased message reads as collateral")
	}
	if h, ok := st.MatterHold("c1"); !ok || h != (Hold{Seq: 3, Reason: "litigation"}) {
		t.Errorf("c1 hold %+v %v", h, ok)
	}
	if got := st.HeldConversations(); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Errorf("held %v", got)
	}
	if got := st.ErasedConversations(); !slices.Equal(got, []string{"c3"}) {
		t.Errorf("erased %v", got)
	}
}

func TestHoldsOn(t *testing.T) {
	es := []leaf.Entry{
		entry(t, 3, &leaf.HoldDetail{Action: leaf.HoldSet, Conversations: []string{"c1", "c2"}, Reason: "LGL-1"}),
		entry(t, 4, &leaf.HoldDetail{Action: leaf.HoldRelease, Conversations: []string{"c2"}, Reason: "settled"}),
	}
	st, err := Load(context.Background(), controls{es: es})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		conv      string
		protected bool
		held      bool
		sources   []string
	}{
		{"c1", false, true, []string{SourceMatterHold}},
		{"c1", true, true, []string{SourceDeletionProtection, SourceMatterHold}},
		{"c2", false, false, nil},
		{"c2", true, true, []string{SourceDeletionProtection}},
		{"c9", false, false, nil},
	} {
		h := st.HoldsOn(tc.conv, tc.protected)
		if h.Held() != tc.held || !slices.Equal(h.Sources(), tc.sources) {
			t.Errorf("%s (protected %v): held %v %v, want %v %v", tc.conv, tc.protected, h.Held(), h.Sources(), tc.held, tc.sources)
		}
		if (h.Matter != nil) != slices.Contains(tc.sources, SourceMatterHold) || h.Matter != nil && *h.Matter != (Hold{Seq: 3, Reason: "LGL-1"}) {
			t.Errorf("%s: matter hold %+v", tc.conv, h.Matter)
		}
	}
}
