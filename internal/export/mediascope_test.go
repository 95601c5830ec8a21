package export_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/ledger"
)

// TestExportMediaSettingIsPartOfTheScope: a run begun with --media=false
// and interrupted is not resumed by a run with --media (nor the reverse):
// that starts a new run, naming the unfinished one in its accounting
// (media_other_run), and the unfinished one is resumed only with its own
// setting. Before, the media setting was not part of the resume check,
// and the rerun silently went on without attachments (or with them).
func TestExportMediaSettingIsPartOfTheScope(t *testing.T) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	noMedia := intervalScope()
	noMedia.WithMedia = false
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := export.Run(ctx, export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: withMatter(noMedia), SignerKey: e.key, Concurrency: 2, Progress: &cancelAfter{n: 8, cancel: cancel}})
	if !errors.Is(err, context.Canceled) || first.Status != ledger.RunCancelled || first.Pending == 0 {
		t.Fatalf("interrupted run: %v, accounting %+v: want it cancelled with conversations pending", err, first)
	}
	with := e.run(t, mediaScope())
	if with.Resumed || with.RunID == first.RunID || with.MediaOtherRun != first.RunID || !with.Complete() {
		t.Fatalf("run with --media: %+v, want a new run (not %s resumed) naming it, complete", with, first.RunID)
	}
	// The unfinished run is resumed with its own setting.
	again := e.run(t, noMedia)
	if !again.Resumed || again.RunID != first.RunID || again.MediaOtherRun != "" || !again.Complete() {
		t.Fatalf("rerun with --media=false: %+v, want %s resumed and completed", again, first.RunID)
	}
}

// TestExportCountsMessagesWithoutMedia: a --media=false run says how
// many of its messages the ledger holds without their attachments
// (messages_without_media); a run with --media after it re-captures them
// with their attachments (TestExportRecapturesMessagesWithoutMedia) and
// leaves none without, as does a run with --media that captured them.
func TestExportCountsMessagesWithoutMedia(t *testing.T) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	withAttachments := map[string]bool{}
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			withAttachments[a.MessageID] = true
		}
	}
	if len(withAttachments) == 0 {
		t.Fatal("the org has no attachments")
	}
	noMedia := intervalScope()
	noMedia.WithMedia = false
	first := e.run(t, noMedia)
	if first.MessagesWithoutMedia != len(withAttachments) || first.MediaDownloaded != 0 {
		t.Fatalf("--media=false run: %+v, want %d messages without media", first, len(withAttachments))
	}
	later := e.run(t, mediaScope())
	if later.MessagesRecaptured != len(withAttachments) || later.MessagesWithoutMedia != 0 || later.MediaDownloaded == 0 {
		t.Fatalf("--media run after it: %+v, want %d messages re-captured with their attachments, none without", later, len(withAttachments))
	}

	f := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	if a := f.run(t, mediaScope()); a.MessagesWithoutMedia != 0 || a.MediaDownloaded == 0 {
		t.Fatalf("--media run: %+v, want every attachment held", a)
	}
}
