package produce_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/verify"
)

// scanProduction reports every file of a production holding any of
// needles: its bytes as written, and for an .rsmf file also its decoded
// text body, manifest and every file of its (deflated) rsmf.zip, each
// as is, JSON-escaped and HTML-escaped.
func scanProduction(t *testing.T, dir string, needles []string) []string {
	t.Helper()
	var forms [][2]string
	for _, n := range needles {
		j, _ := json.Marshal(n)
		for _, f := range []string{n, html.EscapeString(n), string(j[1 : len(j)-1])} {
			forms = append(forms, [2]string{n, f})
		}
	}
	var hits []string
	look := func(name string, b []byte) {
		for _, f := range forms {
			if bytes.Contains(b, []byte(f[1])) {
				hits = append(hits, name+": "+f[0])
			}
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		look(p, b)
		if strings.HasSuffix(p, ".rsmf") {
			f, err := produce.ReadRSMF(b)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			look(p+" (text)", []byte(f.Text))
			look(p+" (rsmf_manifest.json)", f.Manifest)
			for name, data := range f.Files {
				look(p+" ("+name+")", data)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestProduceErased erases a conversation whole and one message of
// another, then produces: a selection naming the erased conversation is
// refused, writing nothing; a production of everything leaves out the
// erased messages and those whose body went with them, lists them in the
// manifest and the conversation's RSMF custom field, holds no byte of
// their text, verifies, and is byte for byte reproducible.
func TestProduceErased(t *testing.T) {
	// Batches of 2 entries: the scan reuses each batch's buffer many times
	// over, erasure entries among them (decode must keep no view of one).
	defer produce.SetScanBatchSize(2)()
	ctx := context.Background()
	m := capture(t, 12)
	wantMsgs, held := ledgerMessages(t, m)
	byConv := map[string][]string{}
	for id, w := range wantMsgs {
		byConv[w.convID] = append(byConv[w.convID], id)
	}
	var free []string
	for c, ids := range byConv {
		if !held[c] && len(ids) >= 3 {
			free = append(free, c)
		}
	}
	slices.Sort(free)
	if len(free) < 2 {
		t.Fatalf("%d conversations not held with 3 messages: the fixture needs more", len(free))
	}
	whole, part := free[0], free[1]
	msgs := byConv[part]
	slices.SortFunc(msgs, func(a, b string) int { return int(wantMsgs[a].seq) - int(wantMsgs[b].seq) })
	msg := msgs[1]

	// A production before the erasures holds the texts looked for.
	before := filepath.Join(t.TempDir(), "before")
	if _, err := m.produce(t, before, produce.Options{Format: produce.FormatBoth}); err != nil {
		t.Fatal(err)
	}

	if _, err := erase.Erase(ctx, m.l, m.store, erase.Request{Conversations: []string{whole}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.key}); err != nil {
		t.Fatal(err)
	}
	r2, err := erase.Erase(ctx, m.l, m.store, erase.Request{Messages: []string{msg}, Reason: "DSR-2", Operator: "dpo", SignerKey: m.key})
	if err != nil {
		t.Fatal(err)
	}
	collateral := map[string]bool{}
	for _, c := range r2.Detail.Collateral {
		collateral[c] = true
	}
	if len(collateral) == 0 {
		t.Fatal("no collateral: the test needs a body shared with the erased message")
	}
	gone := func(id string) bool { return wantMsgs[id].convID == whole || id == msg || collateral[id] }
	keptText := map[string]bool{}
	for id, w := range wantMsgs {
		if !gone(id) {
			keptText[w.text] = true
		}
	}
	var secrets []string
	for id, w := range wantMsgs {
		if gone(id) && len(w.text) >= 8 && !keptText[w.text] {
			secrets = append(secrets, w.text)
		}
	}
	if len(secrets) < 3 {
		t.Fatalf("only %d erased texts to look for", len(secrets))
	}
	if hits := scanProduction(t, before, secrets); len(hits) == 0 {
		t.Fatal("the production before erasure holds none of the texts looked for: the scan proves nothing")
	}

	// Naming the erased conversation: refused, nothing written.
	refused := filepath.Join(t.TempDir(), "refused")
	_, err = m.produce(t, refused, produce.Options{Selection: produce.Selection{Conversations: []string{part, whole}}})
	if !errors.Is(err, produce.ErrErasedConversation) || !strings.Contains(err.Error(), whole) || !strings.Contains(err.Error(), "DSR-1") ||
		strings.Contains(err.Error(), part+" (") {
		t.Fatalf("a selection naming an erased conversation: %v", err)
	}
	if ents, _ := os.ReadDir(refused); len(ents) > 0 {
		t.Errorf("a refused production wrote %d files", len(ents))
	}

	out := filepath.Join(t.TempDir(), "after")
	res, err := m.produce(t, out, produce.Options{Format: produce.FormatBoth, ValidateRSMF: true})
	if err != nil {
		t.Fatal(err)
	}
	nGone := 0
	for id := range wantMsgs {
		if gone(id) {
			nGone++
		}
	}
	if res.Erased != nGone || res.Messages != len(wantMsgs)-nGone {
		t.Errorf("produced %d, left out %d; want %d and %d", res.Messages, res.Erased, len(wantMsgs)-nGone, nGone)
	}
	if hits := scanProduction(t, out, secrets); len(hits) > 0 {
		t.Errorf("erased text in the production:\n%s", strings.Join(hits, "\n"))
	}

	// The manifest lists each message left out, with why.
	data, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, err := production.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]production.Erased{}
	for _, e := range man.Erased {
		listed[e.MessageID] = e
	}
	for id, w := range wantMsgs {
		e, ok := listed[id]
		switch {
		case !gone(id):
			if ok {
				t.Errorf("message %s listed as erased", id)
			}
		case !ok:
			t.Errorf("message %s, erased, not listed", id)
		case e.ConversationID != w.convID || e.Seq != w.seq || e.LeafHash != w.leafHash:
			t.Errorf("listed %+v, want conversation %s seq %d", e, w.convID, w.seq)
		case collateral[id] && (e.Status != production.StatusBodyErased || e.ErasureSeq != r2.Seq):
			t.Errorf("collateral %s listed %+v", id, e)
		case !collateral[id] && e.Status != production.StatusErased:
			t.Errorf("erased %s listed %+v", id, e)
		}
	}
	for _, pm := range man.Messages {
		if gone(pm.MessageID) {
			t.Errorf("message %s produced", pm.MessageID)
		}
	}
	for _, c := range man.Conversations {
		if c.ID == whole {
			t.Errorf("the erased conversation is produced: %+v", c)
		}
	}
	events, _, _, convs := readBack(t, out)
	for id := range events {
		if gone(id) {
			t.Errorf("RSMF event for erased message %s", id)
		}
	}
	// The erased message's response body held every message of its
	// conversation (one bulk body each): none is left to produce, and
	// no RSMF conversation names erased messages.
	if _, ok := convs[part]; ok && inConv(wantMsgs, part, gone) == len(byConv[part]) {
		t.Errorf("conversation %s produced with none of its messages", part)
	}
	for id, c := range convs {
		if v := custom(c.Custom, "erased_messages"); v != "" && inConv(wantMsgs, id, gone) == 0 {
			t.Errorf("conversation %s: erased_messages %q", id, v)
		}
	}

	rep, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: m.l.VerifierKey(), Ledger: m.l})
	if err != nil || !rep.OK {
		t.Fatalf("verify --production: %v %v", err, rep.Findings)
	}

	// Reproducible.
	again := filepath.Join(t.TempDir(), "again")
	res2, err := m.produce(t, again, produce.Options{Format: produce.FormatBoth})
	if err != nil {
		t.Fatal(err)
	}
	if res2.ManifestSHA256 != res.ManifestSHA256 {
		t.Errorf("manifest %s, then %s", res.ManifestSHA256, res2.ManifestSHA256)
	}
	for _, f := range man.Files {
		a, _ := os.ReadFile(filepath.Join(out, f.Path))
		b, _ := os.ReadFile(filepath.Join(again, f.Path))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two productions", f.Path)
		}
	}
}

func inConv(msgs map[string]*want, conv string, gone func(string) bool) int {
	n := 0
	for id, w := range msgs {
		if w.convID == conv && gone(id) {
			n++
		}
	}
	return n
}

// TestProduceErasedKeptBody: an erasure of one message whose response
// body could not be deleted (kept, e.g. also another conversation's
// evidence) leaves the other messages producible: the conversation is
// produced without the erased message, its RSMF conversation says how
// many were left out, the manifest lists it, and nothing of its text is
// produced though the evidence still holds it.
func TestProduceErasedKeptBody(t *testing.T) {
	ctx := context.Background()
	m := capture(t, 6)
	wantMsgs, held := ledgerMessages(t, m)
	var conv, msg string
	var first uint64
	for id, w := range wantMsgs {
		if held[w.convID] || (conv != "" && w.convID > conv) {
			continue
		}
		if w.convID != conv || w.seq < first {
			conv, msg, first = w.convID, id, w.seq
		}
	}
	if conv == "" {
		t.Fatal("no conversation to erase a message of")
	}
	// An erasure entry as erase writes it when the body is kept.
	raw, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{}, Messages: []string{msg}, Partial: []string{conv},
		Erased: []string{}, Collateral: []string{}, Kept: []leaf.ErasedKept{{Object: strings.Repeat("ab", 32), Why: "also evidence of another conversation"}},
		Operator: "dpo", Reason: "DSR-3"})
	if err != nil {
		t.Fatal(err)
	}
	es, err := m.l.Append(ctx, leaf.Entry{Kind: leaf.KindErasure, Detail: raw})
	if err != nil {
		t.Fatal(err)
	}
	// Produced before any checkpoint vouches for the erasure: the
	// message is left out all the same (its erasure is in the ledger),
	// and verify --production says nothing vouches for it.
	early := filepath.Join(t.TempDir(), "early")
	if _, err := m.produce(t, early, produce.Options{Format: produce.FormatBoth, Selection: produce.Selection{Conversations: []string{conv}}}); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Production(ctx, early, verify.ProductionOptions{VerifierKey: m.l.VerifierKey(), Ledger: m.l})
	if err != nil || rep.OK || !slices.ContainsFunc(rep.Findings, func(f verify.ProductionFinding) bool {
		return f.Check == verify.ProdCheckErased && strings.Contains(f.Message, fmt.Sprintf("no signed checkpoint vouches for erasure entry %d", es[0].Seq))
	}) {
		t.Fatalf("an erasure nothing vouches for: %v %v", err, rep.Findings)
	}
	if _, err := m.l.CheckpointErasure(ctx, m.key, es[0].Seq); err != nil {
		t.Fatal(err)
	}
	// Vouched for: the same production verifies.
	if rep, err = verify.Production(ctx, early, verify.ProductionOptions{VerifierKey: m.l.VerifierKey(), Ledger: m.l}); err != nil || !rep.OK {
		t.Fatalf("vouched: %v %v", err, rep.Findings)
	}
	// The vouched entry rewritten in the file (its leaf and leaf hash; no
	// key needed): the signature still names its seq, but no signed root
	// holds what it now says, and verify --production says so.
	db, err := sql.Open("sqlite3", filepath.Join(m.dir, "custody.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var orig []byte
	if err := db.QueryRow(`SELECT leaf FROM entries WHERE seq = ?`, es[0].Seq).Scan(&orig); err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(orig, []byte(`"DSR-3"`), []byte(`"DSR-4"`), 1)
	fh, oh := hashchain.LeafHash(forged), hashchain.LeafHash(orig)
	if _, err := db.Exec(`DROP TRIGGER entries_append_only_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE entries SET leaf = ?, leaf_hash = ? WHERE seq = ?`, forged, fh[:], es[0].Seq); err != nil {
		t.Fatal(err)
	}
	rep, err = verify.Production(ctx, early, verify.ProductionOptions{VerifierKey: m.l.VerifierKey(), Ledger: m.l})
	if err != nil || rep.OK || !slices.ContainsFunc(rep.Findings, func(f verify.ProductionFinding) bool {
		return f.Check == verify.ProdCheckErased && strings.Contains(f.Message, fmt.Sprintf("erasure entry %d is not the entry the signed checkpoints hold", es[0].Seq))
	}) {
		t.Fatalf("a rewritten vouched erasure: %v %v", err, rep.Findings)
	}
	if _, err := db.Exec(`UPDATE entries SET leaf = ?, leaf_hash = ? WHERE seq = ?`, orig, oh[:], es[0].Seq); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "p")
	res, err := m.produce(t, out, produce.Options{Format: produce.FormatBoth, Selection: produce.Selection{Conversations: []string{conv}}})
	if err != nil {
		t.Fatal(err)
	}
	n := inConv(wantMsgs, conv, func(string) bool { return true })
	if res.Messages != n-1 || res.Erased != 1 {
		t.Fatalf("produced %d, left out %d; want %d and 1", res.Messages, res.Erased, n-1)
	}
	events, _, _, convs := readBack(t, out)
	if _, ok := events[msg]; ok || len(events) != n-1 {
		t.Errorf("%d events, the erased one among them: %v", len(events), ok)
	}
	if v := custom(convs[conv].Custom, "erased_messages"); !strings.HasPrefix(v, "1 messages not produced") {
		t.Errorf("erased_messages %q", v)
	}
	if text := wantMsgs[msg].text; len(text) >= 8 {
		if hits := scanProduction(t, out, []string{text}); len(hits) > 0 {
			t.Errorf("erased text produced: %v", hits)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, err := production.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []production.Erased{{ConversationID: conv, MessageID: msg, Seq: first, LeafHash: wantMsgs[msg].leafHash, Status: production.StatusErased, ErasureSeq: es[0].Seq}}
	if !slices.Equal(man.Erased, want) {
		t.Errorf("manifest erased %+v, want %+v", man.Erased, want)
	}
	if dat, err := os.ReadFile(filepath.Join(out, production.DATFile)); err != nil || bytes.Contains(dat, []byte(msg)) {
		t.Errorf("the DAT names the erased message (%v)", err)
	}
	rep, err = verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: m.l.VerifierKey(), Ledger: m.l})
	if err != nil || !rep.OK || rep.Erased != 1 {
		t.Fatalf("verify --production: %v %v, %d erased", err, rep.Findings, rep.Erased)
	}

	// A manifest whose erased list names an entry that is no erasure of
	// the message, or lists a produced message: verify names it.
	for name, edit := range map[string]func(*production.Manifest){
		"not an erasure": func(mf *production.Manifest) { mf.Erased[0].ErasureSeq = first },
		"also produced": func(mf *production.Manifest) {
			mf.Erased = append(mf.Erased, production.Erased{ConversationID: conv, MessageID: mf.Messages[0].MessageID, Seq: mf.Messages[0].Seq,
				LeafHash: mf.Messages[0].LeafHash, Status: production.StatusBodyErased, ErasureSeq: es[0].Seq})
		},
	} {
		bad := filepath.Join(t.TempDir(), "bad")
		copyDir(t, out, bad)
		mf, _ := production.ParseManifest(data)
		edit(mf)
		b, err := mf.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bad, production.ManifestFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := verify.Production(ctx, bad, verify.ProductionOptions{VerifierKey: m.l.VerifierKey(), Ledger: m.l})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(rep.Findings, func(f verify.ProductionFinding) bool { return f.Check == verify.ProdCheckErased }) {
			t.Errorf("%s: verify --production findings %v", name, rep.Findings)
		}
	}
}
