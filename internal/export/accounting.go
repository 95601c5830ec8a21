package export

import (
	"time"

	"github.com/custodyhq/custody/internal/fetch"
)

// Accounting is the outcome of a run, printed at the end and recorded in
// the run's closing ledger entry (and the runs table).
//
// A run may take several invocations: one stopped (Ctrl-C, kill -9, a
// daily limit) is resumed by the next export of the same scope. Every
// count of what the run listed and captured covers the whole run, all
// its invocations, and equals what the ledger holds under its run id:
// conversations from the run items, the rest from the run's tally, kept
// in the same transactions as the entries (tally). Invocation says what
// this invocation alone did, requests included.
type Accounting struct {
	RunID   string `json:"run_id"`
	Resumed bool   `json:"resumed"`
	Status  string `json:"status"` // done, failed (some items failed), stopped, cancelled

	// Whole run.
	Listed   int `json:"conversations_listed"`
	Exported int `json:"conversations_exported"`         // captured, by any invocation of the run
	Erased   int `json:"conversations_erased,omitempty"` // listed, but erased (custody erase), whole or in part: not captured again
	// ErasedInPart are those of Erased erased only in part (some of their
	// messages): the rest stays in the ledger, but new messages in them
	// at the source are not captured either.
	ErasedInPart int `json:"conversations_erased_in_part,omitempty"`
	Unchanged    int `json:"conversations_unchanged"` // captured, nothing new to append
	Changed      int `json:"conversations_changed"`   // some message differed from an earlier capture
	Failed       int `json:"conversations_failed"`
	Gone         int `json:"conversations_gone"` // 404 or 410 at the source: deleted upstream
	Pending      int `json:"conversations_pending"`

	MessagesAppended  int `json:"messages_appended"` // the run's message entries in the ledger
	MessagesUnchanged int `json:"messages_unchanged"`
	MessagesChanged   int `json:"messages_changed"`
	MessagesGone      int `json:"messages_gone"`
	// Attachments of the appended messages: stored as evidence
	// (mismatched ones included), and those recorded in their message's
	// detail as not had for good (leaf.MediaRef.Status): expired urls,
	// urls the media host refused (or too large), bytes that differ from
	// the stated sha256.
	MediaDownloaded int `json:"media_downloaded"`
	MediaExpired    int `json:"media_expired,omitempty"`
	MediaRefused    int `json:"media_refused,omitempty"`
	MediaMismatch   int `json:"media_sha256_mismatch,omitempty"`
	// MediaNotCaptured: attachments (and template header media) of the
	// run's messages whose latest capture in the ledger holds no bytes of
	// them (recorded expired, refused or too large; or named by the API
	// without a url and left out by a capture made before export asked
	// the Recordings service for such), however old that capture: what
	// the matter lacks, not what this run appended.
	// MediaRetryable: those of them a later run with --media tries again
	// (an expired or refused one of a message under 30 days old, or past
	// them one the Recordings service refused, was not asked for, or
	// named a copy whose url was refused; one left out), as
	// of the run's end: what a rerun may still get (the exit status
	// stays 0: docs/commands.md, export).
	MediaNotCaptured int `json:"media_not_captured"`
	MediaRetryable   int `json:"media_retryable"`
	// MessagesRecaptured: messages unchanged at the source whose latest
	// capture holds none of their attachments (captured with
	// --media=false), or recorded some as expired or refused that could
	// be had since, appended again with them by this run (with
	// --media): each entry supersedes that capture with the same
	// payload_sha256, so it is not a change (not in MessagesChanged nor
	// ChangedAtSource); counted in MessagesAppended, and its attachments
	// in the Media counts.
	MessagesRecaptured int `json:"messages_recaptured,omitempty"`
	// MessagesWithoutMedia: messages of the run's conversations that have
	// attachments (or template header media) the ledger still does not
	// hold: captured with --media=false, by this run or an earlier one
	// and unchanged since, when this run too had --media=false (a run
	// with --media re-captures them with their attachments:
	// MessagesRecaptured).
	MessagesWithoutMedia int `json:"messages_without_media,omitempty"`
	// MediaOtherRun: an unfinished run of the same scope begun with the
	// other --media setting, left unfinished: this invocation started a
	// new run rather than resume it.
	MediaOtherRun string `json:"media_other_run,omitempty"`

	Failures        []Failure `json:"failures"`
	ChangedAtSource []Change  `json:"changed_at_source"`

	// CountsPartial: the run began under a custody that kept no
	// whole-run tally, and some of its conversations were captured then:
	// the counts of messages, media and unchanged or changed
	// conversations cover only the conversations captured since.
	// Conversation outcomes (exported, failed, gone, pending) are whole.
	CountsPartial bool `json:"counts_partial,omitempty"`

	Invocation Invocation `json:"invocation"`

	Checkpoint string `json:"checkpoint,omitempty"` // the signed note written at the end
	StopReason string `json:"stop_reason,omitempty"`
	ResumeAt   string `json:"resume_at,omitempty"` // when a daily limit lifts
	// AuditEntries is how many entries this invocation's audit query
	// returned (each invocation runs its own; 0 when it failed), and
	// AuditUnmatched how many of them name none of the run's
	// conversations — not as their entity, nor in entityChanges, nor in
	// context — so are in no conversation's audit_refs, counted by entity
	// type in AuditUnmatchedTypes.
	AuditEntries        int            `json:"audit_entries"`
	AuditUnmatched      int            `json:"audit_entries_unmatched,omitempty"`
	AuditUnmatchedTypes map[string]int `json:"audit_unmatched_entity_types,omitempty"`

	// DataAvailableUntil, when set, is the analytics dataAvailabilityDate
	// the listing met before the interval's end: conversations that
	// started after it were not listed yet, and the run is not complete.
	DataAvailableUntil string `json:"data_available_until,omitempty"`
}

// Invocation is what one invocation of a run did: the one that returns
// this accounting. Request figures are those of the fetch client it used.
type Invocation struct {
	ConversationsCaptured int     `json:"conversations_captured"` // captures this invocation committed
	MessagesAppended      int     `json:"messages_appended"`
	Requests              int64   `json:"requests"`
	TooMany               int64   `json:"responses_429"`
	Retries               int64   `json:"retries"`
	Wall                  float64 `json:"wall_seconds"`
}

// Failure names a conversation that was not exported and why.
type Failure struct {
	ConversationID string `json:"conversation_id"`
	Reason         string `json:"reason"`
	Gone           bool   `json:"gone,omitempty"`
}

// Change is a message whose payload differed from its earlier capture.
type Change struct {
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
	Seq            uint64 `json:"seq"`
	Supersedes     uint64 `json:"supersedes"`
}

// redact removes credentials from the text a server may have shaped (stop
// reason, failure reasons) before the accounting is recorded or printed.
// Errors are redacted where fetch makes them; this is the second line.
func (a *Accounting) redact(r *fetch.Redactor) {
	a.StopReason = r.Redact(a.StopReason)
	for i := range a.Failures {
		a.Failures[i].Reason = r.Redact(a.Failures[i].Reason)
	}
}

// Complete reports whether every listed conversation was exported and
// the listing covered the whole scope.
func (a *Accounting) Complete() bool { return a.complete(0) }

// completeGoneFinal is Complete with a conversation gone at the source
// counted as settled: for a refetch (Options.GoneIsFinal), whose question
// about it the source's 404 answered.
func (a *Accounting) completeGoneFinal() bool { return a.complete(a.Gone) }

func (a *Accounting) complete(settled int) bool {
	if a.DataAvailableUntil != "" {
		return false // some of the interval is not listed yet
	}
	return a.Listed > 0 && a.Exported+a.Erased+settled == a.Listed || a.Listed == 0 && a.Failed == 0 && a.Pending == 0
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
