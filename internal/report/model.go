package report

import (
	"encoding/json"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
)

// FormatID names the report.json format; it changes only with an
// incompatible change of schema.json.
const FormatID = "custody-report/2"

// Doc is report.json: every fact of the report, in the order of its
// sections. The HTML is rendered from the same value, so the two agree.
type Doc struct {
	Format string `json:"format"`
	// NotVerified: written with --no-verify, the ledger and its evidence
	// not checked (and the report not recorded in the ledger). First, so
	// that no reader of report.json meets a fact before it.
	NotVerified bool       `json:"not_verified,omitempty"`
	GeneratedAt string     `json:"generated_at"`
	Operator    string     `json:"operator"`
	TimeZone    string     `json:"time_zone"`
	Tool        Tool       `json:"tool"`
	Matter      MatterInfo `json:"matter"`
	Summary     Summary    `json:"summary"`
	Runs        []RunInfo  `json:"runs"`
	LegalHold   LegalHold  `json:"legal_hold"`
	Diff        *DiffInfo  `json:"diff"`
	// DiffErased is the latest recorded diff when an erasure deleted its
	// findings (they named what it erased): the report, asked for no diff
	// by name, is written without one (Diff nil) and says so.
	DiffErased  *DiffErased `json:"diff_erased,omitempty"`
	FormatGaps  []FormatGap `json:"format_limits"`
	Findings    []KindCount `json:"findings"`
	Gaps        []Gap       `json:"gaps"`
	Integrity   Integrity   `json:"integrity"`
	Transcripts Transcripts `json:"transcripts"`
	// Exceptions come after the transcripts in report.json (section 7
	// comes after them on the page too): reading the transcripts finds
	// the evidence that does not hash to its address, which they list.
	Exceptions  []Exception `json:"exceptions"`
	Certificate Certificate `json:"certificate"`
}

// Tool is the custody binary that wrote the report.
type Tool struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	VCSRevision string `json:"vcs_revision"`
	BuildSHA256 string `json:"build_sha256"`
}

// MatterInfo names the matter and its ledger.
type MatterInfo struct {
	Name        string `json:"name"`
	Origin      string `json:"origin"`
	VerifierKey string `json:"verifier_key"`
	Evidence    string `json:"evidence"`
}

// Summary is section 1's numbers.
type Summary struct {
	Conversations int `json:"conversations"`
	Messages      int `json:"messages"`
	// Attachments counts the attachments custody downloaded and keeps as
	// evidence, those of each message's latest capture while the message
	// is held (not erased, its body not deleted nor altered or missing):
	// what the transcripts show kept, the certificate's rule too (section
	// 7 lists those it could not).
	Attachments int `json:"attachments"`
	// NotDownloaded counts the attachments (and template header media)
	// the messages shown name whose bytes the ledger does not hold, no
	// download tried (--media=false, or served without a url:
	// Attachment.NoURL): section 7 lists each (KindMediaNotCaptured).
	NotDownloaded int `json:"attachments_not_captured"`
	// NotChecked counts the attachments kept (among Attachments) whose
	// bytes were checked against nothing the API stated, as it stated
	// neither a sha256 nor a size: section 7 lists each
	// (KindMediaNotChecked).
	NotChecked        int `json:"attachments_not_checked"`
	HeldConversations int `json:"held_conversations"`
	// MatterHeld counts conversations under a matter hold (custody
	// hold) in force.
	MatterHeld int `json:"matter_held_conversations"`
	// ErasedConversations counts the conversations erased whole;
	// ErasedMessages the captured messages erased (those of erased
	// conversations included); BodiesErased the messages not erased
	// whose response body an erasure deleted with an erased message's.
	// NotCaptured counts the conversations a run listed and did not
	// capture — failed, or pending when it stopped — that no later
	// capture took (section 7 lists each, kinds failed and pending): the
	// scope the runs were given is not captured whole.
	NotCaptured         int      `json:"conversations_not_captured"`
	ErasedConversations int      `json:"erased_conversations"`
	ErasedMessages      int      `json:"erased_messages"`
	BodiesErased        int      `json:"messages_body_erased"`
	Intervals           []string `json:"intervals"`
	// CapturedByID counts the conversations captured only by runs given
	// conversation ids (a refetch, --conversation), not an interval:
	// they may lie outside every interval (0 when no interval is
	// recorded).
	CapturedByID int `json:"conversations_captured_by_id"`
	// APIHosts are where the captures came from, as the ledger's runs
	// recorded them (empty when the runs did not record it).
	APIHosts  []string `json:"api_hosts"`
	ClientIDs []string `json:"oauth_client_ids"`
	// Alert is what page 1 says first when the certificate is withheld
	// (verification failed or skipped, evidence altered or missing);
	// report.json has it as integrity.verified and certificate.withheld.
	Alert string `json:"-"`
}

// RunInfo is one run of the matter (export, refetch, diff, report).
type RunInfo struct {
	RunID       string          `json:"run_id"`
	Kind        string          `json:"kind"`
	Status      string          `json:"status"`
	StartedAt   string          `json:"started_at"`
	EndedAt     string          `json:"ended_at"`
	Operator    string          `json:"operator"`
	Host        string          `json:"host"`
	ToolVersion string          `json:"tool_version"`
	Scope       json.RawMessage `json:"scope"`
	Outcome     string          `json:"outcome"`
	// ByNotRecorded: the ledger records none of Operator, Host and
	// ToolVersion for the run (a diff's entry records none of them; runs
	// written before custody recorded them): the page says "not
	// recorded" rather than leave its By column blank.
	ByNotRecorded bool `json:"by_not_recorded,omitempty"`
}

// LegalHold is section 2: the conversations under legal hold at capture
// and what the diffed export did to them.
type LegalHold struct {
	Conversations int `json:"held_conversations"`
	// MatterHeld counts conversations under a matter hold (custody
	// hold) in force; Held lists them beside those deletion-protected.
	MatterHeld int `json:"matter_held_conversations"`
	// Affected is how many held conversations the export lost, changed
	// or added a message of (missing, altered, time-shifted, not captured).
	Affected int `json:"affected_conversations"`
	// HoldsStripped counts messages captured under a legal hold of true
	// whose export lacks the hold (or says false).
	HoldsStripped int `json:"holds_stripped"`
	// FormatCannotHold: the export's format has no legal-hold field at
	// all (a format_lacks finding; every Genesys export): not a loss of
	// this export, so not in HoldsStripped. HeldUnmarked is how many of
	// its compared messages custody captured under a legal hold of true.
	FormatCannotHold bool `json:"format_cannot_hold"`
	HeldUnmarked     int  `json:"held_messages_unmarked"`
	// Missing counts the held messages the export lacks: each
	// missing_from_export finding's, and every captured message of the
	// held conversations it lacks entirely (ConversationsAbsent, one
	// conversation_absent finding each, whose MessagesInAbsent messages
	// are among Missing).
	Missing             int `json:"messages_missing"`
	ConversationsAbsent int `json:"conversations_absent"`
	MessagesInAbsent    int `json:"messages_in_absent_conversations"`
	Altered             int `json:"messages_altered"`
	TimeShifted         int `json:"messages_time_shifted"`
	NotCaptured         int `json:"messages_not_captured"`
	// Erased counts the held conversations an erasure erased whole or in
	// part, ErasedDespiteHold those of them erased under --override-hold:
	// each is marked in Held with its erasure.
	Erased            int                `json:"erased_conversations"`
	ErasedDespiteHold int                `json:"erased_despite_hold"`
	Held              []HeldConversation `json:"conversations"`
}

// HeldConversation is one conversation under legal hold.
type HeldConversation struct {
	ID       string `json:"conversation_id"`
	Messages int    `json:"messages"`
	// DeletionProtection: under Genesys deletion protection when last
	// captured; MatterHold: the matter hold in force, if any.
	DeletionProtection bool        `json:"deletion_protection"`
	MatterHold         *MatterHold `json:"matter_hold"`
	// HoldsStripped counts its messages whose export lost the hold.
	HoldsStripped int `json:"holds_stripped"`
	// Counts are its findings that say the export lost, changed or
	// added a message (missing, altered, time-shifted, not captured), by
	// kind; Affected names those messages.
	Counts   map[string]int `json:"findings"`
	Affected []HeldMessage  `json:"messages_affected"`
	// Erased is the erasure that erased it whole (ErasedWhole), else the
	// latest that erased some of its messages (custody erase
	// --override-hold, its OverrideHold the reason given; or an erasure
	// before a hold covered it); nil when none did. MessagesErased and
	// BodiesErased count its messages erased, and those not erased whose
	// response body an erasure deleted with an erased message's: what is
	// left of it is every message's ledger entry, hash values and proof,
	// and the content of the others.
	Erased         *Erasure `json:"erased,omitempty"`
	ErasedWhole    bool     `json:"erased_whole,omitempty"`
	MessagesErased int      `json:"messages_erased,omitempty"`
	BodiesErased   int      `json:"messages_body_erased,omitempty"`
}

// MatterHold is a matter hold (custody hold) in force.
type MatterHold struct {
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
}

// Erasure is the erasure entry that erased a conversation or message, or
// deleted a message's response body: shown in place of what is gone.
type Erasure struct {
	Seq          uint64 `json:"seq"`
	When         string `json:"when"`
	Reason       string `json:"reason"`
	Operator     string `json:"operator"`
	OverrideHold string `json:"override_hold"`
}

// HeldMessage is a message of a held conversation with findings.
type HeldMessage struct {
	MessageID string   `json:"message_id"`
	Kinds     []string `json:"kinds"`
}

// DiffInfo is the diff the report is about.
type DiffInfo struct {
	RunID         string         `json:"run_id"`
	Seq           uint64         `json:"seq"`
	Source        string         `json:"source"`
	Files         int            `json:"files"`
	FilesRead     int            `json:"files_read"`
	Messages      int            `json:"messages"`
	Conversations int            `json:"conversations"`
	Findings      int            `json:"findings"`
	Counts        map[string]int `json:"counts"`
	// ErasedNotCompared is how many of the diff's findings are erased
	// rows: messages erased from the matter since the diff (custody
	// erase), whose content and sender could not be compared. They are
	// about the ledger, not the export: outside Findings and Counts, and
	// said beside them, so the diff's own total is accounted for.
	ErasedNotCompared int    `json:"erased_not_compared"`
	FindingsSHA256    string `json:"findings_sha256"`
	FilesSHA256       string `json:"files_sha256"`
}

// DiffErased is a recorded diff that can no longer be read: the erasure
// entry ErasureSeq deleted its findings.
type DiffErased struct {
	RunID      string `json:"run_id"`
	Seq        uint64 `json:"seq"`
	ErasureSeq uint64 `json:"erasure_seq"`
	Source     string `json:"source"`
}

// FormatGap is one field the export lacked, stated once (section 3).
type FormatGap struct {
	Field string `json:"field"`
	// Kind is the finding kind counted (field_stripped or
	// timestamp_precision_lost).
	Kind string `json:"kind"`
	// Absent is how many exported messages lacked it; Compared how many
	// exported messages were matched to a capture.
	Absent   int  `json:"absent"`
	Compared int  `json:"compared"`
	Format   bool `json:"format_cannot_carry"`
	// TrueValues says what custody holds for those messages, by value
	// ("true": 86, "false": 900 for legal_hold).
	TrueValues map[string]int `json:"true_values"`
}

// KindCount is one finding kind's row in section 4, with its meaning
// from the finding table.
type KindCount struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Meaning  string `json:"meaning"`
	Gap      bool   `json:"gap"`
	Count    int    `json:"count"`
	// Held is how many of them concern conversations under legal hold.
	Held int `json:"held"`
}

// Gap is one gap finding and what refetching it found.
type Gap struct {
	Kind           string `json:"kind"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
	Cause          string `json:"cause"`
	Outcome        string `json:"outcome"`
	Reason         string `json:"reason"`
}

// Exception is one thing custody could not capture or keep (section 7).
type Exception struct {
	Kind           string `json:"kind"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
	Reason         string `json:"reason"`
	// Ledger is what the ledger holds for a message or conversation whose
	// evidence does not hash to its address or is missing (kinds
	// StatusAltered, StatusMissing); nil for the other kinds.
	Ledger *ExceptionLedger `json:"ledger,omitempty"`
}

// ExceptionLedger is what the ledger holds for a message or conversation
// whose evidence object was altered or is missing: the entry that stands
// for it, and the address of the object it names.
type ExceptionLedger struct {
	Seq      uint64 `json:"seq"`
	LeafHash string `json:"leaf_hash"`
	// PayloadSHA256 is a message's payload hash ("" for a conversation
	// object: omitted).
	PayloadSHA256 string `json:"payload_sha256,omitempty"`
	// EvidenceSHA256 is the address of the object the entry names, whose
	// bytes no longer hash to it or are gone.
	EvidenceSHA256 string `json:"evidence_sha256"`
}

// Integrity is section 6.
type Integrity struct {
	LedgerSize     uint64           `json:"ledger_size"`
	Root           string           `json:"merkle_root"`
	ChainHead      string           `json:"chain_head"`
	Checkpoints    []CheckpointInfo `json:"checkpoints"`
	KeyFingerprint string           `json:"signer_key_fingerprint"`
	Verified       VerifyInfo       `json:"verified"`
	// RunState lists each point where the run state (runs, run_items:
	// not chained) disagrees with the ledger's run and listing entries;
	// the report states the runs from the entries. Absent when none.
	Unchained []string `json:"state_disagreements,omitempty"`
	Commands  []string `json:"commands"`
}

// CheckpointInfo is one signed checkpoint.
type CheckpointInfo struct {
	ID        int64  `json:"id"`
	Size      uint64 `json:"size"`
	Root      string `json:"root"`
	CreatedAt string `json:"created_at"` // the custodian's clock when it signed: a claim, proving nothing
	KeyID     string `json:"key_fingerprint"`
	// Timestamps are the RFC 3161 tokens (and gaps) stored for it, and
	// Witnesses the names of the witnesses whose cosignatures are stored
	// for it (checked only by custody verify --witness KEY).
	Timestamps []CheckpointTimestamp `json:"timestamps"`
	Witnesses  []string              `json:"witnesses"`
}

// VerifyInfo is what verification found when the report was written.
type VerifyInfo struct {
	OK                  bool   `json:"ok"`
	Entries             uint64 `json:"entries"`
	CoveredEntries      uint64 `json:"covered_entries"`
	Checkpoints         int    `json:"checkpoints"`
	ExternalCheckpoints int    `json:"external_checkpoints"`
	EvidenceReferenced  int    `json:"evidence_referenced"`
	EvidenceMissing     int    `json:"evidence_missing"`
	EvidenceAltered     int    `json:"evidence_altered"`
	Derived             int    `json:"entries_rederived"`
	// NotRederived counts entries of a derivable kind whose evidence
	// could not be read (or was erased): not re-derived.
	NotRederived int      `json:"entries_not_rederived"`
	Failures     []string `json:"failures"`
	// Unsigned says which entries no signed checkpoint covered when
	// verification ran (custody verify's UNSIGNED): every check held, but
	// only the hash chain vouched for them. OK stays true; the checkpoint
	// the report signs covers them from then on. Absent when none.
	Unsigned string `json:"unsigned,omitempty"`
	// At is when verification finished (absent with --no-verify): the
	// certificate says it, with what was checked.
	At string `json:"verified_at,omitempty"`
}

// Transcripts is section 5: where the transcripts are and how many.
type Transcripts struct {
	Conversations int      `json:"conversation_count"`
	Messages      int      `json:"message_count"`
	Pages         []string `json:"pages"`
	Filter        string   `json:"filter"`
	// Items are the conversations, in order (report.json carries every
	// message; the HTML renders them on its pages).
	Items convList `json:"conversations"`
}

// convList marshals as the report's marker while the document's head is
// written: the conversations are streamed in its place.
type convList []*Conversation

// streamMarker is what a nil convList marshals as; Generate sets it.
var streamMarker = `null`

func (c convList) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte(streamMarker), nil
	}
	return json.Marshal([]*Conversation(c))
}

// Conversation is one conversation's transcript.
type Conversation struct {
	ID           string        `json:"conversation_id"`
	Held         bool          `json:"legal_hold"`
	Seq          uint64        `json:"seq"`
	LeafHash     string        `json:"leaf_hash"`
	Participants []Participant `json:"participants"`
	// ParticipantsError says why the conversation's evidence, which
	// holds its participants, could not be read.
	ParticipantsError string     `json:"participants_error,omitempty"`
	Messages          []*Message `json:"messages"`
	Gone              []string   `json:"messages_gone"`
	Page              string     `json:"page"`
	Findings          int        `json:"findings"`
	// Erased is the erasure that erased the conversation whole: its
	// participants and messages' content are gone.
	Erased *Erasure `json:"erased,omitempty"`
	// EvidenceAltered counts its messages whose evidence does not hash to
	// its address (status evidence_altered): their content is not shown.
	EvidenceAltered int `json:"evidence_altered,omitempty"`
	// EvidenceMissing counts its messages whose response body is not in
	// the evidence store (status evidence_missing).
	EvidenceMissing int `json:"evidence_missing,omitempty"`
	// participantsAltered: its conversation object does not hash to its
	// address (ParticipantsError says so); participantsMissing: it is
	// not in the store.
	participantsAltered, participantsMissing bool
}

// AlteredEvidence reports whether any evidence the conversation's
// transcript read does not hash to its address (its conversation object,
// or a message's response body).
func (c *Conversation) AlteredEvidence() bool { return c.EvidenceAltered > 0 || c.participantsAltered }

// MissingEvidence reports whether any evidence the conversation's
// transcript reads is not in the store.
func (c *Conversation) MissingEvidence() bool { return c.EvidenceMissing > 0 || c.participantsMissing }

// Participant is one participant of a conversation, from its evidence.
type Participant struct {
	Purpose string `json:"purpose"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Message is one message of a transcript.
type Message struct {
	ID            string       `json:"message_id"`
	Seq           uint64       `json:"seq"`
	LeafHash      string       `json:"leaf_hash"`
	PayloadSHA256 string       `json:"payload_sha256"`
	From          string       `json:"from"`
	To            string       `json:"to"`
	Direction     string       `json:"direction"`
	Sender        string       `json:"sender"`
	TimeUTC       string       `json:"time_utc"`
	TimeLocal     string       `json:"time_local"`
	Text          string       `json:"text"`
	Attachments   []Attachment `json:"attachments"`
	Status        []string     `json:"status"`
	Proof         string       `json:"proof"`
	Error         string       `json:"error,omitempty"`
	// Erased is the erasure that erased the message (status "erased"):
	// only the ledger's facts are shown. BodyErased is the erasure that
	// deleted the response body of a message it did not erase (status
	// "body_erased"): the message stands, its opening remains, its text
	// cannot be shown.
	Erased     *Erasure `json:"erased,omitempty"`
	BodyErased *Erasure `json:"body_erased,omitempty"`
	// DateDeleted and DateModified are when the sender deleted or edited
	// the message at the source, as its ledger entry records them
	// (detail.date_deleted, date_modified); the status says so too
	// (StatusDeletedAtSource, StatusEditedAtSource).
	DateDeleted  string `json:"date_deleted,omitempty"`
	DateModified string `json:"date_modified,omitempty"`
	// Altered: the message's evidence object does not hash to its
	// address (status evidence_altered, Error says what it hashes to);
	// nothing read from it is shown.
	Altered bool `json:"-"`
	// Missing: the message's response body is not in the evidence store
	// (status evidence_missing); nothing of it can be shown.
	Missing bool `json:"-"`
	// evidence is the address of the message's response body, as its
	// entry names it (section 7 names it when it is altered).
	evidence hashchain.Hash
}

// Attachment is one attachment of a message: a content attachment, or,
// after them, a template's header media (TemplateHeader).
type Attachment struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	SHA256 string `json:"sha256"`
	Status string `json:"status"`
	// TemplateHeader: the media of a WhatsApp template's header (an
	// image, video or document), not a content attachment; absent (false)
	// on content attachments, so their form is what it was.
	TemplateHeader bool `json:"template_header,omitempty"`
	// NoURL: the captured message names it without a url (the messages
	// API served none), and the ledger records no media for it: captured
	// with --media=false, or by a custody that did not ask the
	// Recordings service for such media; absent (false) on every other,
	// so their form is what it was.
	NoURL bool `json:"no_url,omitempty"`
	// NotChecked: downloaded and kept, but the API stated neither its
	// sha256 nor its size, so its bytes were checked against nothing
	// (KindMediaNotChecked); absent (false) on every other, so their
	// form is what it was.
	NotChecked bool `json:"not_checked,omitempty"`
}

// Certificate is section 8's facts.
type Certificate struct {
	Title     string `json:"title"`
	Statement string `json:"statement"`
	// Records says what the statement certifies, in counts: the
	// transcripts' conversations, messages and attachments kept (under
	// a filter, the selection's, with the matter's beside them).
	Records        string `json:"records"`
	Process        string `json:"process"` // how the records were made; the transport as the runs recorded it (processText)
	HashAlgorithm  string `json:"hash_algorithm"`
	LedgerSize     uint64 `json:"ledger_size"`
	Root           string `json:"merkle_root"`
	CheckpointID   int64  `json:"checkpoint_id"`
	CheckpointSize uint64 `json:"checkpoint_size"`
	Checkpoint     string `json:"checkpoint"`
	// Verification says when the ledger and its evidence were verified
	// as this report was written, and what was checked: section 6's
	// verification, in words (verificationText).
	Verification string `json:"verification"`
	// Withheld: verification failed or was skipped, or the transcripts
	// met altered evidence, so nothing is certified: Statement says why
	// and the page has no declaration to sign.
	Withheld bool `json:"withheld,omitempty"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
