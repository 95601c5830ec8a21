package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

// headerMedia lists the template header media of the org's WhatsApp
// conversations, by message id.
func headerMedia(o *sim.Org) map[string]sim.Attachment {
	out := map[string]sim.Attachment{}
	for _, c := range whatsApp(o) {
		for _, a := range c.Attachments {
			if a.TemplateHeader {
				out[a.MessageID] = a
			}
		}
	}
	return out
}

// messageEntry is the one message entry of message id.
func messageEntry(t *testing.T, e *env, id string) leaf.Entry {
	t.Helper()
	caps, err := e.ledger.EntriesByMessage(context.Background(), id)
	if err != nil || len(caps) != 1 {
		t.Fatalf("message %s: %d captures (%v), want 1", id, len(caps), err)
	}
	return caps[0]
}

func mediaOf(t *testing.T, en leaf.Entry) []leaf.MediaRef {
	t.Helper()
	d, err := leaf.DecodeDetail(leaf.KindMessage, en.Detail)
	if err != nil {
		t.Fatal(err)
	}
	return d.(*leaf.MessageDetail).Media
}

func mediaIDs(refs []leaf.MediaRef) []string {
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestExportTemplateHeaderMedia: a WhatsApp template whose header is
// media (an image, video or document: template.header.media) has that
// media downloaded like an attachment, its bytes checked against the
// stated sha256 and kept as evidence, and named in the message's
// detail.media after the content attachments; verify --evidence passes.
// A ledger in which some of those messages were captured as custody did
// before it downloaded header media (detail.media without it: the
// insider's rewrite stands in for the old export) still verifies, while a
// detail.media naming media the message does not give — the header media
// twice, another message's media, an id of nothing — is a derived
// finding.
func TestExportTemplateHeaderMedia(t *testing.T) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	acct := e.run(t, mediaScope())
	ctx := context.Background()
	want := headerMedia(e.srv.Org)
	if len(want) < 2 {
		t.Fatalf("the org has %d template messages with header media, want at least 2", len(want))
	}
	var withHeader []string // message ids, in a fixed order
	for id := range want {
		withHeader = append(withHeader, id)
	}
	slices.Sort(withHeader)
	for _, id := range withHeader {
		a := want[id]
		refs := mediaOf(t, messageEntry(t, e, id))
		if len(refs) != 1 || refs[0].ID != a.ID || refs[0].Status != "" || refs[0].SHA256 != a.Sha256 || refs[0].Evidence != a.Sha256 {
			t.Fatalf("message %s: media %+v, want header media %s with sha256 %s", id, refs, a.ID, a.Sha256)
		}
		b, err := e.store.Get(ctx, mustHash(t, a.Sha256))
		if err != nil || len(b) != a.Size {
			t.Fatalf("header media %s: %d bytes in the evidence (%v), want %d", a.ID, len(b), err, a.Size)
		}
	}
	// Every WhatsApp message: the content attachments, then the header media.
	for _, c := range whatsApp(e.srv.Org) {
		for _, m := range c.Messages {
			var ids []string
			for _, ct := range m.NormalizedMessage.Content {
				if ct.Attachment != nil {
					ids = append(ids, ct.Attachment.ID)
				}
			}
			if a, ok := want[m.ID]; ok {
				ids = append(ids, a.ID)
			}
			if got := mediaIDs(mediaOf(t, messageEntry(t, e, m.ID))); !slices.Equal(got, ids) {
				t.Fatalf("message %s: media %v, want %v", m.ID, got, ids)
			}
		}
	}
	if !acct.Complete() || acct.MediaDownloaded != len(mediaRefs(t, e)) {
		t.Fatalf("accounting %+v", acct)
	}
	checkVerified(t, e)

	// Half of them as captured before header media were downloaded: the
	// attachments alone. Both kinds in one ledger verify.
	path := filepath.Join(e.dir, "custody.db")
	for i, id := range withHeader {
		if i%2 == 0 {
			en := messageEntry(t, e, id)
			if err := ledgertest.Rewrite(ctx, path, e.key, en.Seq, func(en *leaf.Entry) {
				editDetail(en, func(d *leaf.MessageDetail) { d.Media = nil })
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkVerified(t, e)

	// Media the message does not give: one derived finding each, naming
	// the entry and detail.media.
	var plain, bare string // a message with a content attachment, one with no media
	for _, c := range whatsApp(e.srv.Org) {
		for _, m := range c.Messages {
			switch {
			case want[m.ID].ID != "":
			case len(m.NormalizedMessage.Content) == 1 && m.NormalizedMessage.Content[0].Attachment != nil && plain == "":
				plain = m.ID
			case len(m.NormalizedMessage.Content) == 0 && bare == "":
				bare = m.ID
			}
		}
	}
	captured, other := withHeader[1], want[withHeader[0]] // header media kept; another message's
	forged := leaf.MediaRef{ID: "forged-0000", Status: leaf.MediaExpired, Reason: "403 Forbidden"}
	for _, tc := range []struct {
		name string
		msg  string
		edit func([]leaf.MediaRef) []leaf.MediaRef
	}{
		{"header media twice", captured, func(r []leaf.MediaRef) []leaf.MediaRef { return append(r, r[0]) }},
		{"an id of nothing after the header media", captured, func(r []leaf.MediaRef) []leaf.MediaRef { return append(r, forged) }},
		{"an id of nothing instead of the header media", captured, func([]leaf.MediaRef) []leaf.MediaRef { return []leaf.MediaRef{forged} }},
		{"another message's header media after an attachment", plain, func(r []leaf.MediaRef) []leaf.MediaRef {
			return append(r, leaf.MediaRef{ID: other.ID, SHA256: other.Sha256, Evidence: other.Sha256})
		}},
		{"another message's header media on a message without media", bare, func([]leaf.MediaRef) []leaf.MediaRef {
			return []leaf.MediaRef{{ID: other.ID, SHA256: other.Sha256, Evidence: other.Sha256}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.msg == "" {
				t.Fatal("the org has no such message")
			}
			en := messageEntry(t, e, tc.msg)
			orig := en.Detail
			if err := ledgertest.Rewrite(ctx, path, e.key, en.Seq, func(en *leaf.Entry) {
				editDetail(en, func(d *leaf.MessageDetail) { d.Media = tc.edit(d.Media) })
			}); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := ledgertest.Rewrite(ctx, path, e.key, en.Seq, func(en *leaf.Entry) { en.Detail = orig }); err != nil {
					t.Fatal(err)
				}
			}()
			rep, err := verify.Ledger(ctx, e.ledger, verifyWithEvidence(e))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || len(rep.Findings) != 1 {
				t.Fatalf("want one finding at seq %d, got %v", en.Seq, rep.Findings)
			}
			if f := rep.First(); f.Check != verify.CheckDerived || f.Seq == nil || *f.Seq != en.Seq || !strings.HasPrefix(f.Message, "detail.media: the leaf has ") {
				t.Fatalf("finding %q, want seq %d: derived: detail.media", f, en.Seq)
			}
		})
	}
	checkVerified(t, e)
}

// TestExportTemplateHeaderMediaBounds: header media go through the same
// checks as attachments: one over --max-attachment-bytes is recorded
// too_large, the others downloaded, and the conversation still counts as
// exported.
func TestExportTemplateHeaderMediaBounds(t *testing.T) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	const limit = 8 << 10
	acct := e.runWith(t, mediaScope(), e.client(t, func(c *fetch.Config) { c.MaxDownloadBytes = limit }))
	if !acct.Complete() {
		t.Fatalf("export: %+v", acct)
	}
	over, under := 0, 0
	for id, a := range headerMedia(e.srv.Org) {
		refs := mediaOf(t, messageEntry(t, e, id))
		switch {
		case len(refs) != 1 || refs[0].ID != a.ID:
			t.Fatalf("message %s: media %+v, want header media %s", id, refs, a.ID)
		case a.Size > limit:
			if refs[0].Status != leaf.MediaTooLarge || refs[0].Evidence != "" {
				t.Fatalf("header media of %d bytes recorded as %+v", a.Size, refs[0])
			}
			over++
		default:
			if refs[0].Status != "" || refs[0].Evidence != a.Sha256 {
				t.Fatalf("header media of %d bytes recorded as %+v", a.Size, refs[0])
			}
			under++
		}
	}
	if over == 0 || under == 0 {
		t.Fatalf("want header media over and under the limit: %d over, %d under", over, under)
	}
	checkVerified(t, e)
}

// TestExportTemplateHeaderMediaPastThirtyDays: past the messages API's 30
// days, header media come from the conversation's recording like
// attachments — but only where its transcript carries them. Behind a
// proxy that takes notificationTemplate out of every recording, the
// header media of those messages are recorded expired, saying no copy
// in the recording matched them, while their conversations' attachments still
// come from the recording; verify --evidence passes.
func TestExportTemplateHeaderMediaPastThirtyDays(t *testing.T) {
	now := orgStart.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour + 12*time.Hour)
	e := newMediaEnv(t, 40, now)
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(mustURL(t, e.srv.APIURL)) },
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/recordings") || resp.StatusCode != http.StatusOK {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			var recs []map[string]any
			if err := json.Unmarshal(b, &recs); err != nil {
				return err
			}
			for _, rec := range recs {
				if tr, ok := rec["messagingTranscript"].([]any); ok {
					for _, m := range tr {
						delete(m.(map[string]any), "notificationTemplate")
					}
				}
			}
			if b, err = json.Marshal(recs); err != nil {
				return err
			}
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
		ErrorLog: log.New(io.Discard, "", 0),
	})
	t.Cleanup(proxy.Close)
	acct := e.runWith(t, mediaScope(), e.client(t, func(c *fetch.Config) { c.APIURL = proxy.URL }))
	if !acct.Complete() {
		t.Fatalf("export: %+v", acct)
	}
	got := mediaRefs(t, e)
	expired, fresh, fromRecording := 0, 0, 0
	for _, cd := range whatsApp(e.srv.Org) {
		for _, a := range cd.Attachments {
			md, _ := cd.Message(a.MessageID)
			at, err := time.Parse(time.RFC3339Nano, md.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			past := !now.Before(time.Unix(at.Add(sim.DefaultMediaURLTTL).Unix(), 0))
			m := got[a.ID]
			switch {
			case a.TemplateHeader && past:
				if m.Status != leaf.MediaExpired || m.Evidence != "" || !strings.Contains(m.Reason, "Request has expired") || !strings.Contains(m.Reason, "no copy in the conversation's recording matched it") {
					t.Fatalf("header media %s past 30 days, not in the recording: recorded as %+v", a.ID, m)
				}
				expired++
			case m.Status != "" || m.Evidence != a.Sha256:
				t.Fatalf("media %s (header %v, past %v) recorded as %+v", a.ID, a.TemplateHeader, past, m)
			case a.TemplateHeader:
				fresh++
			case past:
				fromRecording++
			}
		}
	}
	if expired == 0 || fresh == 0 || fromRecording == 0 {
		t.Fatalf("want header media past 30 days (%d) and not (%d), and attachments from the recording (%d)", expired, fresh, fromRecording)
	}
	if acct.MediaExpired != expired {
		t.Fatalf("accounting %+v, want %d expired", acct, expired)
	}
	checkVerified(t, e)
}
