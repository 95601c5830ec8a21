package verify_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/verify"
)

// TestProductionContent: verify --production holds every produced
// message's content to the leaf its proof proves. A faulty producer that
// writes other text — in the JSON native (and the text native beside
// it), the text native alone, a DAT column or the RSMF event — and lists
// and records the files it wrote (the manifest rehashed, a production
// entry appended for it, its proof) passed every check before: the files
// matched the manifest, the manifest the entry, each proof its entry.
// Each is now a content failure naming the file; the production as
// produced passes.
func TestProductionContent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _, key, out := producedMatter(t, dir)
	o := verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l}
	if rep, err := verify.Production(ctx, out, o); err != nil || !rep.OK {
		t.Fatalf("the production as produced: %v %+v", err, rep)
	}
	const forged = "We admit liability, the damage is our fault."
	rsmfFile := "rsmf/c0000000-0000-4000-8000-000000000000.rsmf"
	for _, tc := range []struct {
		name, file string
		tamper     func(t *testing.T, dir string)
	}{
		{"json native and its text", "dat/natives/CUST0000002.json", func(t *testing.T, dir string) {
			edit(t, dir, "dat/natives/CUST0000002.json", func(b []byte) []byte { return replaceText(t, b, forged) })
			edit(t, dir, "dat/natives/CUST0000002.txt", func([]byte) []byte { return []byte(forged) })
		}},
		{"text native", "dat/natives/CUST0000002.txt", func(t *testing.T, dir string) {
			edit(t, dir, "dat/natives/CUST0000002.txt", func([]byte) []byte { return []byte(forged) })
		}},
		{"DAT PAYLOAD_SHA256", production.DATFile, func(t *testing.T, dir string) {
			edit(t, dir, production.DATFile, func(b []byte) []byte {
				return datColumn(t, b, "CUST0000002", "PAYLOAD_SHA256", strings.Repeat("0", 64))
			})
		}},
		{"DAT LEDGER_SEQ", production.DATFile, func(t *testing.T, dir string) {
			edit(t, dir, production.DATFile, func(b []byte) []byte { return datColumn(t, b, "CUST0000002", "LEDGER_SEQ", "1") })
		}},
		{"RSMF event body", rsmfFile, func(t *testing.T, dir string) {
			edit(t, dir, rsmfFile, func(b []byte) []byte { return rsmfBody(t, b, forged) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "p")
			copyDir(t, out, p)
			tc.tamper(t, p)
			rerecord(t, l, key, p)
			rep, err := verify.Production(ctx, p, o)
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, f := range rep.Findings {
				if f.Check == verify.ProdCheckContent && f.File == tc.file && strings.Contains(f.Message, "CUST0000002") {
					found = true
				} else if f.Check != verify.ProdCheckContent {
					t.Errorf("a finding other than the content's: %s (the faulty producer recorded what it wrote)", f)
				}
			}
			if rep.OK || !found {
				t.Errorf("verify --production: ok %v, findings %v; want a %s failure naming %s and the message", rep.OK, rep.Findings, verify.ProdCheckContent, tc.file)
			}
		})
	}
}

// producedMatter is contentMatter with a production of all of it, in
// both formats, at dir/p (out).
func producedMatter(t *testing.T, dir string) (l *ledger.Ledger, st evidence.Store, key, out string) {
	t.Helper()
	l, st, key = contentMatter(t, dir)
	out = filepath.Join(dir, "p")
	if _, err := produce.Run(context.Background(), produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	return l, st, key, out
}

// contentMatter is a matter of one conversation of four messages, as
// export records them, the third with a photo.
func contentMatter(t *testing.T, dir string) (*ledger.Ledger, evidence.Store, string) {
	t.Helper()
	ctx := context.Background()
	l, key, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), "content", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	put := func(v any) hashchain.Hash {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := st.Put(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return ref.Sum
	}
	id, cust, biz := "c0000000-0000-4000-8000-000000000000", "+447700900001", "+15550100"
	mc := genesys.MessageConversation{ID: id, Participants: []genesys.MessageMediaParticipant{
		{ID: "p1", Name: "Björn Smith", Purpose: "customer", Address: cust,
			FromAddress: &genesys.Address{Name: "Björn Smith", AddressNormalized: cust},
			ToAddress:   &genesys.Address{Name: "Acme Support", AddressNormalized: biz}},
		{ID: "p2", Name: "Agent Smith", Purpose: "agent", User: &genesys.DomainEntityRef{ID: "u1", Name: "Agent Smith"}},
	}}
	start := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	var msgs []genesys.MessageData
	var refs [][]leaf.MediaRef
	for k := range 4 {
		mid := fmt.Sprintf("m%07d-0000-4000-8000-000000000000", k)
		mc.Participants[k%2].Messages = append(mc.Participants[k%2].Messages, genesys.MessageDetails{MessageID: mid})
		at := start.Add(time.Duration(k)*time.Minute + 123*time.Millisecond)
		m := genesys.MessageData{ID: mid, Timestamp: at.Format(genesys.TimeLayout), MessengerType: "whatsapp", ConversationID: id,
			NormalizedMessage: &genesys.NormalizedMessage{ID: mid, Type: "Text", Text: fmt.Sprintf("Could you send a photo of the damage, please? (%d)", k),
				Channel: &genesys.MessagingChannel{Platform: "Whatsapp", Time: at.Format(genesys.TimeLayout)}}}
		if k%2 == 0 {
			m.Direction, m.FromAddress, m.ToAddress = "inbound", cust, biz
		} else {
			m.Direction, m.FromAddress, m.ToAddress = "outbound", biz, cust
			m.CreatedBy = &genesys.UserRef{ID: "u1", Name: "Agent Smith"}
			m.NormalizedMessage.OriginatingEntity = "Human"
		}
		var mrefs []leaf.MediaRef
		if k == 2 {
			ref, err := st.Put(ctx, []byte("\x89PNG a photo of the damage"))
			if err != nil {
				t.Fatal(err)
			}
			m.NormalizedMessage.Content = []genesys.MessageContent{{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{
				ID: "att-2", Mime: "image/png", Filename: "damage.png", URL: "https://media.example/att-2"}}}
			mrefs = []leaf.MediaRef{{ID: "att-2", SHA256: ref.Sum.String(), Evidence: ref.Sum.String()}}
		}
		msgs = append(msgs, m)
		refs = append(refs, mrefs)
	}
	convEv := put(mc)
	bulkEv := put(genesys.TextMessageListing{Entities: msgs})
	holdEv := put([]genesys.EntityRef{})
	mcJSON, _ := json.Marshal(mc)
	facts, _, err := derive.ReadConversation(mcJSON)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := derive.Conversation(facts, holdEv, []string{bulkEv.String()}, []string{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ce.RunID, ce.EvidenceSHA256 = "run-1", convEv
	batch := []leaf.Entry{ce}
	for k := range msgs {
		raw, _ := json.Marshal(msgs[k])
		md, payload, err := derive.DecodeMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		e, err := derive.Message(id, md, payload, false, nil, refs[k], nil)
		if err != nil {
			t.Fatal(err)
		}
		e.RunID, e.EvidenceSHA256 = "run-1", bulkEv
		batch = append(batch, e)
	}
	if _, err := l.Append(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx, key); err != nil {
		t.Fatal(err)
	}
	return l, st, key
}

// rerecord does what a faulty producer does after writing the files:
// lists them in the manifest as they are and records that manifest in a
// production entry, with its proof.
func rerecord(t *testing.T, l *ledger.Ledger, key, dir string) {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(dir, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, err := production.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range man.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		man.Files[i].SHA256, man.Files[i].Size = hex.EncodeToString(sum[:]), int64(len(b))
	}
	if data, err = man.Marshal(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, production.ManifestFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	detail, err := leaf.EncodeDetail(&leaf.ProductionDetail{Conversations: len(man.Conversations), Files: len(man.Files) + 2, Format: "both",
		ManifestEvidenceSHA256: hex.EncodeToString(sum[:]), ManifestSHA256: hex.EncodeToString(sum[:]), Messages: len(man.Messages),
		ProofTreeSize: man.Checkpoint.Size, Selection: leaf.ProductionSelection{Conversations: []string{}}})
	if err != nil {
		t.Fatal(err)
	}
	es, err := l.Append(ctx, leaf.Entry{Kind: leaf.KindProduction, Detail: detail})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx, key); err != nil {
		t.Fatal(err)
	}
	p, err := l.Prove(ctx, es[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	pj, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, production.ProofFile), append(pj, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, dir, name string, fn func([]byte) []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	nb := fn(b)
	if bytes.Equal(nb, b) {
		t.Fatalf("%s: the tamper changed nothing", name)
	}
	if err := os.WriteFile(p, nb, 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceText puts text in place of a message object's text.
func replaceText(t *testing.T, b []byte, text string) []byte {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	old, _ := json.Marshal(o["normalizedMessage"].(map[string]any)["text"])
	nw, _ := json.Marshal(text)
	return bytes.Replace(b, old, nw, 1)
}

// datColumn sets column of the row whose BEGDOC is ctrl.
func datColumn(t *testing.T, b []byte, ctrl, column, value string) []byte {
	t.Helper()
	lines := strings.Split(string(b), "\r\n")
	head := strings.Split(strings.TrimPrefix(lines[0], "\ufeff"), "\x14")
	col := -1
	for i, h := range head {
		if h == "\u00fe"+column+"\u00fe" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no column %s", column)
	}
	for i, ln := range lines {
		f := strings.Split(ln, "\x14")
		if f[0] == "\u00fe"+ctrl+"\u00fe" {
			f[col] = "\u00fe" + value + "\u00fe"
			lines[i] = strings.Join(f, "\x14")
		}
	}
	return []byte(strings.Join(lines, "\r\n"))
}

// rsmfBody rewrites an .rsmf file with the second event's body set to
// body: the zip's rsmf_manifest.json edited, the file written anew.
func rsmfBody(t *testing.T, b []byte, body string) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p)
		h := textproto.MIMEHeader{}
		for k, v := range p.Header {
			h[k] = v
		}
		if p.FileName() == produce.RSMFZip {
			zipData, err := base64.StdEncoding.DecodeString(string(bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r"), nil), []byte("\n"), nil)))
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
			if err != nil {
				t.Fatal(err)
			}
			var zb bytes.Buffer
			zw := zip.NewWriter(&zb)
			for _, zf := range zr.File {
				rc, _ := zf.Open()
				content, _ := io.ReadAll(rc)
				rc.Close()
				if zf.Name == produce.RSMFManifest {
					var man map[string]any
					if err := json.Unmarshal(content, &man); err != nil {
						t.Fatal(err)
					}
					man["events"].([]any)[1].(map[string]any)["body"] = body
					content, _ = json.Marshal(man)
				}
				w, _ := zw.Create(zf.Name)
				w.Write(content)
			}
			zw.Close()
			data = []byte(base64.StdEncoding.EncodeToString(zb.Bytes()))
		} else {
			h.Del("Content-Transfer-Encoding") // multipart.Reader decoded it
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	return []byte("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=" + mw.Boundary() + "\r\n\r\n" + out.String())
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// TestProductionRSMFOnlySaysBodiesUnchecked: an RSMF-only production
// (the default --format) carries no native, so its events' bodies cannot
// be held to the leaves: a faulty producer's altered body passes, as
// docs/produce.md says, but the report now says what went unchecked
// (Unchecked; verify --production's WARN line), where it said only that
// every check holds. With a DAT beside it, nothing is left unchecked and
// the body is a failure.
func TestProductionRSMFOnlySaysBodiesUnchecked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, st, key := contentMatter(t, dir)
	o := verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l}
	rsmfFile := "rsmf/c0000000-0000-4000-8000-000000000000.rsmf"
	for _, format := range []string{produce.FormatRSMF, produce.FormatBoth} {
		out := filepath.Join(dir, format)
		if _, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st},
			produce.Options{Out: out, Format: format, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
			t.Fatal(err)
		}
		edit(t, out, rsmfFile, func(b []byte) []byte { return rsmfBody(t, b, "We admit liability.") })
		rerecord(t, l, key, out)
		rep, err := verify.Production(ctx, out, o)
		if err != nil {
			t.Fatal(err)
		}
		if format == produce.FormatRSMF {
			if !rep.OK || len(rep.Unchecked) != 1 || rep.Unchecked[0] != verify.UncheckedRSMFBodies {
				t.Errorf("rsmf only: ok %v, unchecked %q, findings %v; want ok and the bodies said unchecked", rep.OK, rep.Unchecked, rep.Findings)
			}
		} else if rep.OK || len(rep.Unchecked) != 0 {
			t.Errorf("both: ok %v, unchecked %q; want the body a failure, nothing unchecked", rep.OK, rep.Unchecked)
		}
	}
}

// TestProductionMessageProofsAttestations: produce gives every message
// proof the same checkpoint, timestamp tokens and cosignatures, and
// verify --production checks the tokens and cosignatures of one proof
// for each distinct set the message proofs carry (MessagesProofs), where
// it checked the first message's alone: a faulty producer's token in
// another proof went unseen. A proof whose tokens differ is itself a
// proof failure naming it.
func TestProductionMessageProofsAttestations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _, key, out := producedMatter(t, dir)
	o := verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l}
	rep, err := verify.Production(ctx, out, o)
	if err != nil || !rep.OK || len(rep.MessagesProofs) != 1 {
		t.Fatalf("as produced: %v ok %v, message proofs checked %q", err, rep.OK, rep.MessagesProofs)
	}
	data, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, err := production.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	other := man.Messages[2].Proof
	edit(t, out, other, func(b []byte) []byte {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		m["timestamps"] = []map[string]string{{"tsa": "https://tsa.example/", "token": base64.StdEncoding.EncodeToString([]byte("not a token"))}}
		j, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return j
	})
	rerecord(t, l, key, out)
	rep, err = verify.Production(ctx, out, o)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		found = found || (f.Check == verify.ProdCheckProof && f.File == other && strings.Contains(f.Message, "other timestamp tokens"))
	}
	if rep.OK || !found || len(rep.MessagesProofs) != 2 || rep.MessagesProofs[1] != other {
		t.Errorf("a proof with another token: ok %v, findings %v, message proofs checked %q; want a proof failure naming %s and it checked", rep.OK, rep.Findings, rep.MessagesProofs, other)
	}
}
