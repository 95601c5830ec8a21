package finding

import (
	"encoding/json"
	"fmt"
)

// Kind names a finding. The names are stable: reports, scripts and the
// ground-truth manifests of the simulator's exports rely on them.
type Kind string

// Finding kinds. Each has one row in table, which says what it means;
// docs/diff.md says exactly when each is reported.
const (
	FieldStripped          Kind = "field_stripped"
	ValueAltered           Kind = "value_altered"
	TimestampPrecisionLost Kind = "timestamp_precision_lost"
	TimestampShifted       Kind = "timestamp_shifted"
	ContentDiffers         Kind = "content_differs"
	MissingFromExport      Kind = "missing_from_export"
	ConversationAbsent     Kind = "conversation_absent"
	NotCaptured            Kind = "not_captured"
	Duplicated             Kind = "duplicated"
	FileUnreadable         Kind = "file_unreadable"
	FormatLacks            Kind = "format_lacks"
	Erased                 Kind = "erased"
)

// Info is what the table says of a kind.
type Info struct {
	Kind Kind
	// Doc says when the kind is reported, in a sentence, for engineers.
	Doc string
	// Gap: the finding names a message custody lacks or the export lacks
	// that refetch can ask Genesys for again.
	Gap bool
	// Ledger: the finding is about the ledger, not the export (what it
	// no longer holds to compare with); no damage to an export makes it.
	Ledger bool
	// Title, Plain and Example say the same for a reader who is not an
	// engineer (counsel, a reviewer): a short name, what it means and why
	// it matters in plain words, and one concrete case. docs/findings.md
	// and the report are rendered from them (finding_test.go checks the
	// doc), so this table is the one source of that text.
	Title, Plain, Example string
}

// table is every finding kind, in report order: the order of the
// summary's rows and of Counts. Its length sizes Counts at compile time,
// so a kind added here cannot outgrow it.
var table = [...]Info{
	{
		Kind: FieldStripped, Doc: "a field the policy requires is absent from the exported message (Field names it; never legal_hold or audit_trail_id, which no Genesys export has carried: format_lacks)",
		Title: "Field stripped",
		Plain: "The exported message is there, but a piece of information custody captured from Genesys is missing from it, " +
			"although the export's format has a place for it: who sent it, when, its text, " +
			"the media (an image, video or document) of a WhatsApp template's header, or the message's attachments (its photos, documents, voice notes or stickers). " +
			"The export alone cannot show that information; the ledger can. " +
			"A field the format has no place for at all is not reported message by message: see format_lacks.",
		Example: "the export's format carries the sender as \"from\"; the exported copy of m-17 has no \"from\".",
	},
	{
		Kind: ValueAltered, Doc: "a compared field (sender, legal_hold, audit_trail_id, template_header_media, attachments, conversation_id) is present but differs from the capture, or a value has the wrong type or a timestamp is not a timestamp",
		Title: "Value altered",
		Plain: "A piece of information is in the export but says something other than what Genesys recorded: " +
			"a different sender, legal-hold flag, audit reference, template header media, set of attachments (one left out, or one the message never had) or conversation, " +
			"or a value that is not even of the right type.",
		Example: "custody captured m-17 as sent by +44 7700 900123; the export says it was sent by agent-42.",
	},
	{
		Kind: TimestampPrecisionLost, Doc: "the exported timestamp carries less than millisecond precision and equals the captured one cut to that precision",
		Title: "Timestamp precision lost",
		Plain: "The export gives the time of a message less precisely than Genesys recorded it (for example without the milliseconds). " +
			"The time is not wrong, but the export alone cannot prove the exact moment, or the order of messages sent within the same second.",
		Example: "captured 2024-01-05T10:00:00.734Z; the export says 2024-01-05T10:00:00Z.",
	},
	{
		Kind: TimestampShifted, Doc: "the exported timestamp is a different instant",
		Title:   "Timestamp shifted",
		Plain:   "The export gives a different time for the message than Genesys recorded: rounded up, moved by a time-zone mistake, or simply wrong.",
		Example: "captured 2024-01-05T10:00:00.900Z; the export says 2024-01-05T11:00:01Z.",
	},
	{
		Kind: ContentDiffers, Doc: "the normalised text hashes differently",
		Title: "Content differs",
		Plain: "The text of the message in the export is not the text custody captured. " +
			"Only fingerprints (SHA-256 hashes) of the two texts are compared and reported, never the text itself, " +
			"so a findings file can be shared without the messages in it.",
		Example: "captured \"I accept the offer\"; the export holds \"I do not accept the offer\": the two hashes differ.",
	},
	{
		Kind: MissingFromExport, Doc: "captured, in a conversation the export covers, but not in the export", Gap: true,
		Title: "Missing from export",
		Plain: "custody captured this message, in a conversation the export does cover, but the export does not have it: the export lost a message. " +
			"It is a gap: custody refetch asks Genesys whether the message still exists (confirmed_at_source) or has since been deleted (gone_at_source).",
		Example: "conversation c-9 has 12 captured messages; the export's file for c-9 holds 11, and m-5 is not among them.",
	},
	// Not a gap: the ledger holds every message of it, and an old export
	// usually covers a period or a selection, so refetching every
	// conversation it left out would re-read much of the ledger from
	// Genesys to learn nothing about the export.
	{
		Kind: ConversationAbsent, Doc: "a captured conversation the export does not cover at all: no file, folder or message of it (Detail says how many messages were captured)",
		Title: "Conversation absent",
		Plain: "A whole conversation custody captured is not in the export at all. " +
			"Often this is only the export's date range or selection; it is reported, once per conversation, so that what the export covers is visible. " +
			"It is not refetched: the ledger already holds every message of it.",
		Example: "custody captured conversation c-31 (40 messages); the export has no file, folder or message of c-31.",
	},
	{
		Kind: NotCaptured, Doc: "in the export but never captured: a gap to refetch; with no MessageID, a conversation the export names, never captured, of which no message could be read (a file of it cut short before its first message, or holding none)", Gap: true,
		Title: "Not captured",
		Plain: "The export holds a message custody never captured. " +
			"Either the capture did not cover it (another date range, or it failed), and custody refetch can capture it now (filled), " +
			"or Genesys never had such a message in that conversation (not_at_source) or has deleted it since (gone_at_source). " +
			"Nothing else is reported for such a message until it is captured: there is nothing to compare it with. " +
			"A whole conversation custody never captured, of which the export kept no readable message (its file cut short before the first), is one such finding for the conversation: " +
			"once refetch has captured it, the messages the export lost are shown (missing_from_export).",
		Example: "the export holds m-88 in conversation c-40, from after the last day custody captured.",
	},
	{
		Kind: Duplicated, Doc: "the same message appears again in the export",
		Title:   "Duplicated",
		Plain:   "The same message (same conversation and message id) appears more than once in the export. Only the first copy is compared.",
		Example: "m-17 appears twice in the file for conversation c-9.",
	},
	{
		Kind: FileUnreadable, Doc: "a file, or part of one, could not be read or parsed, or its name is unsafe (Detail says why and where)",
		Title: "File unreadable",
		Plain: "A file of the export, or part of one, could not be read: it is cut short, not valid JSON, too large, or its name is unsafe. " +
			"The messages in the unreadable part could not be compared; the diff goes on with the rest.",
		Example: "conversation_id=c-12/r-3.json ends in the middle of a message (truncated upload).",
	},
	{
		Kind: FormatLacks, Doc: "a required field the export's format keeps nowhere (the policy lists no path for it in the files' shape): " +
			"one finding per shape and field for the whole export, never one per message; Count says how many exported messages lack it, " +
			"Expected what custody holds for them (value=count pairs)",
		Title: "Field the format cannot hold",
		Plain: "The export's format has no place for this piece of information, so none of its messages carry it: " +
			"no Genesys export has ever carried legal hold or an audit-trail reference (so no export made from one lost them, whatever its format), and the usual customer reshape carries no media (no attachments, no media of a template's header). " +
			"It is a property of the format, reported once, not once per message, and it says nothing about what any one message lost. " +
			"custody supplies the information itself — legal hold from Genesys deletion protection and its own holds, audit references from the audit API — " +
			"with hashes and proofs; it does not restore anything to the export.",
		Example: "the Recording export's transcripts have no legal_hold field: its 271 messages lack it; custody holds it for each (18 true, 253 false).",
	},
	// One a message, not one for the export as format_lacks: which
	// messages went uncompared is what an auditor needs to reconcile a
	// diff made before an erasure with one made after it.
	{
		Kind: Erased, Ledger: true,
		Doc: "an exported message erased from the ledger (custody erase): its content and sender were not compared, custody no longer holds them " +
			"(Expected names the erasure entry); its other fields were compared as usual",
		Title: "Erased: not compared",
		Plain: "The export holds a message whose text and sender custody has erased (custody erase, for example on a data subject's request), " +
			"so they could not be compared: the export's copy of them may be intact or not, the diff cannot say. " +
			"It is not a difference found in the export but a comparison the ledger can no longer make, listed message by message " +
			"so that a diff made after an erasure can be reconciled with one made before it: a finding about the message's text or sender that was there before is not gone, it is here. " +
			"Its time, legal hold, audit reference and attachments are still compared.",
		Example: "m-17 was erased by erasure entry 614; the export still holds m-17: its content and sender are not compared.",
	},
}

// index is each kind's row in table.
var index = func() map[Kind]int {
	m := make(map[Kind]int, len(table))
	for i, in := range table {
		m[in.Kind] = i
	}
	return m
}()

// Kinds returns the row of every kind about the export, in report order:
// the kinds a report's findings sections list. The ledger's kinds
// (Info.Ledger: erased) come after them in the table and are left out;
// All has them too.
func Kinds() []Info { return table[:exportKinds] }

// All returns every kind's row, the ledger's last: what a diff's own
// outputs count and list.
func All() []Info { return table[:] }

// exportKinds is how many rows of table are about the export: those
// before the first Ledger row (TestTable holds every row after it to be
// one), so a kind's index is the same in Kinds and All.
var exportKinds = func() int {
	for i, in := range table {
		if in.Ledger {
			return i
		}
	}
	return len(table)
}()

// Lookup returns the row of k, and false for an unknown kind.
func Lookup(k Kind) (Info, bool) {
	i, ok := index[k]
	if !ok {
		return Info{}, false
	}
	return table[i], true
}

// IsGap reports whether k is a gap to refetch (Info.Gap).
func IsGap(k Kind) bool {
	in, _ := Lookup(k)
	return in.Gap
}

// Counts are finding counts by kind in a fixed array, in report order: a
// diff's summary keeps one per conversation, so it is kept small. Its JSON
// form is an object of the non-zero counts by kind name.
type Counts [len(table)]int32

// Add counts one finding of kind k; an unknown kind is not counted.
func (c *Counts) Add(k Kind) {
	if i, ok := index[k]; ok {
		c[i]++
	}
}

// Get returns the count of kind k.
func (c Counts) Get(k Kind) int {
	i, ok := index[k]
	if !ok {
		return 0
	}
	return int(c[i])
}

// Total is the number of findings counted.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += int(v)
	}
	return n
}

// Map returns the non-zero counts by kind.
func (c Counts) Map() map[Kind]int {
	m := map[Kind]int{}
	for i, n := range c {
		if n > 0 {
			m[table[i].Kind] = int(n)
		}
	}
	return m
}

// MarshalJSON writes the non-zero counts as an object.
func (c Counts) MarshalJSON() ([]byte, error) { return json.Marshal(c.Map()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Counts) UnmarshalJSON(b []byte) error {
	var m map[Kind]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*c = Counts{}
	for k, n := range m {
		i, ok := index[k]
		if !ok {
			return fmt.Errorf("finding: unknown finding kind %q", k)
		}
		c[i] = int32(n)
	}
	return nil
}
