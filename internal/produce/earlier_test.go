package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/verify"
)

// recaptureMessage appends a new capture of message mid, as export does
// when it changed at the source: the latest capture's object changed by
// change, in a new response body, superseding it. It returns the
// latest capture's seq before and the new one's.
func recaptureMessage(t *testing.T, l *ledger.Ledger, st evidence.Store, mid string, change func(*genesys.MessageData)) (uint64, uint64) {
	t.Helper()
	ctx := context.Background()
	var last leaf.Entry
	for e, err := range l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == leaf.KindMessage && e.MessageID == mid {
			last = e
		}
	}
	body, err := st.Get(ctx, last.EvidenceSHA256)
	if err != nil {
		t.Fatal(err)
	}
	raws, err := derive.MessagesIn(body)
	if err != nil {
		t.Fatal(err)
	}
	var md *genesys.MessageData
	for _, raw := range raws {
		if x, _, _ := derive.DecodeMessage(raw); x != nil && x.ID == mid {
			md = x
		}
	}
	if md == nil {
		t.Fatalf("message %s not in its evidence", mid)
	}
	change(md)
	ref, err := st.Put(ctx, mustJSON(t, genesys.TextMessageListing{Entities: []genesys.MessageData{*md}}))
	if err != nil {
		t.Fatal(err)
	}
	md2, payload, err := derive.DecodeMessage(mustJSON(t, md))
	if err != nil {
		t.Fatal(err)
	}
	var media []leaf.MediaRef
	if d, err := leaf.DecodeDetail(last.Kind, last.Detail); err == nil && md2.NormalizedMessage != nil && len(md2.NormalizedMessage.Content) > 0 {
		media = d.(*leaf.MessageDetail).Media
	}
	e, err := derive.Message(last.ConversationID, md2, payload, false, nil, media, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := last.Seq
	e.RunID, e.EvidenceSHA256, e.Supersedes = "run-2", ref.Sum, &prev
	es, err := l.Append(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	return prev, es[0].Seq
}

// TestProduceEarlierCaptures: a message deleted at the source after
// custody captured it (its text and photo gone), and one edited silently,
// are produced from their latest capture and, beside it, from their
// earlier one: its own DAT family (native, text, the photo, proof),
// rows that point at each other, the manifest listing it as an earlier
// capture, and the RSMF event's edits holding the earlier text. A
// re-capture of the same object adds nothing. The production verifies.
func TestProduceEarlierCaptures(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 1, 4) // message 0 has a photo
	m0, m1 := "m0000000-0000-4000-8000-000000000000", "m0000000-0001-4000-8000-000000000000"
	var text0, text1 string
	orig0, del0 := recaptureMessage(t, l, st, m0, func(md *genesys.MessageData) {
		text0 = md.NormalizedMessage.Text
		md.NormalizedMessage.Text, md.NormalizedMessage.Content = "", nil
		md.NormalizedMessage.Channel.DateDeleted = "2024-03-02T10:00:00.000Z"
	})
	orig1, ed1 := recaptureMessage(t, l, st, m1, func(md *genesys.MessageData) {
		text1 = md.NormalizedMessage.Text
		md.NormalizedMessage.Text = "I never said that."
	})
	_, again1 := recaptureMessage(t, l, st, m1, func(*genesys.MessageData) {}) // the same object again
	m3 := "m0000000-0003-4000-8000-000000000000"
	orig3, rcpt3 := recaptureMessage(t, l, st, m3, func(md *genesys.MessageData) { // a receipt changed, nothing else
		md.NormalizedReceipts[0].Status = "Delivered"
	})
	out := filepath.Join(dir, "p")
	ctx := context.Background()
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey(), ValidateRSMF: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 7 || res.EarlierCaptures != 3 {
		t.Errorf("%d message captures produced (%d earlier), want 4 latest and 3 earlier", res.Messages, res.EarlierCaptures)
	}
	data, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, err := production.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	// A custody that reads only v1 says it does not know the format,
	// rather than calling earlier_capture_of malformed.
	if man.Format != production.FormatV2 {
		t.Errorf("a manifest listing earlier captures has format %q, want %q", man.Format, production.FormatV2)
	}
	earlierOf := map[uint64]uint64{}
	for _, m := range man.Messages {
		if m.EarlierCaptureOf != 0 {
			earlierOf[m.Seq] = m.EarlierCaptureOf
		}
	}
	if len(earlierOf) != 3 || earlierOf[orig0] != del0 || earlierOf[orig1] != again1 || earlierOf[orig3] != rcpt3 {
		t.Errorf("manifest's earlier captures %v, want %d of %d and %d of %d (not %d, the same object as the latest)", earlierOf, orig0, del0, orig1, again1, ed1)
	}

	dat, err := os.ReadFile(filepath.Join(out, production.DATFile))
	if err != nil {
		t.Fatal(err)
	}
	cols, rows, err := production.ReadDAT(dat)
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range cols {
		col[c] = i
	}
	get := func(r []string, c string) string { return r[col[c]] }
	bySeq := map[string][]string{} // message rows by LEDGER_SEQ
	var photo []string
	for _, r := range rows {
		if get(r, "PARENT_DOCID") == "" {
			bySeq[get(r, "LEDGER_SEQ")] = r
		} else if get(r, "LEDGER_SEQ") == strconv.FormatUint(orig0, 10) {
			photo = r
		}
	}
	latest, early := bySeq[strconv.FormatUint(del0, 10)], bySeq[strconv.FormatUint(orig0, 10)]
	if latest == nil || early == nil {
		t.Fatalf("DAT message rows for seqs %d and %d: %v %v", del0, orig0, latest, early)
	}
	if get(latest, "CAPTURE") != "latest" || get(latest, "EARLIER_CAPTURES") != "1" || get(latest, "EARLIER_CAPTURE_SEQS") != strconv.FormatUint(orig0, 10) ||
		get(latest, "EARLIER_CAPTURE_BEGDOCS") != get(early, "BEGDOC") || get(latest, "DELETED") != "true" {
		t.Errorf("latest capture's row: %q", latest)
	}
	if get(early, "CAPTURE") != "earlier" || get(early, "LATEST_CAPTURE_BEGDOC") != get(latest, "BEGDOC") || get(early, "DELETED") != "false" ||
		get(early, "MESSAGE_ID") != m0 || get(early, "ATTACHMENT_COUNT") != "1" || get(early, "DIFFERS_FROM_LATEST") != "text;deleted;attachments" {
		t.Errorf("earlier capture's row: %q", early)
	}
	if r := bySeq[strconv.FormatUint(orig1, 10)]; r == nil || get(r, "DIFFERS_FROM_LATEST") != "text" {
		t.Errorf("the edited message's earlier capture: %q", r)
	}
	if r := bySeq[strconv.FormatUint(orig3, 10)]; r == nil || get(r, "DIFFERS_FROM_LATEST") != "metadata" || get(r, "CAPTURE") != "earlier" {
		t.Errorf("the earlier capture differing in a receipt: %q", r)
	}
	if get(latest, "DIFFERS_FROM_LATEST") != "" {
		t.Errorf("the latest capture's DIFFERS_FROM_LATEST %q", get(latest, "DIFFERS_FROM_LATEST"))
	}
	if photo == nil || get(photo, "FILENAME") != "photo.png" || get(photo, "PARENT_DOCID") != get(early, "BEGDOC") {
		t.Errorf("the earlier capture's photo: %q", photo)
	}
	// Its natives are the earlier capture's: the text, and the object
	// whose payload hash the proven leaf holds.
	txt, err := os.ReadFile(filepath.Join(out, "dat", get(early, "TEXT_PATH")))
	if err != nil || string(txt) != text0 {
		t.Errorf("earlier capture's text native %q (%v), want %q", txt, err, text0)
	}
	native, err := os.ReadFile(filepath.Join(out, "dat", get(early, "NATIVE_PATH")))
	if err != nil {
		t.Fatal(err)
	}
	if _, payload, err := derive.DecodeMessage(native); err != nil || payload.String() != get(early, "PAYLOAD_SHA256") {
		t.Errorf("earlier capture's native hashes to %s (%v), the row says %s", payload, err, get(early, "PAYLOAD_SHA256"))
	}
	pf, err := os.ReadFile(filepath.Join(out, "dat", get(early, "PROOF_PATH")))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := leaf.VerifyProof(pf, l.VerifierKey())
	if err != nil || pr.Entry.Seq != orig0 || pr.Entry.PayloadSHA256.String() != get(early, "PAYLOAD_SHA256") {
		t.Errorf("earlier capture's proof: %v %+v", err, pr)
	}

	events, _, _, _ := readBack(t, out)
	ev := events[m0]
	if !ev.Deleted || ev.Body != "" || len(ev.Edits) != 1 || ev.Edits[0].Previous != text0 || ev.Edits[0].New != "" ||
		ev.Edits[0].Timestamp != "2024-03-02T10:00:00.000Z" || ev.Edits[0].Participant != ev.Participant {
		t.Errorf("deleted message's event: %+v", ev)
	}
	if c := custom(ev.Custom, "earlier_captures"); !strings.HasPrefix(c, "seq "+strconv.FormatUint(orig0, 10)+" captured ") ||
		!strings.Contains(c, " dat "+get(early, "BEGDOC")) || !strings.Contains(c, "photo.png (sha256 ") {
		t.Errorf("earlier_captures %q", c)
	}
	ev = events[m1]
	if ev.Body != "I never said that." || len(ev.Edits) != 1 || ev.Edits[0].Previous != text1 || ev.Edits[0].Timestamp != "" {
		t.Errorf("edited message's event: %+v", ev)
	}
	rf, err := os.ReadFile(filepath.Join(out, "rsmf", "c0000000-0000-4000-8000-000000000000.rsmf"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := produce.ReadRSMF(rf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Text, "[earlier capture, ledger seq "+strconv.FormatUint(orig0, 10)) || !strings.Contains(f.Text, text0) {
		t.Errorf("the transcript does not give the earlier capture:\n%s", f.Text)
	}
	rep, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// TestProduceFormatV1WithoutEarlier: a production that lists no earlier
// capture keeps format custody-production/v1 (its bytes as before v2),
// and verifies.
func TestProduceFormatV1WithoutEarlier(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 1, 4)
	out := filepath.Join(dir, "p")
	ctx := context.Background()
	if _, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "{\n \"format\": \"custody-production/v1\",\n") || strings.Contains(string(data), "earlier_capture_of") {
		t.Errorf("manifest without earlier captures begins %.60q", data)
	}
	rep, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
