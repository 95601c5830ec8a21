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
)

// Info is what the table says of a kind.
type Info struct {
	Kind Kind
	// Doc says when the kind is reported, in a sentence.
	Doc string
	// Gap: the finding names a message custody lacks or the export lacks
	// that refetch can ask Genesys for again.
	Gap bool
}

// table is every finding kind, in report order: the order of the
// summary's rows and of Counts. Its length sizes Counts at compile time,
// so a kind added here cannot outgrow it.
var table = [...]Info{
	{FieldStripped, "a field the policy requires is absent from the exported message (Field names it)", false},
	{ValueAltered, "a compared field (sender, legal_hold, audit_trail_id, conversation_id) is present but differs from the capture, or a value has the wrong type or a timestamp is not a timestamp", false},
	{TimestampPrecisionLost, "the exported timestamp carries less than millisecond precision and equals the captured one cut to that precision", false},
	{TimestampShifted, "the exported timestamp is a different instant", false},
	{ContentDiffers, "the normalised text hashes differently", false},
	{MissingFromExport, "captured, in a conversation the export covers, but not in the export", true},
	// Not a gap: the ledger holds every message of it, and an old export
	// usually covers a period or a selection, so refetching every
	// conversation it left out would re-read much of the ledger from
	// Genesys to learn nothing about the export.
	{ConversationAbsent, "a captured conversation the export does not cover at all: no file, folder or message of it (Detail says how many messages were captured)", false},
	{NotCaptured, "in the export but never captured: a gap to refetch", true},
	{Duplicated, "the same message appears again in the export", false},
	{FileUnreadable, "a file, or part of one, could not be read or parsed, or its name is unsafe (Detail says why and where)", false},
}

// index is each kind's row in table.
var index = func() map[Kind]int {
	m := make(map[Kind]int, len(table))
	for i, in := range table {
		m[in.Kind] = i
	}
	return m
}()

// Kinds returns every kind's row, in report order.
func Kinds() []Info { return table[:] }

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
