package leaf

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestKindsTable checks that the kinds table is complete: every Kind
// constant is a row and every row a constant, every row is documented,
// and every detail type of the package belongs to exactly one row.
func TestKindsTable(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]bool{}
	detailTypes := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					vs, ok := s.(*ast.ValueSpec)
					if !ok || d.Tok != token.CONST {
						continue
					}
					for i, n := range vs.Names {
						if strings.HasPrefix(n.Name, "Kind") && i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
								v, _ := strconv.Unquote(lit.Value)
								consts[v] = true
							}
						}
					}
				}
			case *ast.FuncDecl:
				if d.Name.Name == "EvidenceRefs" && d.Recv != nil {
					if star, ok := d.Recv.List[0].Type.(*ast.StarExpr); ok {
						detailTypes[star.X.(*ast.Ident).Name] = true
					}
				}
			}
		}
	}
	rows := map[string]bool{}
	for _, k := range Kinds() {
		if rows[k.Name] {
			t.Errorf("kind %q twice in the table", k.Name)
		}
		rows[k.Name] = true
		if !consts[k.Name] {
			t.Errorf("kind %q has no Kind constant", k.Name)
		}
		if !validKind(k.Name) || k.Doc == "" {
			t.Errorf("kind %q: not a valid kind name, or undocumented", k.Name)
		}
		if d := k.NewDetail(); d != nil {
			name := reflect.TypeOf(d).Elem().Name()
			if d.Kind() != k.Name || !detailTypes[name] {
				t.Errorf("kind %q: detail type %s says kind %q", k.Name, name, d.Kind())
			}
			delete(detailTypes, name)
		}
	}
	for c := range consts {
		if !rows[c] {
			t.Errorf("Kind constant %q is not in the table", c)
		}
	}
	delete(detailTypes, "RawDetail")
	delete(detailTypes, "Entry") // Entry.EvidenceRefs gathers its detail's
	for name := range detailTypes {
		t.Errorf("detail type %s belongs to no kind", name)
	}
}

// legacyMediaRef is export.MediaRef as it was, field order and all.
type legacyMediaRef struct {
	ID       string `json:"id"`
	SHA256   string `json:"sha256"`
	Evidence string `json:"evidence_sha256"`
}

// detailCase is a detail as custody's writers built it before the typed
// details (json.Marshal of a map, copied from each writer), and the same
// detail typed.
type detailCase struct {
	name   string
	legacy map[string]any
	typed  Detail
}

func detailCases() []detailCase {
	hash := strings.Repeat("ab", 32)
	odd := "<&> é 日本語 🙂 \u2028 \"q\" \\ \t\x01"
	acct := json.RawMessage(`{"run_id":"r","status":"done","conversations_listed":2,"failures":[],"wall_seconds":12.5,"requests":3,"checkpoint":"custody/x\n2\nAAA=\n\n— x y\n","stop_reason":"<&>"}`)
	scope := json.RawMessage(`{"matter":"acme","interval":"2024-01-01T00:00:00Z/2024-02-01T00:00:00Z","conversation_ids":["a","b"],"with_media":true,"key":"interval:acme"}`)
	msg := func(dm, dd, pid string, media []MediaRef) detailCase {
		d := map[string]any{"content_sha256": hash, "from": "+1555 " + odd, "to": "+1666", "direction": "inbound", "messenger_type": "whatsapp"}
		if dm != "" {
			d["date_modified"] = dm
		}
		if dd != "" {
			d["date_deleted"] = dd
		}
		if pid != "" {
			d["provider_message_id"] = pid
		}
		if len(media) > 0 {
			var old []legacyMediaRef
			for _, m := range media {
				old = append(old, legacyMediaRef(struct{ ID, SHA256, Evidence string }{m.ID, m.SHA256, m.Evidence}))
			}
			d["media"] = old
		}
		if len(media) == 0 {
			media = nil // written as no member, read back as nil
		}
		return detailCase{"message", d, &MessageDetail{ContentSHA256: hash, From: "+1555 " + odd, To: "+1666", Direction: "inbound",
			MessengerType: "whatsapp", DateModified: dm, DateDeleted: dd, ProviderMessageID: pid, Media: media}}
	}
	conv := func(held bool, audits, gone, bulk []string) detailCase {
		nonNil := func(s []string) []string {
			if s == nil {
				return []string{}
			}
			return s
		}
		return detailCase{"conversation",
			map[string]any{"legal_hold": held, "hold_evidence_sha256": hash, "audit_refs": audits,
				"messages": 7, "messages_gone": nonNil(gone), "bulk_evidence_sha256": nonNil(bulk)},
			&ConversationDetail{LegalHold: held, HoldEvidenceSHA256: hash, AuditRefs: audits, Messages: 7,
				MessagesGone: nonNil(gone), BulkEvidenceSHA256: nonNil(bulk)}}
	}
	counts := map[string]int{"missing_from_export": 3, "content_differs": 1}
	return []detailCase{
		msg("", "", "", nil),
		msg("2024-05-01T12:00:00.000Z", "2024-05-02T12:00:00.000Z", "wamid."+odd, []MediaRef{{ID: "m1", SHA256: hash, Evidence: hash}, {ID: odd}}),
		msg("", "", "", []MediaRef{}),
		conv(true, nil, nil, nil),
		conv(false, []string{"a1", odd}, []string{"g1"}, []string{hash, hash}),
		{"run start", map[string]any{"event": "start", "run_kind": "export", "operator": odd, "host": "h", "tool": "custody",
			"tool_version": "", "scope": scope, "evidence": "file:///ev?x=<&>"},
			&RunDetail{Event: RunStart, RunKind: "export", Operator: odd, Host: "h", Tool: "custody", Scope: scope, Evidence: "file:///ev?x=<&>"}},
		{"run start with source", map[string]any{"api_url": "https://api.mypurecloud.de", "client_ids": []string{"c1", odd}, "event": "start", "run_kind": "export",
			"operator": "u", "host": "h", "tool": "custody", "tool_version": "v1", "scope": scope, "evidence": "s3://b/p"},
			&RunDetail{Event: RunStart, RunKind: "export", Operator: "u", Host: "h", Tool: "custody", ToolVersion: "v1", Scope: scope, Evidence: "s3://b/p",
				APIURL: "https://api.mypurecloud.de", ClientIDs: []string{"c1", odd}}},
		{"run resume", map[string]any{"event": "resume", "run_kind": "refetch", "operator": "u", "host": "", "tool": "custody",
			"tool_version": "v1.2.3", "scope": scope, "evidence": "s3://b/p"},
			&RunDetail{Event: RunResume, RunKind: "refetch", Operator: "u", Tool: "custody", ToolVersion: "v1.2.3", Scope: scope, Evidence: "s3://b/p"}},
		{"run end", map[string]any{"event": "end", "status": "done", "accounting": acct},
			&RunDetail{Event: RunEnd, Status: "done", Accounting: acct}},
		{"diff", map[string]any{"source": "s3://b/" + odd, "format": "recording-export", "policy_sha256": hash,
			"findings_sha256": hash, "findings_evidence_sha256": EvidenceList{hash, hash},
			"files_sha256": hash, "files_evidence_sha256": EvidenceList{hash}, "files_read": 12,
			"messages": 100, "conversations": 10, "counts": counts},
			&DiffDetail{Source: "s3://b/" + odd, Format: "recording-export", PolicySHA256: hash, FindingsSHA256: hash,
				FindingsEvidenceSHA256: EvidenceList{hash, hash}, FilesSHA256: hash, FilesEvidenceSHA256: EvidenceList{hash},
				FilesRead: 12, Messages: 100, Conversations: 10, Counts: counts}},
		{"diff with who recorded it", map[string]any{"source": "/x", "format": "recording-export", "policy_sha256": hash,
			"findings_sha256": hash, "findings_evidence_sha256": EvidenceList{hash},
			"files_sha256": hash, "files_evidence_sha256": EvidenceList{hash}, "files_read": 1,
			"messages": 1, "conversations": 1, "counts": counts, "operator": odd, "host": "h", "tool_version": "v1.2.3"},
			&DiffDetail{Source: "/x", Format: "recording-export", PolicySHA256: hash, FindingsSHA256: hash,
				FindingsEvidenceSHA256: EvidenceList{hash}, FilesSHA256: hash, FilesEvidenceSHA256: EvidenceList{hash},
				FilesRead: 1, Messages: 1, Conversations: 1, Counts: counts, Operator: odd, Host: "h", ToolVersion: "v1.2.3"}},
		{"diff empty", map[string]any{"source": "", "format": "", "policy_sha256": hash,
			"findings_sha256": hash, "findings_evidence_sha256": EvidenceList(nil),
			"files_sha256": hash, "files_evidence_sha256": EvidenceList(nil), "files_read": 0,
			"messages": 0, "conversations": 0, "counts": map[string]int{}},
			&DiffDetail{PolicySHA256: hash, FindingsSHA256: hash, FilesSHA256: hash, Counts: map[string]int{}}},
		{"refetch", map[string]any{"diff_run_id": "diff-1", "refetch_run_id": "refetch-1", "finding": "missing_from_export", "outcome": "filled", "reason": odd},
			&RefetchDetail{DiffRunID: "diff-1", RefetchRunID: "refetch-1", Finding: "missing_from_export", Outcome: "filled", Reason: odd}},
		{"audit", map[string]any{"page": 2, "interval": "a/b", "service_name": "", "entries": 25},
			&AuditDetail{Page: 2, Interval: "a/b", Entries: 25}},
		{"listing", map[string]any{"page": 1, "job_id": "job-" + odd, "conversations": 0},
			&ListingDetail{Page: 1, JobID: "job-" + odd}},
		{"message v3", map[string]any{"content_sha256_commitment": hash, "from_commitment": hash, "to_commitment": hash,
			"provider_message_id_commitment": hash, "opening_evidence_sha256": hash, "direction": "inbound", "messenger_type": "whatsapp"},
			&MessageDetail{ContentCommitment: hash, FromCommitment: hash, ToCommitment: hash, ProviderMessageIDCommitment: hash,
				OpeningEvidence: hash, Direction: "inbound", MessengerType: "whatsapp"}},
		{"hold", map[string]any{"action": "hold", "conversations": []string{"c1", odd}, "object_lock": "set", "operator": "u", "reason": odd},
			&HoldDetail{Action: HoldSet, Conversations: []string{"c1", odd}, ObjectLock: "set", Operator: "u", Reason: odd}},
		{"erasure", map[string]any{"conversations": []string{"c1"}, "messages": []string{"m1", "m2"}, "erased": []string{hash},
			"kept": []map[string]string{{"object": hash, "why": odd}}, "partial": []string{}, "collateral": []string{}, "operator": "u", "reason": odd, "override_hold": "court order"},
			&ErasureDetail{Conversations: []string{"c1"}, Messages: []string{"m1", "m2"}, Erased: []string{hash},
				Kept: []ErasedKept{{Object: hash, Why: odd}}, Partial: []string{}, Collateral: []string{}, Operator: "u", Reason: odd, OverrideHold: "court order"}},
		{"report", map[string]any{"diff_run_id": "diff-1", "files": []map[string]any{{"name": "report.html", "sha256": hash, "size": 42}},
			"ledger_size": 7, "operator": odd, "root": hash, "tool_version": "v1"},
			&ReportDetail{DiffRunID: "diff-1", Files: []ReportFile{{Name: "report.html", SHA256: hash, Size: 42}}, LedgerSize: 7, Operator: odd, Root: hash, ToolVersion: "v1"}},
		{"settings", map[string]any{"setting": "tsa_urls", "action": "remove", "urls": []string{"http://tsa.example/" + odd}, "now": []string{}, "operator": odd},
			&SettingsDetail{Setting: SettingTSA, Action: SettingsRemove, URLs: []string{"http://tsa.example/" + odd}, Now: []string{}, Operator: odd}},
		{"production", map[string]any{"conversations": 2, "files": 9, "format": "both", "manifest_evidence_sha256": hash, "manifest_sha256": hash,
			"messages": 7, "proof_tree_size": 40, "selection": map[string]any{"conversations": []string{"c1", odd}, "diff_run_id": "", "interval": "a/b", "legal_hold_only": true}},
			&ProductionDetail{Conversations: 2, Files: 9, Format: "both", ManifestEvidenceSHA256: hash, ManifestSHA256: hash, Messages: 7, ProofTreeSize: 40,
				Selection: ProductionSelection{Conversations: []string{"c1", odd}, Interval: "a/b", LegalHoldOnly: true}}},
	}
}

// TestDetailBytes checks that the typed details write exactly the leaf
// bytes the map builders they replace wrote, so new leaves are what they
// always were, and that each reads those bytes back to itself.
func TestDetailBytes(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range detailCases() {
		t.Run(c.name, func(t *testing.T) {
			seen[c.typed.Kind()] = true
			old, err := json.Marshal(c.legacy)
			if err != nil {
				t.Fatal(err)
			}
			want, err := CanonicalDetail(old)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := EncodeDetail(c.typed)
			if err != nil {
				t.Fatal(err)
			}
			got, err := CanonicalDetail(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("leaf detail differs:\n got %s\nwant %s", got, want)
			}
			back, err := DecodeDetail(c.typed.Kind(), want)
			if err != nil {
				t.Fatal(err)
			}
			if _, raw := c.typed.(*RunDetail); !raw && !reflect.DeepEqual(back, c.typed) { // RunDetail's raw members come back canonical
				t.Fatalf("decoded\n %+v\nwant %+v", back, c.typed)
			}
			again, _ := EncodeDetail(back)
			if again, _ = CanonicalDetail(again); !bytes.Equal(again, want) {
				t.Fatalf("round trip:\n got %s\nwant %s", again, want)
			}
		})
	}
	for _, k := range Kinds() {
		if k.NewDetail() != nil && !seen[k.Name] {
			t.Errorf("kind %q has no detail case", k.Name)
		}
	}
}

// TestDetailIsCanonical checks that a plain detail needs no
// canonicalizing: the leaf encoder only checks it.
func TestDetailIsCanonical(t *testing.T) {
	raw, err := EncodeDetail(&MessageDetail{ContentSHA256: "ab", From: "+1", To: "+2", Direction: "inbound", MessengerType: "whatsapp",
		Media: []MediaRef{{ID: "m", SHA256: "s", Evidence: "e"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !isCanonical(raw) {
		t.Errorf("%s is not in RFC 8785 form", raw)
	}
}

func TestEvidenceRefs(t *testing.T) {
	hash := strings.Repeat("cd", 32)
	for _, c := range detailCases() {
		raw, _ := EncodeDetail(c.typed)
		e := Entry{Kind: c.typed.Kind(), Detail: raw}
		e.EvidenceSHA256[0] = 1
		got, err := e.EvidenceRefs()
		if err != nil {
			t.Fatal(err)
		}
		// The typed lists name what the generic search finds.
		generic := (&RawDetail{Raw: raw}).EvidenceRefs()
		if len(got) != 1+len(generic) || got[0].Role != RoleResponse {
			t.Errorf("%s: typed refs %v, generic %v", c.name, got, generic)
		}
	}
	e := Entry{Kind: "other", Detail: json.RawMessage(`{"a":{"x_evidence_sha256":"` + hash + `"},"evidence_sha256":["` + hash + `"],"b":1}`)}
	got, err := e.EvidenceRefs()
	if err != nil || len(got) != 2 {
		t.Errorf("generic refs %v, %v", got, err)
	}
	// A detail that does not fit its kind's type is searched generically.
	e = Entry{Kind: KindConversation, Detail: json.RawMessage(`{"messages":"many","hold_evidence_sha256":"` + hash + `"}`)}
	if got, err := e.EvidenceRefs(); err != nil || len(got) != 1 || got[0].SHA256 != hash {
		t.Errorf("misfit detail refs %v, %v", got, err)
	}
	if _, err := (&Entry{Kind: KindMessage, Detail: json.RawMessage(`{`)}).EvidenceRefs(); err == nil {
		t.Error("broken detail gave no error")
	}
}

var messageDetailSeeds = []string{
	`{"content_sha256":"ab","direction":"inbound","from":"+1","messenger_type":"whatsapp","to":"+2"}`,
	`{"from":"a","from":"b"}`, `{"From":"a"}`, `{"from":"a","FROM":"b"}`, `{"from":null}`, `{"from":1}`, `{"\u0066rom":"x"}`,
	`{"from":"\ud800"}`, `{"from":"\ud83d\ude00 \u00e9 \n"}`, ` { "to" : "x" , "z" : [1,{"a":null}] } `, `{"media":[]}`,
	`{"content_ſha256":"x"}`, `{"x":"\xff"}`, `{}`, `[]`, `null`, `{"a":1}x`, `{"from":"a",}`,
	`{"content_sha256":"ab","media":[{"evidence_sha256":"e","id":"i","sha256":"s"}],"to":"t"}`,
	// From internal/reconcile's detail scanner, which this decoder replaces.
	`{"content_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","direction":"inbound","from":"+15550100","messenger_type":"whatsapp","to":"+15550199"}`,
	` { "from" : "a" , "content_sha256":"b" } `, `{"ſrom":"x"}`, `{"from":"a\"b"}`, `{"from":"\u0041"}`,
	`{"media":[{"sha256":"x"}],"from":"y"}`, `{"from":"a"`, `{"from":"` + "\xff" + `"}`, `{"from":"é"}`, ``, `{"to":"` + "\x01" + `"}`,
}

// FuzzDecodeMessageDetail holds MessageDetail's fast decoder to
// unmarshalExact (FuzzUnmarshalExact holds that to an exact reader).
func FuzzDecodeMessageDetail(f *testing.F) {
	for _, s := range messageDetailSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast MessageDetail
		if !fast.decodeFast(raw, false) {
			return
		}
		var want MessageDetail
		if err := unmarshalExact(raw, &want); err != nil {
			t.Fatalf("fast path took %q; unmarshalExact: %v", raw, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", raw, fast, want)
		}
	})
}

func TestDecodeMessageDetailFast(t *testing.T) {
	for _, s := range messageDetailSeeds {
		var fast, want MessageDetail
		ok := fast.decodeFast([]byte(s), false)
		err := unmarshalExact([]byte(s), &want)
		if ok && (err != nil || !reflect.DeepEqual(fast, want)) {
			t.Errorf("%s: fast %+v, unmarshalExact %+v, %v", s, fast, want, err)
		}
	}
	// As export.MessageEntry writes it, through the leaf's RFC 8785 form.
	raw, _ := EncodeDetail(&MessageDetail{ContentSHA256: strings.Repeat("ab", 32), From: "+1 <é>", To: "+2", Direction: "inbound",
		MessengerType: "whatsapp", ProviderMessageID: "wamid.1", DateModified: "2024-03-01T10:00:00.123Z"})
	raw, _ = CanonicalDetail(raw)
	var d MessageDetail
	if !d.decodeFast(raw, false) {
		t.Errorf("fast path declined %s", raw)
	}
}

// BenchmarkDecodeMessageDetail decodes a message detail as exports write
// it: reference is json.Unmarshal, fast is the path DecodeDetail takes.
func BenchmarkDecodeMessageDetail(b *testing.B) {
	raw, _ := CanonicalDetail(mustJSON(map[string]any{"content_sha256": strings.Repeat("ab", 32), "direction": "inbound",
		"from": "+15555550100", "messenger_type": "whatsapp", "to": "+15555550199"}))
	for _, bc := range []struct {
		name   string
		decode func(*MessageDetail) bool
	}{
		{"reference", func(d *MessageDetail) bool { return json.Unmarshal(raw, d) == nil }},
		{"fast", func(d *MessageDetail) bool { return d.decodeFast(raw, false) }},
	} {
		b.Run("decoder="+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var d MessageDetail
				if !bc.decode(&d) {
					b.Fatal("decode failed")
				}
			}
		})
	}
}

// TestDiffDetailReadsOldDiffs: diffs recorded before findings were stored
// in parts named one object as a string; its evidence is still found.
func TestDiffDetailReadsOldDiffs(t *testing.T) {
	h := strings.Repeat("ef", 32)
	d, err := DecodeDetail(KindDiff, []byte(`{"findings_evidence_sha256":"`+h+`","findings_sha256":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if refs := d.EvidenceRefs(); len(refs) != 1 || refs[0] != (EvidenceRef{Role: RoleFindings, SHA256: h}) {
		t.Errorf("refs %v", refs)
	}
}

// TestMessageDetailMembers: MessageDetailMembers names exactly the
// members MarshalJSON writes, of an empty detail (always) and of a full
// one (always and whenSet), in each version; IsMediaRefMember those of a
// full MediaRef.
func TestMessageDetailMembers(t *testing.T) {
	keys := func(d any) []string {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(m))
	}
	media := MediaRef{Evidence: "e", ID: "i", Reason: "r", SHA256: "s", StatedSHA256: "x", Status: "st"}
	full := MessageDetail{ContentSHA256: "c", DateDeleted: "d", DateModified: "m", Direction: "inbound", From: "f",
		Media: []MediaRef{media}, MessengerType: "whatsapp", ProviderMessageID: "p", To: "t"}
	salted := full
	salted.ContentSHA256, salted.From, salted.ProviderMessageID, salted.To = "", "", "", ""
	salted.ContentCommitment, salted.FromCommitment, salted.ProviderMessageIDCommitment, salted.ToCommitment, salted.OpeningEvidence = "1", "2", "3", "4", "5"
	for _, c := range []struct {
		v           int
		empty, full MessageDetail
	}{{FormatV1, MessageDetail{}, full}, {FormatV3, MessageDetail{OpeningEvidence: "5"}, salted}} {
		always, whenSet := MessageDetailMembers(c.v)
		if got := keys(c.empty); !slices.Equal(got, slices.Sorted(slices.Values(always))) {
			t.Errorf("v%d: an empty detail has %q, MessageDetailMembers says always %q", c.v, got, always)
		}
		if got, want := keys(c.full), slices.Sorted(slices.Values(append(slices.Clone(always), whenSet...))); !slices.Equal(got, want) {
			t.Errorf("v%d: a full detail has %q, MessageDetailMembers says %q", c.v, got, want)
		}
	}
	for _, k := range keys(media) {
		if !IsMediaRefMember(k) {
			t.Errorf("media member %q is not a media member", k)
		}
	}
	if IsMediaRefMember("x") || IsMediaRefMember("ID") {
		t.Error("another name is a media member")
	}
}
