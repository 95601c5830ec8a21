package export

import (
	"time"

	"github.com/custodyhq/custody/internal/fetch"
)

// Accounting is the outcome of a run, printed at the end and recorded in
// the run's closing ledger entry.
type Accounting struct {
	RunID   string `json:"run_id"`
	Resumed bool   `json:"resumed"`
	Status  string `json:"status"` // done, failed (some items failed), stopped, cancelled

	Listed    int `json:"conversations_listed"`
	Exported  int `json:"conversations_exported"`  // captured in this or an earlier invocation of the run
	Unchanged int `json:"conversations_unchanged"` // exported, nothing new to append
	Changed   int `json:"conversations_changed"`   // some message differed from an earlier capture
	Failed    int `json:"conversations_failed"`
	Gone      int `json:"conversations_gone"` // 404 at the source: deleted upstream
	Pending   int `json:"conversations_pending"`

	MessagesAppended  int `json:"messages_appended"`
	MessagesUnchanged int `json:"messages_unchanged"`
	MessagesChanged   int `json:"messages_changed"`
	MessagesGone      int `json:"messages_gone"`
	MediaDownloaded   int `json:"media_downloaded"` // attachments stored as evidence (mismatched ones included)
	// Attachments recorded in their message's detail as not had for good
	// (leaf.MediaRef.Status): expired urls, urls the media host refused
	// (or too large), bytes that differ from the stated sha256.
	MediaExpired  int `json:"media_expired,omitempty"`
	MediaRefused  int `json:"media_refused,omitempty"`
	MediaMismatch int `json:"media_sha256_mismatch,omitempty"`

	Failures        []Failure `json:"failures"`
	ChangedAtSource []Change  `json:"changed_at_source"`

	Requests int64   `json:"requests"`
	TooMany  int64   `json:"responses_429"`
	Retries  int64   `json:"retries"`
	Wall     float64 `json:"wall_seconds"`

	Checkpoint string `json:"checkpoint,omitempty"` // the signed note written at the end
	StopReason string `json:"stop_reason,omitempty"`
	ResumeAt   string `json:"resume_at,omitempty"` // when a daily limit lifts
	// DataAvailableUntil, when set, is the analytics dataAvailabilityDate
	// the listing met before the interval's end: conversations that
	// started after it were not listed yet, and the run is not complete.
	DataAvailableUntil string `json:"data_available_until,omitempty"`
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
func (a *Accounting) Complete() bool {
	if a.DataAvailableUntil != "" {
		return false // some of the interval is not listed yet
	}
	return a.Listed > 0 && a.Exported == a.Listed || a.Listed == 0 && a.Failed == 0 && a.Pending == 0
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
