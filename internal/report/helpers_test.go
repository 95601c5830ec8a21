package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/custodyhq/custody/internal/demo"
	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// demoMatter runs the demo once per test binary (seed 3, 60
// conversations: its old export loses, alters and shifts messages of
// conversations under legal hold) and returns its result; tests copy
// nothing, they open the matter and write further reports beside it.
var demoOnce struct {
	sync.Once
	res *demo.Result
	err error
	dir string
}

func demoMatter(t *testing.T) *demo.Result {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "custody-report-test-")
		if err != nil {
			demoOnce.err = err
			return
		}
		demoOnce.dir = dir
		demoOnce.res, demoOnce.err = demo.Run(context.Background(), demo.Config{Dir: filepath.Join(dir, "d"), Conversations: 60, Seed: 3, ToolVersion: "devel"}, io.Discard)
	})
	if demoOnce.err != nil {
		t.Fatalf("demo: %v", demoOnce.err)
	}
	return demoOnce.res
}

func TestMain(m *testing.M) {
	if os.Getenv(killHelperEnv) != "" {
		os.Exit(killHelper())
	}
	code := m.Run()
	if demoOnce.dir != "" {
		os.RemoveAll(demoOnce.dir)
	}
	os.Exit(code)
}

// openDemo opens the demo's matter for writing, for one test.
func openDemo(t *testing.T) (*matter.Matter, evidence.Store, string) {
	t.Helper()
	return openMatter(t, demoMatter(t))
}

// openMatter opens the matter a demo made, its evidence and signer key.
func openMatter(t *testing.T, res *demo.Result) (*matter.Matter, evidence.Store, string) {
	t.Helper()
	m, err := matter.Open(context.Background(), matter.Options{Ledger: res.Ledger, Command: "report test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	st, err := m.Evidence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key, err := m.SignerKey()
	if err != nil {
		t.Fatal(err)
	}
	return m, st, key
}

// readDoc reads and schema-validates a report.json.
func readDoc(t *testing.T, path string) *report.Doc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, b)
	var doc report.Doc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &doc
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// validate checks report.json against the documented schema
// (schema.json, which docs/report.md includes).
func validate(t *testing.T, b []byte) {
	t.Helper()
	schemaOnce.Do(func() {
		raw, err := os.ReadFile("schema.json")
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("schema.json", doc); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile("schema.json")
	})
	if schemaErr != nil {
		t.Fatalf("schema: %v", schemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("report.json is not JSON: %v", err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("report.json does not validate against schema.json: %v", err)
	}
}

var dataN = regexp.MustCompile(`id="([a-z0-9-]+)" data-n="(\d+)"`)

// htmlNumbers returns the numbers report.html marks with an id and data-n.
func htmlNumbers(t *testing.T, html string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range dataN.FindAllStringSubmatch(html, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

// ledgerCounts counts, from the ledger alone, what the summary states.
type ledgerCounts struct {
	conversations, messages, held int
	attachments                   int // kept as evidence
	heldIDs                       map[string]bool
	size                          uint64
	root                          hashchain.Hash
}

func countLedger(t *testing.T, l *ledger.Ledger, upTo uint64) ledgerCounts {
	t.Helper()
	c := ledgerCounts{heldIDs: map[string]bool{}}
	convs := map[string]bool{}
	var hs []hashchain.Hash
	for e, err := range l.Entries(context.Background(), ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq >= upTo {
			break
		}
		hs = append(hs, e.LeafHash)
		switch e.Kind {
		case leaf.KindMessage:
			convs[e.ConversationID] = true
			if e.Supersedes == nil {
				c.messages++
				d, err := leaf.DecodeDetail(e.Kind, e.Detail)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range d.(*leaf.MessageDetail).Media {
					if m.Evidence != "" {
						c.attachments++
					}
				}
			}
		case leaf.KindConversation:
			convs[e.ConversationID] = true
			d, err := leaf.DecodeDetail(e.Kind, e.Detail)
			if err != nil {
				t.Fatal(err)
			}
			c.heldIDs[e.ConversationID] = d.(*leaf.ConversationDetail).LegalHold
		}
	}
	for _, h := range c.heldIDs {
		if h {
			c.held++
		}
	}
	c.conversations, c.size, c.root = len(convs), uint64(len(hs)), hashchain.Root(hs)
	return c
}

// hostileTexts are message texts a report must render inert.
var hostileTexts = []string{
	`<script>document.title='pwned';fetch('http://127.0.0.1:9/script')</script>`,
	`<img src="http://127.0.0.1:9/img.png" onerror="alert(1)">`,
	`</bdi></div></section><a href="http://127.0.0.1:9/link" id="injected">click</a><style>body{display:none}</style>`,
	"\u202eevil.exe\u202c and \u2067isolate\u2069 and \u200fRLM \u061c ALM",
	`" onmouseover="alert(1)" x="`,
	"{{.Doc.Matter.Name}} ${7*7} <!-- -->",
	"javascript:alert(1)",
}

// hostileMatter builds a matter by hand whose one conversation, under
// legal hold, holds the hostile texts and a 1 MB message (mods change each
// message before it is stored); every leaf is
// derived from its evidence exactly as export derives it, so the ledger
// verifies.
func hostileMatter(t *testing.T, big string, mods ...func(int, map[string]any)) *ledgertest.Env {
	t.Helper()
	ctx := context.Background()
	env := ledgertest.New(t, "Hostile <script>alert('matter')</script> \u202emoc.live")
	conv := "c0ffee00-0000-4000-8000-000000000001"
	var msgs []map[string]any
	texts := append(append([]string{}, hostileTexts...), big)
	var parts []map[string]any
	for i, text := range texts {
		id := fmt.Sprintf("m%02d", i)
		msgs = append(msgs, map[string]any{
			"id": id, "timestamp": fmt.Sprintf("2024-03-01T10:%02d:00.123Z", i), "fromAddress": "+1555<b>0100</b>", "toAddress": "+15550199",
			"direction": "inbound", "messengerType": "whatsapp", "status": "received", "conversationId": conv,
			"normalizedMessage": map[string]any{"type": "Text", "text": text, "direction": "Inbound", "originatingEntity": "Human",
				"channel": map[string]any{"platform": "Whatsapp", "from": map[string]any{"nickname": "<i>Mallory</i>\u202e"}},
				// With a url, as the API serves one to download: captured
				// with --media=false, so the ledger holds no bytes of it.
				"content": []map[string]any{{"contentType": "Attachment", "attachment": map[string]any{"id": "a" + id, "mediaType": "File",
					"url": "https://media.example.invalid/a" + id, "filename": "<script>x</script>.pdf", "mime": "application/pdf", "sha256": strings.Repeat("ab", 32)}}}},
		})
		for _, mod := range mods {
			mod(i, msgs[i])
		}
		parts = append(parts, map[string]any{"messageId": id})
	}
	bulk, _ := json.Marshal(map[string]any{"entities": msgs})
	convBody, _ := json.Marshal(map[string]any{"id": conv, "participants": []map[string]any{
		{"id": "p1", "purpose": "customer", "name": "<b>Mallory</b> \u202e", "messages": parts,
			"fromAddress": map[string]any{"addressNormalized": "+1555<script>"}}}})
	hold := []byte(`[{"id":"` + conv + `"}]`)
	put := func(b []byte) hashchain.Hash {
		ref, err := env.Store.Put(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return ref.Sum
	}
	bulkSum, convSum, holdSum := put(bulk), put(convBody), put(hold)
	facts, _, err := derive.ReadConversation(convBody)
	if err != nil {
		t.Fatal(err)
	}
	facts.Held = true
	ce, err := derive.Conversation(facts, holdSum, []string{bulkSum.String()}, []string{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ce.EvidenceSHA256 = convSum
	ce.Source = &leaf.Source{Method: "GET", Path: "/api/v2/conversations/messages/" + conv, Status: 200}
	entries := []leaf.Entry{ce}
	raws, err := derive.MessagesIn(bulk)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		md, payload, err := derive.DecodeMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		e, err := derive.Message(conv, md, payload, true, nil, nil, nil) // a v1 leaf: the report reads content from evidence either way
		if err != nil {
			t.Fatal(err)
		}
		e.EvidenceSHA256 = bulkSum
		e.Source = &leaf.Source{Method: "POST", Path: "/api/v2/conversations/messages/" + conv + "/messages/bulk", Status: 200}
		entries = append(entries, e)
	}
	if _, err := env.Ledger.Append(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Ledger.Checkpoint(ctx, env.Key); err != nil {
		t.Fatal(err)
	}
	return env
}
