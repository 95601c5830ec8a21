package leaf

import "slices"

// Entry kinds custody writes. Other lower-case kinds are allowed; verifiers
// treat every kind alike. Each is described once, in the kinds table.
const (
	KindMessage      = "message"
	KindConversation = "conversation"
	KindRun          = "run"
	KindDiff         = "diff"
	KindRefetch      = "refetch"
	KindHold         = "hold"
	KindAudit        = "audit"
	KindListing      = "listing"
	KindProduction   = "production"
)

// KindInfo describes one entry kind: its name, what an entry of it
// records, and the type of its detail.
type KindInfo struct {
	Name string
	Doc  string
	// newDetail returns a new zero detail of the kind's type; nil when
	// custody writes no detail for the kind.
	newDetail func() Detail
}

// NewDetail returns a new zero detail of the kind's type, or nil when the
// kind has none.
func (k KindInfo) NewDetail() Detail {
	if k.newDetail == nil {
		return nil
	}
	return k.newDetail()
}

// kinds is the one table of entry kinds: DecodeDetail, the leaf decoder
// and the documentation read it, and TestKindsTable checks it against the
// constants and the detail types.
var kinds = [...]KindInfo{
	{KindMessage, "one captured message (its MessageData in the evidence)", func() Detail { return new(MessageDetail) }},
	{KindConversation, "a captured conversation object, with its legal hold and audit references", func() Detail { return new(ConversationDetail) }},
	{KindRun, "the start, resumption or end of an export or refetch run", func() Detail { return new(RunDetail) }},
	{KindDiff, "a diff of an export against the ledger: the hashes of its findings and file manifest", func() Detail { return new(DiffDetail) }},
	{KindRefetch, "what became of one gap a diff found, after re-fetching it", func() Detail { return new(RefetchDetail) }},
	{KindHold, "a matter-level legal hold placed on or released from conversations (custody hold, custody release)", func() Detail { return new(HoldDetail) }},
	{KindErasure, "an erasure: conversations and messages erased, evidence deleted, why and by whom (custody erase)", func() Detail { return new(ErasureDetail) }},
	{KindAudit, "one page of audit-trail query results", func() Detail { return new(AuditDetail) }},
	{KindListing, "one page of the conversation listing of an export", func() Detail { return new(ListingDetail) }},
	{KindReport, "a report custody wrote: the SHA-256 of each of its files and the ledger state it describes", func() Detail { return new(ReportDetail) }},
	{KindProduction, "a production for review (custody produce): the hash of its manifest, which lists every file it holds", func() Detail { return new(ProductionDetail) }},
	{KindSettings, "timestamp authorities or witnesses taken off the matter's settings: which, the list left, by whom (custody checkpoint --remove-tsa, --remove-witness)", func() Detail { return new(SettingsDetail) }},
}

// Kinds returns the table of the entry kinds custody writes.
func Kinds() []KindInfo { return slices.Clone(kinds[:]) }

// LookupKind returns the table's row for name.
func LookupKind(name string) (KindInfo, bool) {
	for _, k := range kinds {
		if k.Name == name {
			return k, true
		}
	}
	return KindInfo{}, false
}

// kindName returns the table's copy of name, so that decoding a leaf does
// not allocate a string for custody's own kinds.
func kindName(name []byte) string {
	for _, k := range kinds {
		if k.Name == string(name) {
			return k.Name
		}
	}
	return string(name)
}
