package produce_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

type matter struct {
	srv   *sim.Server
	l     *ledger.Ledger
	store evidence.Store
	key   string
	dir   string
}

// capture exports every WhatsApp conversation of a simulated org (with
// attachments and legal holds) into a fresh ledger.
func capture(t *testing.T, conversations int) *matter {
	t.Helper()
	start := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: conversations, Start: start, End: start.AddDate(0, 0, 5), LegalHoldShare: 0.3, OtherMediaShare: 0.2},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	le := ledgertest.New(t, "m")
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: 1e9,
		PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: le.Ledger, Evidence: le.Store}, export.Options{
		Scope: export.Scope{Matter: "m", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: le.Key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	return &matter{srv: srv, l: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
}

func (m *matter) produce(t *testing.T, out string, o produce.Options) (*produce.Result, error) {
	t.Helper()
	o.Out = out
	o.SignerKey = m.key
	o.VerifierKey = m.l.VerifierKey()
	return produce.Run(context.Background(), produce.Deps{Ledger: m.l, Store: m.store}, o)
}

// want is a message as the ledger and its evidence say it is, read here
// independently of the package.
type want struct {
	seq      uint64
	convID   string
	text     string
	from     string // fromAddress
	at       string
	media    map[string][]byte // attachment sha256 → bytes
	leafHash string
}

// ledgerMessages reads the latest capture of every message, and its
// content from the evidence.
func ledgerMessages(t *testing.T, m *matter) (map[string]*want, map[string]bool) {
	t.Helper()
	ctx := context.Background()
	out := map[string]*want{}
	held := map[string]bool{}
	for e, err := range m.l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case leaf.KindConversation:
			d, _ := leaf.DecodeDetail(e.Kind, e.Detail)
			held[e.ConversationID] = d.(*leaf.ConversationDetail).LegalHold
		case leaf.KindMessage:
			body, err := m.store.Get(ctx, e.EvidenceSHA256)
			if err != nil {
				t.Fatal(err)
			}
			raws, _ := derive.MessagesIn(body)
			var md *genesys.MessageData
			for _, raw := range raws {
				x, _, _ := derive.DecodeMessage(raw)
				if x.ID == e.MessageID {
					md = x
				}
			}
			if md == nil {
				t.Fatalf("message %s not in its evidence", e.MessageID)
			}
			ts, _, _ := genesys.ParseTimestamp(md.Timestamp)
			w := &want{seq: e.Seq, convID: e.ConversationID, text: genesys.MessageText(md), from: md.FromAddress,
				at: genesys.FormatMillis(ts), media: map[string][]byte{}, leafHash: e.LeafHash.String()}
			d, _ := leaf.DecodeDetail(e.Kind, e.Detail)
			for _, r := range d.(*leaf.MessageDetail).Media {
				if r.Evidence != "" {
					b, err := m.store.Get(ctx, hashchain.MustParseHash(r.Evidence))
					if err != nil {
						t.Fatal(err)
					}
					w.media[r.SHA256] = b
				}
			}
			out[e.MessageID] = w
		}
	}
	return out, held
}

func custom(cs []produce.RSMFCustom, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// readBack parses every .rsmf file and the DAT of a production.
func readBack(t *testing.T, dir string) (events map[string]produce.RSMFEvent, files map[string][]byte, parts map[string]produce.RSMFParticipant, convs map[string]produce.RSMFConversation) {
	t.Helper()
	events, files = map[string]produce.RSMFEvent{}, map[string][]byte{}
	parts, convs = map[string]produce.RSMFParticipant{}, map[string]produce.RSMFConversation{}
	names, _ := filepath.Glob(filepath.Join(dir, "rsmf", "*.rsmf"))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := produce.ReadRSMF(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var man produce.RSMF
		if err := json.Unmarshal(f.Manifest, &man); err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.Atoi(f.Header.Get("X-RSMF-EventCount")); n != len(man.Events) {
			t.Errorf("%s: X-RSMF-EventCount %d, %d events", name, n, len(man.Events))
		}
		for _, p := range man.Participants {
			parts[p.ID] = p
		}
		for _, c := range man.Conversations {
			convs[c.ID] = c
		}
		for _, ev := range man.Events {
			if ev.Type != "message" {
				continue
			}
			if _, dup := events[ev.ID]; dup {
				t.Errorf("message %s produced twice", ev.ID)
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", ev.Timestamp); err != nil {
				t.Errorf("event %s: timestamp %q is not RFC 3339 UTC with milliseconds", ev.ID, ev.Timestamp)
			}
			events[ev.ID] = ev
			for _, a := range ev.Attachments {
				files[a.ID] = f.Files[a.ID]
			}
		}
	}
	return events, files, parts, convs
}

func TestProduceRoundTrip(t *testing.T) {
	// Batches of 3 entries: the scan reuses its buffers many times over,
	// so a message that kept a view of one would come out wrong.
	defer produce.SetScanBatchSize(3)()
	m := capture(t, 40)
	out := filepath.Join(t.TempDir(), "prod")
	res, err := m.produce(t, out, produce.Options{Format: produce.FormatBoth, Prefix: "ABC", Start: 100})
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs, _ := ledgerMessages(t, m)
	if res.Messages != len(wantMsgs) {
		t.Fatalf("produced %d messages, the ledger holds %d", res.Messages, len(wantMsgs))
	}
	events, files, parts, _ := readBack(t, out)
	if len(events) != len(wantMsgs) {
		t.Fatalf("%d message events, want %d", len(events), len(wantMsgs))
	}
	attachments := 0
	for id, w := range wantMsgs {
		ev, ok := events[id]
		if !ok {
			t.Fatalf("message %s not produced", id)
		}
		if ev.Body != w.text || ev.Timestamp != w.at || ev.Conversation != w.convID {
			t.Errorf("message %s: body %q at %s in %s, want %q at %s in %s", id, ev.Body, ev.Timestamp, ev.Conversation, w.text, w.at, w.convID)
		}
		if p := parts[ev.Participant]; custom(p.Custom, "address") != w.from {
			t.Errorf("message %s: sender %+v, want address %s", id, p, w.from)
		}
		if custom(ev.Custom, "ledger_seq") != strconv.FormatUint(w.seq, 10) || custom(ev.Custom, "leaf_hash") != w.leafHash {
			t.Errorf("message %s: custom %+v, want seq %d leaf hash %s", id, ev.Custom, w.seq, w.leafHash)
		}
		if len(ev.Attachments) != len(w.media) {
			t.Errorf("message %s: %d attachments, want %d", id, len(ev.Attachments), len(w.media))
		}
		for _, a := range ev.Attachments {
			sum := sha256.Sum256(files[a.ID])
			if b, ok := w.media[hex.EncodeToString(sum[:])]; !ok || !bytes.Equal(b, files[a.ID]) {
				t.Errorf("message %s: attachment %s is not the evidence's bytes", id, a.ID)
			}
			attachments++
		}
	}
	if attachments == 0 {
		t.Error("no attachment produced: the test proves nothing about them")
	}

	// The DAT: one message row per message, attachments as children.
	data, err := os.ReadFile(filepath.Join(out, production.DATFile))
	if err != nil {
		t.Fatal(err)
	}
	cols, rows, err := production.ReadDAT(data)
	if err != nil {
		t.Fatal(err)
	}
	col := func(r []string, name string) string { return r[slices.Index(cols, name)] }
	// Paths in the DAT and the OPT are relative to their folder, as a
	// loader resolves them from the load file's.
	datDir := filepath.Join(out, filepath.FromSlash(production.DATDir))
	fromDAT := func(p string) string { return filepath.Join(datDir, filepath.FromSlash(p)) }
	images := map[string]string{} // control number → path, of attachment rows the OPT must list
	seen := map[string]bool{}
	first := true
	for _, r := range rows {
		if first && col(r, "BEGDOC") != "ABC0000100" {
			t.Errorf("first control number %s, want ABC0000100", col(r, "BEGDOC"))
		}
		first = false
		id := col(r, "MESSAGE_ID")
		w := wantMsgs[id]
		if w == nil {
			t.Fatalf("DAT row for unknown message %s", id)
		}
		if _, err := os.Stat(fromDAT(col(r, "PROOF_PATH"))); err != nil {
			t.Errorf("row %s: PROOF_PATH: %v", col(r, "BEGDOC"), err)
		}
		native, err := os.ReadFile(fromDAT(col(r, "NATIVE_PATH")))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(native)
		if hex.EncodeToString(sum[:]) != col(r, "SHA256") {
			t.Errorf("row %s: SHA256 column is not the native's", col(r, "BEGDOC"))
		}
		if col(r, "PARENT_DOCID") != "" {
			if col(r, "MIME_TYPE") == "image/jpeg" {
				images[col(r, "BEGDOC")] = col(r, "NATIVE_PATH")
			}
			if _, ok := w.media[col(r, "SHA256")]; !ok {
				t.Errorf("attachment row %s is not one of the message's media", col(r, "BEGDOC"))
			}
			continue
		}
		if seen[id] {
			t.Errorf("message %s has two DAT rows", id)
		}
		seen[id] = true
		text, err := os.ReadFile(fromDAT(col(r, "TEXT_PATH")))
		if err != nil {
			t.Fatal(err)
		}
		if string(text) != w.text || col(r, "DATETIME_SENT_UTC") != w.at || col(r, "LEDGER_SEQ") != strconv.FormatUint(w.seq, 10) ||
			!strings.Contains(col(r, "FROM"), w.from) || col(r, "CONVERSATION_ID") != w.convID {
			t.Errorf("row %s: %q", col(r, "BEGDOC"), r)
		}
		// The native is the API object exactly as kept: its payload hash is the leaf's.
		if p, _ := derive.PayloadHash(native); p.String() != col(r, "PAYLOAD_SHA256") {
			t.Errorf("row %s: native does not hash to the payload", col(r, "BEGDOC"))
		}
	}
	if len(seen) != len(wantMsgs) {
		t.Errorf("DAT has %d messages, want %d", len(seen), len(wantMsgs))
	}
	// The OPT lists the JPEG attachments, which an image load takes, and
	// nothing else (PNG and WebP stay natives).
	opt, err := os.ReadFile(filepath.Join(out, production.OPTFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(opt), "\r\n"), "\r\n") {
		f := strings.Split(line, ",")
		if len(f) != 7 {
			t.Fatalf("OPT line %q", line)
		}
		listed[f[0]] = f[2]
		if _, err := os.Stat(fromDAT(f[2])); err != nil {
			t.Errorf("OPT %s: %v", f[0], err)
		}
	}
	if len(images) == 0 || !maps.Equal(listed, images) {
		t.Errorf("OPT lists %v, want the JPEG attachments %v", listed, images)
	}

	// The production is in the ledger.
	e, err := m.l.Entry(context.Background(), res.Seq)
	if err != nil || e.Kind != leaf.KindProduction {
		t.Fatalf("entry %d: %v %s", res.Seq, err, e.Kind)
	}
	man, _ := os.ReadFile(filepath.Join(out, production.ManifestFile))
	sum := sha256.Sum256(man)
	d, _ := leaf.DecodeDetail(e.Kind, e.Detail)
	if d.(*leaf.ProductionDetail).ManifestSHA256 != hex.EncodeToString(sum[:]) {
		t.Error("the ledger entry does not hold the manifest's hash")
	}

	// Reproducible: the same selection again gives the same files.
	out2 := filepath.Join(t.TempDir(), "again")
	res2, err := m.produce(t, out2, produce.Options{Format: produce.FormatBoth, Prefix: "ABC", Start: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res2.ManifestSHA256 != res.ManifestSHA256 || res2.SignedForProof {
		t.Errorf("second production: manifest %s (signed %v), first %s", res2.ManifestSHA256, res2.SignedForProof, res.ManifestSHA256)
	}
	sameFiles(t, man, out, out2)
}

// sameFiles checks that every file the manifest man lists is the same
// in the productions out and out2.
func sameFiles(t *testing.T, man []byte, out, out2 string) {
	t.Helper()
	pm, err := production.ParseManifest(man)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pm.Files {
		a, _ := os.ReadFile(filepath.Join(out, f.Path))
		b, _ := os.ReadFile(filepath.Join(out2, f.Path))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two productions of the same selection", f.Path)
		}
	}
}

func TestProduceSelections(t *testing.T) {
	m := capture(t, 40)
	wantMsgs, held := ledgerMessages(t, m)
	convsOf := func(dir string) []string {
		_, _, _, convs := readBack(t, dir)
		var ids []string
		for id := range convs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	var heldIDs, all []string
	seen := map[string]bool{}
	for _, w := range wantMsgs {
		if !seen[w.convID] {
			seen[w.convID] = true
			all = append(all, w.convID)
			if held[w.convID] {
				heldIDs = append(heldIDs, w.convID)
			}
		}
	}
	slices.Sort(heldIDs)
	slices.Sort(all)
	if len(heldIDs) == 0 || len(heldIDs) == len(all) {
		t.Fatalf("%d of %d conversations held: the test needs some of each", len(heldIDs), len(all))
	}
	t.Run("legal hold only", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "p")
		if _, err := m.produce(t, out, produce.Options{Selection: produce.Selection{LegalHoldOnly: true}}); err != nil {
			t.Fatal(err)
		}
		if got := convsOf(out); !slices.Equal(got, heldIDs) {
			t.Errorf("conversations %v, want the held %v", got, heldIDs)
		}
	})
	t.Run("conversations", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "p")
		pick := []string{all[3], all[1]}
		if _, err := m.produce(t, out, produce.Options{Selection: produce.Selection{Conversations: pick}}); err != nil {
			t.Fatal(err)
		}
		if got := convsOf(out); !slices.Equal(got, []string{all[1], all[3]}) {
			t.Errorf("conversations %v, want %v", got, pick)
		}
	})
	t.Run("diff", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "p")
		pick := []string{all[2], "never-captured"}
		if _, err := m.produce(t, out, produce.Options{Selection: produce.Selection{DiffRunID: "diff-x", DiffConversations: pick}}); err != nil {
			t.Fatal(err)
		}
		if got := convsOf(out); !slices.Equal(got, []string{all[2]}) {
			t.Errorf("conversations %v, want %v", got, all[2:3])
		}
	})
}

func TestProduceBadInput(t *testing.T) {
	m := capture(t, 10)
	head := func() uint64 {
		h, err := m.l.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h.Size
	}
	before := head()
	parent := t.TempDir()
	full := filepath.Join(parent, "full")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), []byte("x"), 0o644)
	cases := []struct {
		name string
		out  string
		o    produce.Options
		want error
	}{
		{"unknown conversation", filepath.Join(parent, "a"), produce.Options{Selection: produce.Selection{Conversations: []string{"nope"}}}, produce.ErrUnknownConversation},
		{"empty selection", filepath.Join(parent, "b"), produce.Options{Selection: produce.Selection{Interval: "2030-01-01T00:00:00Z/2030-01-02T00:00:00Z"}}, produce.ErrEmptySelection},
		{"bad interval", filepath.Join(parent, "c"), produce.Options{Selection: produce.Selection{Interval: "yesterday"}}, produce.ErrBadInterval},
		{"not empty", full, produce.Options{}, produce.ErrOutNotEmpty},
		{"out is a file", filepath.Join(full, "x"), produce.Options{}, produce.ErrOutNotEmpty},
		{"prefix not a file name", filepath.Join(parent, "d"), produce.Options{Prefix: "../../evil"}, produce.ErrBadOption},
		{"digits", filepath.Join(parent, "e"), produce.Options{Digits: 13}, produce.ErrBadOption},
		{"negative start", filepath.Join(parent, "f"), produce.Options{Start: -1}, produce.ErrBadOption},
		// The first number does not fit: refused before anything is
		// read, where one at the top of int once wrapped the numbers
		// handed out to negative ones (CUST-9223372036854771265).
		{"start beyond the digits", filepath.Join(parent, "g"), produce.Options{Format: produce.FormatDAT, Start: 1e12, Digits: 12}, produce.ErrBadOption},
		{"start at the top of int", filepath.Join(parent, "h"), produce.Options{Format: produce.FormatDAT, Start: math.MaxInt64, Digits: 12}, produce.ErrBadOption},
		{"start at the top of int, rsmf", filepath.Join(parent, "i"), produce.Options{Start: math.MaxInt64}, produce.ErrBadOption},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.produce(t, c.out, c.o)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
	// A start that fits, with more numbers to hand out than are left.
	t.Run("numbers past the digits", func(t *testing.T) {
		_, err := m.produce(t, filepath.Join(parent, "j"), produce.Options{Format: produce.FormatDAT, Start: 999_999_999_995, Digits: 12})
		if err == nil || !strings.Contains(err.Error(), "control numbers up to 1000000000") || !strings.Contains(err.Error(), "do not fit in 12 digits") {
			t.Fatalf("err %v, want control numbers that do not fit in 12 digits", err)
		}
	})
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 {
		t.Errorf("the failed productions left %d entries beside the output: %v", len(ents), ents)
	}
	if h := head(); h != before {
		t.Errorf("the ledger grew from %d to %d entries", before, h)
	}
}

// TestProduceSaysUndownloadedAttachments: an attachment the ledger holds
// no media for (the API gave no url) is named in the event's
// media_not_stored, not left out unsaid.
func TestProduceSaysUndownloadedAttachments(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 13)
	out := filepath.Join(t.TempDir(), "prod")
	if _, err := produce.Run(context.Background(), produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, Format: produce.FormatRSMF, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	events, _, _, _ := readBack(t, out)
	ev, ok := events["m0000000-0012-4000-8000-000000000000"]
	if !ok {
		t.Fatal("the message with the url-less attachment is not produced")
	}
	if got := custom(ev.Custom, "media_not_stored"); got != "nourl-m0000000: not downloaded (the API gave no url)" {
		t.Errorf("media_not_stored %q", got)
	}
}
