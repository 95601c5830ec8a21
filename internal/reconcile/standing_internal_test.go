package reconcile

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestStandingKeep: whatever the number of captures, below and past
// standingScanLimit (where find switches to a map), standing keeps the
// latest capture of each message, in the place of its first, and with
// it what is still to be read for that latest capture (its detail, its
// message's evidence) — as a plain map and a slice do.
func TestStandingKeep(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, standingScanLimit, standingScanLimit + 1, 200} {
		for round := range 20 {
			var st standing
			order := map[string]int{}
			var wantOut []diff.Captured
			var wantOpen []*leaf.MessageDetail
			var wantMessage []mediaRead
			for seq := range n + n/2 {
				id := fmt.Sprintf("m%d", r.IntN(max(n, 1)))
				c := diff.Captured{MessageID: id, Seq: uint64(seq)}
				var p pending
				if r.IntN(2) == 0 {
					p.open = &leaf.MessageDetail{}
				}
				if r.IntN(2) == 0 {
					p.message.sum[0] = byte(1 + seq%255)
				}
				st.keep(id, c, p)
				if i, ok := order[id]; ok {
					wantOut[i], wantOpen[i], wantMessage[i] = c, p.open, p.message
					continue
				}
				order[id] = len(wantOut)
				wantOut = append(wantOut, c)
				wantOpen = append(wantOpen, p.open)
				wantMessage = append(wantMessage, p.message)
			}
			if len(st.out) != len(wantOut) || len(st.toOpen) != len(wantOut) || len(st.message) != len(wantOut) {
				t.Fatalf("n %d round %d: %d captures, %d details, want %d", n, round, len(st.out), len(st.toOpen), len(wantOut))
			}
			for i := range wantOut {
				if st.out[i].MessageID != wantOut[i].MessageID || st.out[i].Seq != wantOut[i].Seq || st.toOpen[i] != wantOpen[i] || st.message[i] != wantMessage[i] {
					t.Fatalf("n %d round %d: capture %d is %+v, want %+v", n, round, i, st.out[i], wantOut[i])
				}
			}
		}
	}
}
