package erase_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/verify"
)

// TestEraseProductionsAndReports: a production and a report written
// before an erasure hold the erased conversation. The production's
// manifest kept as evidence lists its messages with the plain SHA-256 of
// each text native, from which a short text is guessed: the erasure
// deletes it, names the production (entry, folder) and the report in its
// outputs, and verify --evidence, and verify --production of the folder
// made before, still pass. A production and a report of a conversation
// not erased are not named.
func TestEraseProductionsAndReports(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	target, other := free[0], free[1]

	prod := func(name string, sel produce.Selection) (string, *produce.Result) {
		out := filepath.Join(t.TempDir(), name)
		res, err := produce.Run(ctx, produce.Deps{Ledger: m.le.Ledger, Store: m.le.Store}, produce.Options{
			Out: out, Format: produce.FormatDAT, Selection: sel, SignerKey: m.le.Key, VerifierKey: m.le.Ledger.VerifierKey()})
		if err != nil {
			t.Fatal(err)
		}
		return out, res
	}
	prodA, resA := prod("prodA", produce.Selection{})
	_, resB := prod("prodB", produce.Selection{Conversations: []string{other}})
	rep, err := report.Generate(ctx, m.le.Ledger, m.le.Store, report.Options{Out: filepath.Join(t.TempDir(), "report"),
		Proofs: report.ProofsNone, SignerKey: m.le.Key, Operator: "tester"})
	if err != nil {
		t.Fatal(err)
	}

	// The hashes of the erased conversation's text natives, as prodA's
	// manifest lists them.
	data, err := os.ReadFile(filepath.Join(prodA, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, err := production.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	fileSum := map[string]string{}
	for _, f := range man.Files {
		fileSum[f.Path] = f.SHA256
	}
	var textSums []string
	for _, pm := range man.Messages {
		if pm.ConversationID == target {
			textSums = append(textSums, fileSum[production.NativeDir+"/"+pm.ControlNumber+".txt"])
		}
	}
	if len(textSums) < 2 || slices.Contains(textSums, "") {
		t.Fatalf("text natives of the conversation: %q", textSums)
	}
	hitsOf := map[string][]string{} // sum → the objects holding it
	for _, hit := range grepTree(t, m.le.Dir, textSums) {
		i := strings.LastIndex(hit, ": ")
		hitsOf[hit[i+2:]] = append(hitsOf[hit[i+2:]], filepath.Base(hit[:i]))
	}

	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{
		Conversations: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	// The hashes of texts only the erased conversation has (others' are
	// in their openings too): before, in prodA's manifest and in objects
	// the erasure deletes.
	var own []string
	for sum, objs := range hitsOf {
		if slices.Contains(objs, resA.ManifestSHA256) && !slices.ContainsFunc(objs, func(o string) bool {
			return o != resA.ManifestSHA256 && !slices.Contains(res.Detail.Erased, o)
		}) {
			own = append(own, sum)
		}
	}
	if len(own) == 0 {
		t.Fatalf("no text native's hash only in prodA's manifest and the erased objects: the search cannot work (%v)", hitsOf)
	}
	if hits := grepTree(t, m.le.Dir, own); len(hits) > 0 {
		t.Errorf("the plain hashes of erased texts are still in the matter's files: %v", hits)
	}
	if !slices.Contains(res.Detail.Erased, resA.ManifestSHA256) {
		t.Errorf("prodA's manifest is not among the objects deleted")
	}
	var got []string
	for _, o := range res.Detail.Outputs {
		got = append(got, o.Kind+" "+o.Name)
		switch o.Seq {
		case resA.Seq:
			if o.Kind != leaf.KindProduction || o.Name != "prodA" || o.Manifest != resA.ManifestSHA256 || !strings.Contains(o.Why, target) {
				t.Errorf("prodA named as %+v", o)
			}
		case *rep.Seq:
			if o.Kind != leaf.KindReport || o.Name != rep.RunID || !strings.Contains(o.Why, target) {
				t.Errorf("the report named as %+v", o)
			}
		default:
			t.Errorf("named %+v (prodB is entry %d)", o, resB.Seq)
		}
	}
	if len(res.Detail.Outputs) != 2 {
		t.Errorf("outputs named: %q, want prodA and the report", got)
	}
	raw, err := leaf.EncodeDetail(&res.Detail)
	if err != nil || !strings.Contains(string(raw), `"manifest":"`+resA.ManifestSHA256+`"`) {
		t.Errorf("the entry's detail: %s %v", raw, err)
	}

	v := m.verify(t)
	if !v.OK || v.Evidence.Missing != 0 || v.Evidence.Erased != len(res.Detail.Erased) {
		t.Fatalf("verify --evidence after the erasure: %+v %v", v.Evidence, v.Findings)
	}
	pv, err := verify.Production(ctx, prodA, verify.ProductionOptions{VerifierKey: m.le.Ledger.VerifierKey(), Ledger: m.le.Ledger})
	if err != nil || !pv.OK {
		t.Fatalf("verify --production of the production made before the erasure: %v %v", err, pv.Findings)
	}
}
