package leaf

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// TestAppendTime: the leaf's time written by hand is FormatTime's,
// quoted as AppendStringRFC8785 quotes it, for times across and beyond
// the years the format allows, in any location.
func TestAppendTime(t *testing.T) {
	times := []time.Time{
		{}, time.Unix(0, 0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 9, 5, 7, 1_000_000, time.FixedZone("x", -7*3600)), time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("y", -3600)),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		times = append(times, time.Unix(r.Int64N(400_000_000_000)-62_200_000_000, r.Int64N(1e9)).In(time.FixedZone("z", r.IntN(100_000)-50_000)))
	}
	for _, tm := range times {
		got := string(append(appendTime([]byte(`"`), tm), '"'))
		if want := string(jsonscan.AppendStringRFC8785(nil, FormatTime(tm))); got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestAppendLeafDetail: given what CanonicalDetail returns, the leaf is
// AppendLeaf's.
func TestAppendLeafDetail(t *testing.T) {
	for _, d := range []string{``, `{}`, `{"b":1,"a":"x"}`, `{ "z": [1.50, true], "a": "\u00e9" }`} {
		e := Entry{Kind: KindRun, Matter: "m", At: time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC), RunID: "r"}
		if d != "" {
			e.Detail = []byte(d)
		}
		want, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		var canon []byte
		if d != "" {
			if canon, err = CanonicalDetail(e.Detail); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.AppendLeafDetail(nil, canon); string(got) != string(want) {
			t.Errorf("detail %s: AppendLeafDetail %s, AppendLeaf %s", d, got, want)
		}
	}
}
