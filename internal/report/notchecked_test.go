package report_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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

// TestReportMediaNotChecked: attachments captured from an API that
// states neither their sha256 nor their size (sim.Options.MediaNoSHA256,
// MediaNoSize: both optional in the model) are kept with the reason
// "not checked", and the report says so: section 1 counts them, section
// 7 lists each (media_not_checked), the transcript marks each
// (not_checked), and the certificate does not certify them as the
// attachments sent. Before, the report showed them "downloaded" like any
// checked attachment, their sha256 read as a checked one. A matter whose
// API states the sha256 has none of it.
func TestReportMediaNotChecked(t *testing.T) {
	for _, stated := range []bool{false, true} {
		t.Run(map[bool]string{false: "nothing stated", true: "sha256 stated"}[stated], func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
			srv := simtest.Start(t, sim.Options{
				OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 30, Start: start, End: start.AddDate(0, 0, 5)},
				JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
				MediaNoSHA256: !stated, MediaNoSize: !stated,
			})
			le := ledgertest.New(t, "not checked")
			c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: 1e9,
				PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			acct, err := export.Run(ctx, export.Deps{Client: c, Ledger: le.Ledger, Evidence: le.Store}, export.Options{
				Scope: export.Scope{Matter: "not checked", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
					MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: le.Key})
			if err != nil || !acct.Complete() {
				t.Fatalf("export: %v %+v", err, acct)
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
			var doc struct {
				Summary struct {
					Attachments int `json:"attachments"`
					NotChecked  int `json:"attachments_not_checked"`
				} `json:"summary"`
				Transcripts struct {
					Items []struct {
						ID       string `json:"conversation_id"`
						Messages []struct {
							ID          string `json:"message_id"`
							Attachments []struct {
								shownAttachment
								NotChecked *bool `json:"not_checked"`
							} `json:"attachments"`
						} `json:"messages"`
					} `json:"conversations"`
				} `json:"transcripts"`
				Exceptions  []report.Exception `json:"exceptions"`
				Certificate struct {
					Statement string `json:"statement"`
				} `json:"certificate"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(filepath.Join(out, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			rows := map[string]string{} // conversation/message/attachment id → section 7's reason
			for _, x := range doc.Exceptions {
				if x.Kind == report.KindMediaNotChecked {
					for _, cv := range doc.Transcripts.Items {
						for _, m := range cv.Messages {
							for _, a := range m.Attachments {
								if cv.ID == x.ConversationID && m.ID == x.MessageID && strings.Contains(x.Reason, " "+a.ID+" ") {
									rows[cv.ID+"/"+m.ID+"/"+a.ID] = x.Reason
								}
							}
						}
					}
				}
			}
			marked := 0
			for _, cv := range doc.Transcripts.Items {
				for _, m := range cv.Messages {
					for _, a := range m.Attachments {
						k := cv.ID + "/" + m.ID + "/" + a.ID
						switch {
						case a.NotChecked != nil && !*a.NotChecked:
							t.Errorf("%s: not_checked false, want it absent", k)
						case a.NotChecked != nil:
							marked++
							if a.Status != "downloaded" || stated {
								t.Errorf("%s: not_checked on an attachment %s (the API states its sha256: %v)", k, a.Status, stated)
							}
							if r := rows[k]; !strings.Contains(r, a.SHA256) || !strings.Contains(r, "checked against nothing") {
								t.Errorf("%s: section 7's row %q, want one naming its sha256 %s and saying it was checked against nothing", k, r, a.SHA256)
							}
						case !stated && a.Status == "downloaded":
							t.Errorf("%s: downloaded with nothing stated, but not marked not_checked", k)
						}
					}
				}
			}
			n := len(rows)
			if stated {
				if marked != 0 || n != 0 || doc.Summary.NotChecked != 0 || strings.Contains(string(page), "n-not-checked") || strings.Contains(doc.Certificate.Statement, "checked against nothing") {
					t.Fatalf("sha256 stated: %d marked, %d rows, summary %d: want none", marked, n, doc.Summary.NotChecked)
				}
				return
			}
			if marked == 0 || marked != n || doc.Summary.NotChecked != n || doc.Summary.Attachments != n {
				t.Fatalf("%d attachments kept, %d marked not checked, %d section 7 rows, summary says %d: want all the same and more than 0",
					doc.Summary.Attachments, marked, n, doc.Summary.NotChecked)
			}
			if !strings.Contains(string(page), `id="n-not-checked" data-n="`) || !strings.Contains(string(page), "not checked</span>") {
				t.Error("report.html: no count of the attachments not checked in section 1, or no mark on a transcript's attachment")
			}
			if !strings.Contains(doc.Certificate.Statement, "checked against nothing") || !strings.Contains(doc.Certificate.Statement, report.KindMediaNotChecked) {
				t.Errorf("certificate: %q: want it to say the attachments not checked are certified as served only", doc.Certificate.Statement)
			}
			t.Logf("%d attachments kept, not checked; e.g. %s", n, doc.Exceptions[0].Reason)
		})
	}
}
