package leaf

// KindSettings is a settings entry: timestamp authorities or witnesses
// taken off the matter's settings (custody checkpoint --remove-tsa,
// --remove-witness). The settings themselves are in the ledger's
// unsigned state table; the entry is the record an auditor reads of when
// one was removed, and by whom. (An addition needs none: from the next
// checkpoint on, each carries a token, a recorded gap or a cosignature
// from what was added, in tables rows are only ever added to; a removal
// would otherwise leave only their absence.)
const KindSettings = "settings"

// Settings entries' settings and actions.
const (
	SettingTSA     = "tsa_urls"     // the timestamp authorities (matter.StateTSA)
	SettingWitness = "witness_urls" // the witnesses (matter.StateWitness)

	SettingsRemove = "remove" // the only action custody records
)

// SettingsDetail is a settings entry's detail: which list changed, how,
// the URLs removed (in the order given), the list as it is after the
// change, and who changed it.
type SettingsDetail struct {
	Setting  string   `json:"setting"` // SettingTSA or SettingWitness
	Action   string   `json:"action"`  // SettingsRemove
	URLs     []string `json:"urls"`
	Now      []string `json:"now"` // the whole list after the change ([] when empty)
	Operator string   `json:"operator"`
}

func (*SettingsDetail) Kind() string { return KindSettings }

func (*SettingsDetail) EvidenceRefs() []EvidenceRef { return nil }
