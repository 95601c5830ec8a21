package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// headerMediaLimit is the download limit of headerMediaMatter's export:
// the simulator's header media are 1 to 32 KiB, so some are too_large.
const headerMediaLimit = 8 << 10

// headerMediaMatter captures a simulated org, media included (at most
// headerMediaLimit bytes each), into a fresh ledger, and returns it with
// the org's WhatsApp messages by id, the media of their templates'
// headers by message id, and the size of every attachment by its id.
func headerMediaMatter(t *testing.T) (*ledgertest.Env, map[string]*genesys.MessageData, map[string]sim.Attachment, map[string]int) {
	t.Helper()
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 40, Start: start, End: start.AddDate(0, 0, 5)},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	le := ledgertest.New(t, "header media")
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: 1e9,
		MaxDownloadBytes: headerMediaLimit, PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: le.Ledger, Evidence: le.Store}, export.Options{
		Scope: export.Scope{Matter: "header media", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: le.Key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	msgs, header, sizes := map[string]*genesys.MessageData{}, map[string]sim.Attachment{}, map[string]int{}
	for i := range srv.Org.Len() {
		cd, _ := srv.Org.Conversation(srv.Org.ConversationID(i))
		if cd.MessageType != "whatsapp" {
			continue
		}
		for i := range cd.Messages {
			msgs[cd.Messages[i].ID] = &cd.Messages[i]
		}
		for _, a := range cd.Attachments {
			sizes[a.ID] = a.Size
			if a.TemplateHeader {
				header[a.MessageID] = a
			}
		}
	}
	return le, msgs, header, sizes
}

// shownAttachment is an item of a message's attachments in report.json
// (declared here, not taken from package report, so that the test also
// runs against a report that has no label for header media).
type shownAttachment struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	SHA256         string `json:"sha256"`
	Status         string `json:"status"`
	TemplateHeader *bool  `json:"template_header"`
}

func (a shownAttachment) String() string {
	h := "absent"
	if a.TemplateHeader != nil {
		h = fmt.Sprint(*a.TemplateHeader)
	}
	return fmt.Sprintf("{%s %q %s %s %q template_header:%s}", a.ID, a.Name, a.Type, a.SHA256, a.Status, h)
}

// shownReport is what TestReportTemplateHeaderMedia reads of report.json.
type shownReport struct {
	Summary struct {
		Attachments int `json:"attachments"`
	} `json:"summary"`
	Integrity struct {
		Verified struct {
			OK bool `json:"ok"`
		} `json:"verified"`
	} `json:"integrity"`
	Transcripts struct {
		Items []struct {
			Messages []struct {
				ID          string            `json:"message_id"`
				Attachments []shownAttachment `json:"attachments"`
			} `json:"messages"`
		} `json:"conversations"`
	} `json:"transcripts"`
}

// TestReportTemplateHeaderMedia: the transcript shows a WhatsApp
// template's header media (template.header.media, which export downloads
// as media of its message after the content attachments) with its
// message, like an attachment — name, type, SHA-256 and status, the status
// from the message's detail (downloaded, or too_large over the download
// limit) — labelled as the template's header: template_header in
// report.json (absent on content attachments) and "Template header" in
// report.html. Every attachment the summary counts as kept is shown. A
// message captured as custody did before it downloaded header media (its
// detail without them) shows none, as before, and its attachments in
// report.json have no template_header.
func TestReportTemplateHeaderMedia(t *testing.T) {
	ctx := context.Background()
	le, msgs, header, sizes := headerMediaMatter(t)
	var withHeader []string // message ids, in a fixed order
	over := 0
	for id, a := range header {
		withHeader = append(withHeader, id)
		if a.Size > headerMediaLimit {
			over++
		}
	}
	slices.Sort(withHeader)
	t.Logf("%d templates with header media, %d over the download limit", len(withHeader), over)
	if len(withHeader) < 4 || over == 0 || over == len(withHeader) {
		t.Fatalf("the org has %d templates with header media, %d over the limit: want at least 4, some over and some not", len(withHeader), over)
	}

	// check writes a report and holds its transcript to the org: every
	// message's content attachments, then its header media unless old
	// names it (a capture from before header media were downloaded).
	check := func(name string, old map[string]bool) {
		t.Helper()
		out := filepath.Join(t.TempDir(), name)
		if _, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: out, Proofs: report.ProofsNone, NoRecord: true}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		validate(t, b)
		var doc shownReport
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if !doc.Integrity.Verified.OK {
			t.Fatalf("%s: the ledger does not verify", name)
		}
		page, err := os.ReadFile(filepath.Join(out, "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		kept, shownHeader := 0, 0
		for _, c := range doc.Transcripts.Items {
			for _, m := range c.Messages {
				md, ok := msgs[m.ID]
				if !ok {
					t.Fatalf("%s: message %s is not the org's", name, m.ID)
				}
				var want []shownAttachment
				for _, ct := range md.NormalizedMessage.Content {
					if a := ct.Attachment; a != nil {
						want = append(want, shownAttachment{ID: a.ID, Name: a.Filename, Type: a.Mime, SHA256: a.Sha256, Status: "downloaded"})
						if sizes[a.ID] > headerMediaLimit {
							want[len(want)-1].Status = leaf.MediaTooLarge
						}
					}
				}
				a, ok := header[m.ID]
				if ok {
					yes := true
					h := shownAttachment{ID: a.ID, Name: a.Filename, Type: a.Mime, SHA256: a.Sha256, Status: "downloaded", TemplateHeader: &yes}
					switch {
					case old[m.ID]:
						// Named, never downloaded: shown so, with the
						// API's stated sha256 (section 7 lists it).
						h.Status = report.StatusNotDownloaded
					case a.Size > headerMediaLimit:
						h.Status = leaf.MediaTooLarge
					}
					want = append(want, h)
					if !old[m.ID] {
						shownHeader++
					}
				}
				got := m.Attachments
				if !slices.EqualFunc(got, want, func(x, y shownAttachment) bool { return x.String() == y.String() }) {
					t.Fatalf("%s: message %s (template header media %v, captured before header media %v): attachments\n%v\nwant\n%v", name, m.ID, ok, old[m.ID], got, want)
				}
				for _, a := range got {
					if a.Status == "downloaded" {
						kept++
					}
				}
				// report.html: the same lines in the message's block.
				i := strings.Index(string(page), `id="m-`+m.ID+`"`)
				if i < 0 {
					t.Fatalf("%s: report.html has no message %s", name, m.ID)
				}
				block := string(page[i:])
				if j := strings.Index(block[1:], `<div class="msg `); j >= 0 {
					block = block[:j+1]
				}
				for _, a := range want {
					label := "Attachment"
					if a.TemplateHeader != nil {
						label = "Template header"
					}
					line := fmt.Sprintf(`<div class="meta">%s <bdi>%s</bdi> (%s), SHA-256 <span class="hash">%s</span>, %s</div>`,
						label, html.EscapeString(a.Name), html.EscapeString(a.Type), a.SHA256, html.EscapeString(a.Status))
					if !strings.Contains(block, line) {
						t.Fatalf("%s: report.html, message %s lacks %s\nin\n%s", name, m.ID, line, block)
					}
				}
				headers := 0
				for _, a := range want {
					if a.TemplateHeader != nil {
						headers++
					}
				}
				if n := strings.Count(block, "Template header"); n != headers {
					t.Fatalf("%s: report.html, message %s: %d header media lines\n%s", name, m.ID, n, block)
				}
			}
		}
		if want := len(withHeader) - len(old); shownHeader != want {
			t.Fatalf("%s: %d messages with header media in the transcript, want %d", name, shownHeader, want)
		}
		// What section 1 counts as kept is what the transcripts show kept.
		if kept != doc.Summary.Attachments {
			t.Fatalf("%s: the transcripts show %d attachments downloaded, the summary counts %d kept", name, kept, doc.Summary.Attachments)
		}
		// The header media never downloaded are counted and listed: the
		// report must not read as if every attachment were kept.
		full := readDoc(t, filepath.Join(out, "report.json"))
		rows := 0
		for _, x := range full.Exceptions {
			if x.Kind == report.KindMediaNotCaptured {
				rows++
				if !old[x.MessageID] {
					t.Errorf("%s: section 7 lists %s as never downloaded: %s", name, x.MessageID, x.Reason)
				}
			}
		}
		if rows != len(old) || full.Summary.NotDownloaded != len(old) || (len(old) > 0) != strings.Contains(full.Certificate.Statement, "never downloaded") {
			t.Errorf("%s: %d media_not_captured rows, section 1 counts %d, certificate %q; want %d, and the certificate to say so when any", name, rows, full.Summary.NotDownloaded, full.Certificate.Statement, len(old))
		}
		// Template header media never downloaded need not have been
		// captured with --media=false (these were captured with media):
		// the certificate must not say they were, and says what they are.
		if st := full.Certificate.Statement; len(old) > 0 && (!strings.Contains(st, "template header media") || !strings.Contains(st, "or before custody downloaded template header media") ||
			strings.Contains(st, "never downloaded (captured with --media=false)")) {
			t.Errorf("%s: certificate %q: want it to name them template header media, never downloaded with --media=false or before custody downloaded header media", name, st)
		}
	}
	check("captured", nil)

	// Half of them as captured before export downloaded header media: the
	// detail's media without the header media. The ledger still verifies;
	// those messages show what they showed before.
	old := map[string]bool{}
	path := filepath.Join(le.Dir, "custody.db")
	for i, id := range withHeader {
		if i%2 != 0 {
			continue
		}
		old[id] = true
		caps, err := le.Ledger.EntriesByMessage(ctx, id)
		if err != nil || len(caps) != 1 {
			t.Fatalf("message %s: %d captures (%v), want 1", id, len(caps), err)
		}
		hid := header[id].ID
		if err := ledgertest.Rewrite(ctx, path, le.Key, caps[0].Seq, func(e *leaf.Entry) {
			d, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
			if err != nil {
				panic(err)
			}
			md := d.(*leaf.MessageDetail)
			md.Media = slices.DeleteFunc(md.Media, func(r leaf.MediaRef) bool { return r.ID == hid })
			if len(md.Media) == 0 {
				md.Media = nil
			}
			if e.Detail, err = leaf.EncodeDetail(md); err != nil {
				panic(err)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	check("older captures", old)
}
