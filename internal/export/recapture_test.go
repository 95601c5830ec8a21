package export_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/testutil/appendix"
	"github.com/custodyhq/custody/internal/testutil/needtool"
	"github.com/custodyhq/custody/internal/verify"
)

// latestMessages returns the latest message entry of every message, and
// how many conversation entries the ledger holds.
func latestMessages(t *testing.T, e *env) (map[string]leaf.Entry, int) {
	t.Helper()
	out := map[string]leaf.Entry{}
	convs := 0
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		switch en.Kind {
		case leaf.KindMessage:
			out[en.MessageID] = en
		case leaf.KindConversation:
			convs++
		}
	}
	return out, convs
}

// detailMedia decodes a message entry's detail and returns it with its media
// taken out.
func detailMedia(t *testing.T, en leaf.Entry) (*leaf.MessageDetail, []leaf.MediaRef) {
	t.Helper()
	dd, err := leaf.DecodeDetail(leaf.KindMessage, en.Detail)
	if err != nil {
		t.Fatal(err)
	}
	d := dd.(*leaf.MessageDetail)
	media := d.Media
	d.Media = nil
	return d, media
}

// messagesWithMedia are the ids of the org's WhatsApp messages that have
// attachments.
func messagesWithMedia(t *testing.T, e *env) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			out[a.MessageID] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("the org has no attachments")
	}
	return out
}

// TestExportRecapturesMessagesWithoutMedia: a run with --media after one
// with --media=false downloads the attachments of the messages that one
// captured, unchanged since, and appends each such message again with
// them: the same payload hash, evidence, source and detail (commitments
// and opening included) but for the media, superseding the capture
// without them. It is not a change at the source (not counted changed,
// not in changed_at_source, its conversation unchanged, no conversation
// entry appended), verify --evidence re-derives it, and the next runs,
// with --media or without, append nothing. Before, such a run appended
// nothing: the attachments were never downloaded. The same with urls
// signed afresh in every response (the message then equals its capture
// but for the signatures: derive.StableHash).
func TestExportRecapturesMessagesWithoutMedia(t *testing.T) {
	for _, perRequest := range []bool{false, true} {
		t.Run(map[bool]string{false: "same urls", true: "urls signed per request"}[perRequest], func(t *testing.T) {
			testRecapture(t, perRequest)
		})
	}
}

func testRecapture(t *testing.T, perRequest bool) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour), func(o *sim.Options) { o.MediaURLPerRequest = perRequest })
	withMedia := messagesWithMedia(t, e)
	noMedia := intervalScope()
	noMedia.WithMedia = false
	first := e.run(t, noMedia)
	if first.MessagesWithoutMedia != len(withMedia) || first.MediaDownloaded != 0 {
		t.Fatalf("--media=false run: %+v, want %d messages without media", first, len(withMedia))
	}
	before, convsBefore := latestMessages(t, e)

	later := e.run(t, mediaScope())
	if later.MessagesRecaptured != len(withMedia) || later.MessagesAppended != len(withMedia) || later.MessagesWithoutMedia != 0 {
		t.Fatalf("--media run after it: %+v, want the %d messages with attachments re-captured, none left without", later, len(withMedia))
	}
	if later.MessagesChanged != 0 || len(later.ChangedAtSource) != 0 || later.Changed != 0 || later.Unchanged != later.Exported {
		t.Fatalf("--media run after it: %+v, want no change at the source: every conversation unchanged", later)
	}
	if later.MediaDownloaded == 0 || later.Invocation.MessagesAppended != len(withMedia) {
		t.Fatalf("--media run after it: %+v, want the attachments downloaded", later)
	}
	after, convsAfter := latestMessages(t, e)
	if convsAfter != convsBefore {
		t.Errorf("%d conversation entries appended, want none: re-captures alone of unchanged conversations", convsAfter-convsBefore)
	}
	refs := 0
	for id, b := range before {
		a := after[id]
		if !withMedia[id] {
			if a.Seq != b.Seq {
				t.Errorf("message %s without attachments appended again (seq %d after %d)", id, a.Seq, b.Seq)
			}
			continue
		}
		if a.Supersedes == nil || *a.Supersedes != b.Seq || !a.Recaptures(&b) || a.PayloadSHA256 != b.PayloadSHA256 ||
			a.EvidenceSHA256 != b.EvidenceSHA256 || *a.Source != *b.Source || a.RunID != later.RunID || a.V != b.V {
			t.Fatalf("message %s: entry %d, want a re-capture superseding %d with its payload, evidence and source", id, a.Seq, b.Seq)
		}
		if a.Compliance.OriginalTimestamp != b.Compliance.OriginalTimestamp || *a.Compliance.LegalHold != *b.Compliance.LegalHold ||
			strings.Join(a.Compliance.AuditRefs, ",") != strings.Join(b.Compliance.AuditRefs, ",") {
			t.Errorf("message %s: compliance %+v, was %+v", id, a.Compliance, b.Compliance)
		}
		ad, media := detailMedia(t, a)
		bd, was := detailMedia(t, b)
		if !reflect.DeepEqual(ad, bd) || len(was) != 0 {
			t.Errorf("message %s: detail %+v, was %+v (media %v): want the same but for the media", id, ad, bd, was)
		}
		if len(media) == 0 {
			t.Fatalf("message %s re-captured without media", id)
		}
		for _, m := range media {
			if m.Status == "" && (m.Evidence == "" || m.SHA256 != m.Evidence) {
				t.Errorf("message %s: attachment %+v", id, m)
			}
			refs++
		}
	}
	rep := checkVerified(t, e)
	t.Logf("%d messages re-captured with %d attachments; verify: %d entries derived, evidence %+v", len(withMedia), refs, rep.Derived.Entries, rep.Evidence)
	// Signed per request, every read's bodies differ from the first's: an
	// unchanged conversation's are not stored, since no entry names them.
	if rep.Evidence.Unreferenced != 0 {
		t.Errorf("verify --evidence: %d unreferenced objects", rep.Evidence.Unreferenced)
	}
	independentVerifierAccepts(t, e)

	// Nothing more to do: no entry is appended again, with --media or
	// without, and nothing is left without its attachments.
	for _, s := range []export.Scope{mediaScope(), noMedia} {
		again := e.run(t, s)
		if again.MessagesAppended != 0 || again.MessagesRecaptured != 0 || again.MessagesWithoutMedia != 0 || again.MessagesUnchanged == 0 {
			t.Fatalf("run with --media=%t after the re-capture: %+v, want nothing appended", s.WithMedia, again)
		}
	}
	if rep := checkVerified(t, e); rep.Evidence.Unreferenced != 0 {
		t.Errorf("verify --evidence after runs that appended nothing: %d unreferenced objects", rep.Evidence.Unreferenced)
	}
}

// TestExportMediaFalseRecapturesNothing: a run with --media=false never
// re-captures a message to download its attachments.
func TestExportMediaFalseRecapturesNothing(t *testing.T) {
	e := newMediaEnv(t, 20, orgEnd.Add(10*24*time.Hour))
	withMedia := messagesWithMedia(t, e)
	noMedia := intervalScope()
	noMedia.WithMedia = false
	e.run(t, noMedia)
	again := e.run(t, noMedia)
	if again.MessagesAppended != 0 || again.MessagesRecaptured != 0 || again.MessagesWithoutMedia != len(withMedia) || again.MediaDownloaded != 0 {
		t.Fatalf("second --media=false run: %+v, want nothing appended, %d without media", again, len(withMedia))
	}
	if n := e.srv.Stats().Routes[sim.MediaRoute].Requests; n != 0 {
		t.Fatalf("%d attachment downloads with --media=false", n)
	}
}

// TestExportRecaptureExpiredOnce: a message whose attachments cannot be
// had now (the messages API's urls expired, the Recordings service
// refuses its copies) is re-captured once, with its attachments recorded
// as expired, and not again on every later run: a later run tries them
// again (the Recordings service may let it now) but appends nothing when
// it downloads none, and once the service refused it, tries no other.
func TestExportRecaptureExpiredOnce(t *testing.T) {
	now := orgStart.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour + 12*time.Hour)
	e := newMediaEnv(t, 40, now, func(o *sim.Options) { o.RecordingsForbidden = true })
	withMedia := messagesWithMedia(t, e)
	noMedia := intervalScope()
	noMedia.WithMedia = false
	e.run(t, noMedia)
	later := e.run(t, mediaScope())
	if later.MessagesRecaptured != len(withMedia) || later.MediaExpired == 0 || later.MediaDownloaded == 0 || later.MessagesChanged != 0 {
		t.Fatalf("--media run: %+v, want %d re-captured, some attachments expired and some downloaded", later, len(withMedia))
	}
	if later.MediaRetryable != later.MediaExpired {
		t.Fatalf("--media run: %+v, want every expired attachment retryable (the Recordings service refused them)", later)
	}
	downloads := e.srv.Stats().Routes[sim.MediaRoute].Requests
	for range 2 {
		again := e.run(t, mediaScope())
		if again.MessagesAppended != 0 || again.MessagesRecaptured != 0 || again.MessagesWithoutMedia != 0 || again.MediaNotCaptured != later.MediaExpired {
			t.Fatalf("--media run after the re-capture: %+v, want nothing appended, %d attachments not captured", again, later.MediaExpired)
		}
	}
	// Tried only until the run knows the Recordings service refuses.
	if n := e.srv.Stats().Routes[sim.MediaRoute].Requests - downloads; n >= int64(2*later.MediaExpired) {
		t.Fatalf("%d attachment downloads in two runs after the re-capture, want fewer than the %d expired attachments each", n, later.MediaExpired)
	}
	checkVerified(t, e)
}

// TestEraseRecapturedMessage: erasing a message re-captured with its
// attachments, or its conversation, deletes the attachments of every
// entry of it: no attachment bytes survive, and verify --evidence holds.
func TestEraseRecapturedMessage(t *testing.T) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	noMedia := intervalScope()
	noMedia.WithMedia = false
	e.run(t, noMedia)
	if a := e.run(t, mediaScope()); a.MessagesRecaptured == 0 {
		t.Fatalf("nothing re-captured: %+v", a)
	}
	ctx := context.Background()
	latest, _ := latestMessages(t, e)
	// One message erased alone, and a whole conversation (another).
	var msg, msgConv, conv string
	for id, en := range latest {
		if en.Supersedes == nil {
			continue
		}
		if _, media := detailMedia(t, en); !downloaded(media) {
			continue
		}
		switch {
		case msg == "":
			msg, msgConv = id, en.ConversationID
		case conv == "" && en.ConversationID != msgConv:
			conv = en.ConversationID
		}
	}
	if msg == "" || conv == "" {
		t.Fatal("want two conversations with a re-captured message holding attachments")
	}
	erased := func(en leaf.Entry) bool { return en.MessageID == msg || en.ConversationID == conv }
	var objects []hashchain.Hash // every attachment of every entry of what is erased
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		if !erased(en) {
			continue
		}
		_, media := detailMedia(t, en)
		for _, m := range media {
			if m.Evidence != "" {
				objects = append(objects, mustHash(t, m.Evidence))
			}
		}
	}
	if len(objects) == 0 {
		t.Fatal("no attachments to erase")
	}
	for _, req := range []erase.Request{
		{Messages: []string{msg}, Reason: "DSR-1", OverrideHold: "test", SignerKey: e.key},
		{Conversations: []string{conv}, Reason: "DSR-2", OverrideHold: "test", SignerKey: e.key},
	} {
		if _, err := erase.Erase(ctx, e.ledger, e.store, req); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range objects {
		there, err := e.store.Exists(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if there {
			t.Errorf("attachment %s of an erased message survives the erasure", h)
		}
	}
	checkVerified(t, e)
}

func downloaded(media []leaf.MediaRef) bool {
	for _, m := range media {
		if m.Evidence != "" {
			return true
		}
	}
	return false
}

// independentVerifierAccepts runs the verifier of docs/ledger-format.md's
// appendix on e's ledger: it must hold, as custody verify does.
func independentVerifierAccepts(t *testing.T, e *env) {
	t.Helper()
	python := needtool.PythonPartly(t, "the independent verifier is not run")
	if python == "" {
		return
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		needtool.Partly(t, "openssl", "the independent verifier is not run")
		return
	}
	script := appendix.Script(t, t.TempDir())
	out, err := exec.Command(python, script, "ledger", filepath.Join(e.dir, "custody.db"), e.ledger.VerifierKey()).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if err != nil || !bytes.HasPrefix(out, []byte("OK ")) {
		t.Fatalf("the independent verifier: %v\n%s", err, out)
	}
	t.Logf("the independent verifier: %s", bytes.TrimSpace(out))
}

// TestExportRerunStoresNothingUnreferenced: a run over conversations
// unchanged since the last one stores no evidence, with attachment urls
// the same on every read or signed afresh in every response (as
// Genesys's pre-signed urls are): the bodies read are not stored when no
// entry will name them, so verify --evidence counts nothing unreferenced
// and an erasure finds every body that holds a message through the
// ledger. Before, every rerun stored each conversation's bulk responses,
// whose bytes differ when the urls are signed per request, and appended
// nothing naming them. A message whose urls alone differ is not a change
// at the source.
func TestExportRerunStoresNothingUnreferenced(t *testing.T) {
	for _, perRequest := range []bool{false, true} {
		t.Run(map[bool]string{false: "same urls", true: "urls signed per request"}[perRequest], func(t *testing.T) {
			e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour), func(o *sim.Options) { o.MediaURLPerRequest = perRequest })
			first := e.run(t, mediaScope())
			if first.MessagesAppended == 0 || first.MediaDownloaded == 0 {
				t.Fatalf("first run: %+v", first)
			}
			for i := range 2 {
				_, convsBefore := latestMessages(t, e)
				again := e.run(t, mediaScope())
				if again.MessagesAppended != 0 || again.MessagesChanged != 0 || len(again.ChangedAtSource) != 0 || again.Unchanged != again.Exported {
					t.Fatalf("rerun %d: %+v, want every conversation unchanged", i+1, again)
				}
				if _, convs := latestMessages(t, e); convs != convsBefore {
					t.Errorf("rerun %d appended %d conversation entries", i+1, convs-convsBefore)
				}
				if rep := checkVerified(t, e); rep.Evidence.Unreferenced != 0 {
					t.Fatalf("verify --evidence after rerun %d: %d unreferenced objects", i+1, rep.Evidence.Unreferenced)
				}
			}
		})
	}
}

// TestVerifyRecaptureFarFromItsConversation: a message re-captured in a
// later run (its attachments downloaded at last) takes its legal hold
// and audit references from its conversation's entry, which lies before
// every other conversation's entry of the first run. verify --evidence,
// remembering fewer conversations' message ids than lie between
// (ConversationMemory 2 here, 4,096 by default), still finds the entry
// and reads its object again. Before, it remembered whole facts of the
// latest 4,096 conversations only, and a genuine matter of more failed:
// "no conversation entry of … comes before the message" (a reviewer's
// 4,400-conversation export, 73 findings).
func TestVerifyRecaptureFarFromItsConversation(t *testing.T) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	withMedia := messagesWithMedia(t, e)
	noMedia := intervalScope()
	noMedia.WithMedia = false
	e.run(t, noMedia)
	if later := e.run(t, mediaScope()); later.MessagesRecaptured != len(withMedia) || len(withMedia) == 0 {
		t.Fatalf("--media run: %+v, want %d messages re-captured", later, len(withMedia))
	}
	opts := verifyWithEvidence(e)
	opts.ConversationMemory = 2
	rep, err := verify.Ledger(context.Background(), e.ledger, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("verify --evidence remembering 2 conversations: %v", rep.Findings)
	}
	if rep.Derived == nil || rep.Derived.Entries == 0 {
		t.Fatalf("nothing re-derived: %+v", rep.Derived)
	}
}
