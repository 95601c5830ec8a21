package produce_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestProduceTemplateHeaderMedia: a WhatsApp template's header media
// (template.header.media) is produced as an attachment of its message,
// under its file name and with its bytes, in the RSMF and in the DAT (a
// child row with its file name and mime type). A message captured before
// export downloaded header media (its leaf without it) is produced
// without it, its media_not_stored saying so.
func TestProduceTemplateHeaderMedia(t *testing.T) {
	m := capture(t, 40)
	want := map[string]sim.Attachment{} // by message id
	for i := range m.srv.Org.Len() {
		for _, a := range m.srv.Org.ConversationAt(i).Attachments {
			if a.TemplateHeader {
				want[a.MessageID] = a
			}
		}
	}
	ctx := context.Background()
	// The messages of the matter with header media, in a fixed order; the
	// first is rewritten as an older capture, without it.
	var ids []string
	for id := range want {
		if caps, err := m.l.EntriesByMessage(ctx, id); err == nil && len(caps) == 1 {
			ids = append(ids, id)
		}
	}
	if len(ids) < 2 {
		t.Fatalf("%d captured messages with template header media, want at least 2", len(ids))
	}
	slices.Sort(ids)
	old := ids[0]
	caps, _ := m.l.EntriesByMessage(ctx, old)
	if err := ledgertest.Rewrite(ctx, filepath.Join(m.dir, "custody.db"), m.key, caps[0].Seq, func(e *leaf.Entry) {
		d, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
		if err != nil {
			panic(err)
		}
		d.(*leaf.MessageDetail).Media = nil
		if e.Detail, err = leaf.EncodeDetail(d); err != nil {
			panic(err)
		}
	}); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "prod")
	if _, err := m.produce(t, out, produce.Options{Format: produce.FormatBoth}); err != nil {
		t.Fatal(err)
	}
	events, files, _, _ := readBack(t, out)
	for _, id := range ids {
		a := want[id]
		ev, ok := events[id]
		if !ok {
			t.Fatalf("message %s not produced", id)
		}
		if id == old {
			if len(ev.Attachments) != 0 || !strings.Contains(custom(ev.Custom, "media_not_stored"), a.ID+": template header media not downloaded") {
				t.Errorf("message %s captured without its header media: attachments %+v, media_not_stored %q", id, ev.Attachments, custom(ev.Custom, "media_not_stored"))
			}
			continue
		}
		if len(ev.Attachments) != 1 || ev.Attachments[0].Display != a.Filename || ev.Attachments[0].Size != int64(a.Size) {
			t.Fatalf("message %s: attachments %+v, want its header media %s (%d bytes)", id, ev.Attachments, a.Filename, a.Size)
		}
		sum := sha256.Sum256(files[ev.Attachments[0].ID])
		if hex.EncodeToString(sum[:]) != a.Sha256 {
			t.Errorf("message %s: the header media produced is not its bytes", id)
		}
		if s := custom(ev.Custom, "media_not_stored"); s != "" {
			t.Errorf("message %s: media_not_stored %q", id, s)
		}
	}

	// The DAT: a child row of the message, with the media's name and type.
	data, err := os.ReadFile(filepath.Join(out, production.DATFile))
	if err != nil {
		t.Fatal(err)
	}
	cols, rows, err := production.ReadDAT(data)
	if err != nil {
		t.Fatal(err)
	}
	col := func(r []string, name string) string { return r[slices.Index(cols, name)] }
	byName := map[string][]string{}
	for _, r := range rows {
		if col(r, "PARENT_DOCID") != "" {
			byName[col(r, "FILENAME")] = r
		}
	}
	for _, id := range ids[1:] {
		a := want[id]
		r := byName[a.Filename]
		if r == nil || col(r, "MIME_TYPE") != a.Mime || col(r, "SHA256") != a.Sha256 {
			t.Errorf("message %s: DAT row for its header media %s: %q", id, a.Filename, r)
		}
	}
}
