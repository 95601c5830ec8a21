package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
)

// TestProduceMatterHold: a conversation under a matter hold (custody
// hold) is under legal hold in a production as it is in the report and
// to erase: --legal-hold-only selects it, and the manifest, the RSMF
// and the DAT say it is held and by which hold; released, it is not.
func TestProduceMatterHold(t *testing.T) {
	m := capture(t, 40)
	wantMsgs, protected := ledgerMessages(t, m)
	var free, prot string // a conversation without deletion protection, one with
	for _, w := range wantMsgs {
		switch {
		case !protected[w.convID] && (free == "" || w.convID < free):
			free = w.convID
		case protected[w.convID] && (prot == "" || w.convID < prot):
			prot = w.convID
		}
	}
	if free == "" || prot == "" {
		t.Fatal("the fixture needs conversations with and without deletion protection")
	}
	ctx := context.Background()
	hold := func(release bool, convs ...string) uint64 {
		t.Helper()
		res, err := erase.Hold(ctx, m.l, m.store, erase.HoldRequest{Conversations: convs, Reason: "litigation hold LGL-1", Release: release, SignerKey: m.key})
		if err != nil {
			t.Fatal(err)
		}
		return res.Seq
	}
	seq := hold(false, free, prot)

	type conv struct {
		legalHold          bool
		source, matterHold string
		dat                map[string]bool // LEGAL_HOLD/HOLD_SOURCE of its DAT rows
	}
	read := func(out string) map[string]*conv {
		t.Helper()
		got := map[string]*conv{}
		data, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		man, err := production.ParseManifest(data)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, rconvs := readBack(t, out)
		for _, c := range man.Conversations {
			rc := rconvs[c.ID]
			if rh, _ := strconv.ParseBool(custom(rc.Custom, "legal_hold")); rh != c.LegalHold {
				t.Errorf("%s: RSMF legal_hold %v, manifest %v", c.ID, rh, c.LegalHold)
			}
			src := ""
			for i, s := range c.HoldSource {
				if i > 0 {
					src += ";"
				}
				src += s
			}
			if custom(rc.Custom, "hold_source") != src {
				t.Errorf("%s: RSMF hold_source %q, manifest %q", c.ID, custom(rc.Custom, "hold_source"), src)
			}
			x := &conv{legalHold: c.LegalHold, source: src, matterHold: custom(rc.Custom, "matter_hold"), dat: map[string]bool{}}
			if c.MatterHold != nil && (c.MatterHold.Seq != seq || c.MatterHold.Reason != "litigation hold LGL-1") {
				t.Errorf("%s: manifest matter_hold %+v, want entry %d", c.ID, c.MatterHold, seq)
			}
			if (c.MatterHold != nil) != slices.Contains(c.HoldSource, "matter_hold") {
				t.Errorf("%s: matter_hold %+v, hold_source %v", c.ID, c.MatterHold, c.HoldSource)
			}
			got[c.ID] = x
		}
		dat, err := os.ReadFile(filepath.Join(out, production.DATFile))
		if err != nil {
			t.Fatal(err)
		}
		cols, rows, err := production.ReadDAT(dat)
		if err != nil {
			t.Fatal(err)
		}
		lh, hs := slices.Index(cols, "LEGAL_HOLD"), slices.Index(cols, "HOLD_SOURCE")
		if lh < 0 || hs < 0 {
			t.Fatalf("DAT columns %v: no LEGAL_HOLD and HOLD_SOURCE", cols)
		}
		for _, r := range rows {
			got[r[slices.Index(cols, "CONVERSATION_ID")]].dat[r[lh]+"/"+r[hs]] = true
		}
		return got
	}

	all := filepath.Join(t.TempDir(), "all")
	if _, err := m.produce(t, all, produce.Options{Format: produce.FormatBoth}); err != nil {
		t.Fatal(err)
	}
	got := read(all)
	want := map[string]conv{
		free: {true, "matter_hold", "hold entry " + strconv.FormatUint(seq, 10) + ": litigation hold LGL-1", map[string]bool{"true/matter_hold": true}},
		prot: {true, "deletion_protection;matter_hold", "hold entry " + strconv.FormatUint(seq, 10) + ": litigation hold LGL-1", map[string]bool{"true/deletion_protection;matter_hold": true}},
	}
	for id, w := range want {
		g := got[id]
		if g == nil || g.legalHold != w.legalHold || g.source != w.source || g.matterHold != w.matterHold || !mapsEqual(g.dat, w.dat) {
			t.Errorf("%s: %+v, want %+v", id, g, w)
		}
	}

	only := filepath.Join(t.TempDir(), "held")
	if _, err := m.produce(t, only, produce.Options{Format: produce.FormatBoth, Selection: produce.Selection{LegalHoldOnly: true}}); err != nil {
		t.Fatal(err)
	}
	held := read(only)
	if held[free] == nil {
		t.Errorf("--legal-hold-only left out %s, under a matter hold", free)
	}
	for id := range protected {
		if protected[id] && held[id] == nil {
			t.Errorf("--legal-hold-only left out %s, under deletion protection", id)
		}
	}
	for id, c := range held {
		if !c.legalHold {
			t.Errorf("--legal-hold-only produced %s, not held", id)
		}
	}

	// Released: deletion protection alone is left.
	hold(true, free, prot)
	again := filepath.Join(t.TempDir(), "released")
	if _, err := m.produce(t, again, produce.Options{Format: produce.FormatBoth}); err != nil {
		t.Fatal(err)
	}
	got = read(again)
	if g := got[free]; g.legalHold || g.source != "" || g.matterHold != "" || !mapsEqual(g.dat, map[string]bool{"false/": true}) {
		t.Errorf("%s released: %+v", free, g)
	}
	if g := got[prot]; !g.legalHold || g.source != "deletion_protection" || g.matterHold != "" || !mapsEqual(g.dat, map[string]bool{"true/deletion_protection": true}) {
		t.Errorf("%s released: %+v", prot, g)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
