package diff

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestConvCapturesFind: find answers what a map of every capture's
// message id (the last index for an id given twice) answers, for
// conversations below, at and above smallConv.
func TestConvCapturesFind(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, smallConv - 1, smallConv, smallConv + 1, 3 * smallConv} {
		for round := range 20 {
			all := make([]Captured, n)
			for i := range all {
				all[i].MessageID = fmt.Sprint("m", r.IntN(n+n/3+1)) // some ids twice
				all[i].Seq = uint64(i)
			}
			ref := map[string]int{}
			for i, c := range all {
				ref[c.MessageID] = i
			}
			cc := newConvCaptures("c", all)
			for k := range n + n/3 + 3 {
				msg := fmt.Sprint("m", k)
				i, ok := cc.find(msg)
				j, want := ref[msg]
				if ok != want || ok && i != j {
					t.Fatalf("n=%d round %d: find(%s) = %d, %v; map: %d, %v", n, round, msg, i, ok, j, want)
				}
			}
		}
	}
}
