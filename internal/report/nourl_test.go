package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestReportMediaWithoutURL: a matter captured with --media=false from
// an API that serves some attachments and template header media without
// a url (sim.Options.MediaURLWithheld). Every one is shown not
// downloaded, with the API's stated sha256; those without a url say so
// (no_url in report.json, a line on the page, section 7's reason), not
// that --media=false left them out, which for them is false: no export
// could have downloaded them. The certificate counts the two causes
// apart. Before, header media without a url were not shown at all, and
// every attachment never downloaded was said to be captured with
// --media=false.
func TestReportMediaWithoutURL(t *testing.T) {
	ctx := context.Background()
	// About half of them, header media among both halves (checked below).
	withheld := func(id string) bool { return strings.ContainsAny(id[len(id)-1:], "01234567") }
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 40, Start: start, End: start.AddDate(0, 0, 5)},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
		MediaURLWithheld: withheld,
	})
	le := ledgertest.New(t, "no url")
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: 1e9,
		PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(ctx, export.Deps{Client: c, Ledger: le.Ledger, Evidence: le.Store}, export.Options{
		Scope: export.Scope{Matter: "no url", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp"}, SignerKey: le.Key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}

	// What the org's messages name, by message id, in the order a
	// transcript shows it: content attachments, then header media.
	yes := true
	want := map[string][]shownAttachment{}
	var off, offHeader, none, noneHeader int // --media=false; without a url
	for i := range srv.Org.Len() {
		cd, _ := srv.Org.Conversation(srv.Org.ConversationID(i))
		if cd.MessageType != "whatsapp" {
			continue
		}
		for _, md := range cd.Messages {
			var as, hs []shownAttachment
			for _, ct := range md.NormalizedMessage.Content {
				if a := ct.Attachment; a != nil {
					as = append(as, shownAttachment{ID: a.ID, Name: a.Filename, Type: a.Mime, SHA256: a.Sha256, Status: report.StatusNotDownloaded})
				}
				if tp := ct.Template; tp != nil && tp.Header != nil && tp.Header.Media != nil {
					a := tp.Header.Media
					hs = append(hs, shownAttachment{ID: a.ID, Name: a.Filename, Type: a.Mime, SHA256: a.Sha256, Status: report.StatusNotDownloaded, TemplateHeader: &yes})
				}
			}
			for _, a := range append(as, hs...) {
				h := a.TemplateHeader != nil
				switch {
				case withheld(a.ID) && h:
					none, noneHeader = none+1, noneHeader+1
				case withheld(a.ID):
					none++
				case h:
					off, offHeader = off+1, offHeader+1
				default:
					off++
				}
			}
			if len(as)+len(hs) > 0 {
				want[md.ID] = append(as, hs...)
			}
		}
	}
	t.Logf("never downloaded: %d with --media=false (%d header media), %d without a url (%d header media)", off, offHeader, none, noneHeader)
	if off == offHeader || offHeader == 0 || none == noneHeader || noneHeader == 0 {
		t.Fatal("want attachments and header media both with and without a url")
	}

	out := t.TempDir()
	res, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: out, Proofs: report.ProofsNone, NoRecord: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(res.JSON)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, b)
	var shown struct {
		Summary struct {
			NotDownloaded int `json:"attachments_not_captured"`
		} `json:"summary"`
		Transcripts struct {
			Items []struct {
				Messages []struct {
					ID          string `json:"message_id"`
					Attachments []struct {
						shownAttachment
						NoURL *bool `json:"no_url"`
					} `json:"attachments"`
				} `json:"messages"`
			} `json:"conversations"`
		} `json:"transcripts"`
		Exceptions  []report.Exception `json:"exceptions"`
		Certificate struct {
			Statement string `json:"statement"`
		} `json:"certificate"`
	}
	if err := json.Unmarshal(b, &shown); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}

	// Transcripts: every one shown, no_url true on those without a url
	// and absent on the others.
	seen := 0
	for _, cv := range shown.Transcripts.Items {
		for _, m := range cv.Messages {
			var got []string
			for _, a := range m.Attachments {
				s := a.shownAttachment.String()
				if a.NoURL != nil {
					s += fmt.Sprintf(" no_url:%v", *a.NoURL)
				}
				got = append(got, s)
			}
			var exp []string
			for _, a := range want[m.ID] {
				s := a.String()
				if withheld(a.ID) {
					s += " no_url:true"
				}
				exp = append(exp, s)
			}
			if !slices.Equal(got, exp) {
				t.Errorf("message %s: attachments\n%v\nwant\n%v", m.ID, got, exp)
			}
			if len(exp) > 0 {
				seen++
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d messages with attachments shown, want %d", seen, len(want))
	}
	if n := strings.Count(string(page), "the message names it without a url, and the Recordings service was not asked for it"); n != none {
		t.Errorf("report.html says %d times that an attachment has no url, want %d", n, none)
	}

	// Section 7: one row each, its reason the true one.
	rows := map[string]string{}
	for _, x := range shown.Exceptions {
		if x.Kind == report.KindMediaNotCaptured {
			for _, as := range want[x.MessageID] {
				if strings.Contains(x.Reason, " "+as.ID+" ") {
					rows[as.ID] = x.Reason
				}
			}
		}
	}
	for _, as := range want {
		for _, a := range as {
			r, ok := rows[a.ID]
			switch {
			case !ok:
				t.Errorf("section 7 lists no row for %s", a.ID)
			case withheld(a.ID) && (!strings.Contains(r, "named by the message without a url") || !strings.Contains(r, "asks the Recordings service for it") ||
				!strings.Contains(r, "the API stated sha256 "+a.SHA256)):
				t.Errorf("section 7, %s served without a url: %s", a.ID, r)
			case !withheld(a.ID) && (!strings.Contains(r, "captured with --media=false") || strings.Contains(r, "without a url")):
				t.Errorf("section 7, %s captured with --media=false: %s", a.ID, r)
			}
		}
	}
	if shown.Summary.NotDownloaded != off+none {
		t.Errorf("section 1 counts %d never downloaded, want %d", shown.Summary.NotDownloaded, off+none)
	}

	// The certificate: the two causes counted apart.
	what := func(n, h int) string {
		return fmt.Sprintf("%d attachments (%d of them template header media)", n, h)
	}
	sentence := fmt.Sprintf(" The messages name %s whose bytes custody never downloaded, no download tried (%s captured with --media=false (the template header media so, or before custody downloaded it); %s served by the API without a url and never asked of the Recordings service): they are not among the records certified, only the API's stated sha256 of each is shown; section 7 lists each (media_not_captured).",
		what(off+none, offHeader+noneHeader), what(off, offHeader), what(none, noneHeader))
	if !strings.Contains(shown.Certificate.Statement, sentence) {
		t.Errorf("certificate:\n%s\nwant it to contain\n%s", shown.Certificate.Statement, sentence)
	}
}
