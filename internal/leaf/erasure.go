package leaf

// KindErasure is an erasure entry (custody erase): which conversations
// and messages were erased, which evidence objects were deleted, when
// (the entry's at), why and by whom. Its detail names evidence objects
// that are gone on purpose, so none of its members is an evidence
// reference: verify --evidence reads them as erased, not missing.
const KindErasure = "erasure"

// ErasureDetail is an erasure entry's detail.
type ErasureDetail struct {
	// Conversations erased whole, and Messages erased (every message of
	// those conversations included), sorted.
	Conversations []string `json:"conversations"`
	Messages      []string `json:"messages"`
	// Erased are the evidence objects deleted (64 hex), sorted; Kept
	// those that could not be, with why (an S3 Object Lock legal hold or
	// retention).
	Erased []string     `json:"erased"`
	Kept   []ErasedKept `json:"kept"`
	// Partial are the conversations some of whose messages (Messages)
	// were erased, not the whole conversation.
	Partial []string `json:"partial"`
	// Collateral are messages not erased whose response bodies were
	// deleted because the same body held an erased message: their
	// openings are kept (a diff still compares them), their bodies are
	// gone.
	Collateral []string `json:"collateral"`
	Operator   string   `json:"operator"`
	Reason     string   `json:"reason"`
	// OverrideHold is the reason given to erase despite a legal hold
	// (--override-hold); "" when nothing erased was under hold.
	OverrideHold string `json:"override_hold,omitempty"`
	// Outputs are the recorded productions and reports (entries before
	// this one) that hold, or may hold, content of what was erased: files
	// custody wrote and delivered, which it cannot delete; the operator
	// recalls or deletes them. Absent when there are none, so erasures
	// without any keep the bytes of their detail.
	Outputs []ErasedOutput `json:"outputs,omitempty"`
	// Unreferenced are the objects of Erased that no entry referenced
	// when the erasure was recorded (64 hex, sorted): response bodies and
	// openings a custody before ef2d53c left in the store unnamed, read
	// and found to hold what was erased. No entry's evidence, so no
	// verifier looks for them. Absent when there are none, so erasures
	// without any keep the bytes of their detail.
	Unreferenced []string `json:"unreferenced,omitempty"`
	// Diffs are the recorded diffs (entries before this one) whose
	// findings named what was erased, with the findings objects of each
	// that this erasure deleted (in Erased): a finding keeps the values
	// it compared, a text's plain SHA-256 (from which a short text can be
	// guessed) and a sender's address. Absent when there are none, so
	// erasures without any keep the bytes of their detail.
	Diffs []ErasedDiff `json:"diffs,omitempty"`
}

// ErasedDiff is a recorded diff whose findings an erasure deleted, in
// whole or in part: report, produce --diff and refetch can no longer
// read that diff; a diff run again records the findings anew.
type ErasedDiff struct {
	// Seq and RunID are the diff entry's.
	Seq   uint64 `json:"seq"`
	RunID string `json:"run_id"`
	// Findings are the objects of its findings_evidence_sha256 deleted
	// (64 hex, in the diff's order).
	Findings []string `json:"findings"`
	// Why says what of the erasure they held.
	Why string `json:"why"`
}

// ErasedOutput is a recorded production or report that holds, or may
// hold, content of what an erasure erased.
type ErasedOutput struct {
	// Seq and Kind are its entry's: KindProduction or KindReport.
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
	// Name is a production's folder, the base name of its --out as the
	// ledger's state recorded it (its claim), or a report's run id; ""
	// when the ledger does not say.
	Name string `json:"name"`
	// Why says what of the erasure it holds, or why it may.
	Why string `json:"why"`
	// Manifest is a production's manifest kept as evidence (its entry's
	// manifest_evidence_sha256), when this erasure deleted it (it is in
	// Erased): it listed the produced messages with plain SHA-256 hashes
	// of their texts, from which a short text can be guessed.
	Manifest string `json:"manifest,omitempty"`
}

// ErasedKept is an evidence object erase could not delete.
type ErasedKept struct {
	Object string `json:"object"`
	Why    string `json:"why"`
}

func (*ErasureDetail) Kind() string { return KindErasure }

// EvidenceRefs is empty: what an erasure names is gone on purpose.
func (*ErasureDetail) EvidenceRefs() []EvidenceRef { return nil }

// Hold actions.
const (
	HoldSet     = "hold"
	HoldRelease = "release"
)

// HoldDetail is a hold entry's detail: a matter-level legal hold placed
// on conversations (custody hold) or released (custody release), beyond
// the deletion protection Genesys records.
type HoldDetail struct {
	Action        string   `json:"action"` // HoldSet or HoldRelease
	Conversations []string `json:"conversations"`
	// ObjectLock says what became of the S3 Object Lock legal hold on the
	// conversations' evidence: "set", "cleared", "unsupported" (the
	// store cannot place one) or "partial: …".
	ObjectLock string `json:"object_lock"`
	Operator   string `json:"operator"`
	Reason     string `json:"reason"`
}

func (*HoldDetail) Kind() string { return KindHold }

func (*HoldDetail) EvidenceRefs() []EvidenceRef { return nil }
