package report_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/report"
)

// TestAttachmentsNeverDownloaded: messages captured with --media=false
// name attachments whose bytes custody never downloaded (the hostile
// matter's messages each name one, and their details record no media).
// Each is an exception in section 7 (media_not_captured), section 1
// counts them, and the certificate says they are not certified; nothing
// says every attachment was kept. Before, section 7 said "None: … every
// attachment kept" and only the transcripts' lines showed them.
func TestAttachmentsNeverDownloaded(t *testing.T) {
	env := hostileMatter(t, "short")
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	named := 0
	for _, m := range doc.Transcripts.Items[0].Messages {
		named += len(m.Attachments)
	}
	rows := 0
	for _, x := range doc.Exceptions {
		if x.Kind == report.KindMediaNotCaptured {
			rows++
		}
	}
	if named == 0 || rows != named || doc.Summary.NotDownloaded != named {
		t.Errorf("%d attachments named, %d media_not_captured rows, section 1 counts %d; want all of them", named, rows, doc.Summary.NotDownloaded)
	}
	if !strings.Contains(doc.Certificate.Statement, "never downloaded, no download tried (captured with --media=false)") {
		t.Errorf("the certificate does not say the attachments are not certified: %s", doc.Certificate.Statement)
	}
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if strings.Contains(page, "every attachment kept") || !strings.Contains(page, `id="n-not-downloaded"`) {
		t.Error("report.html says every attachment was kept, or section 1 does not count those never downloaded")
	}
}
