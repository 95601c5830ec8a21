package leaf

// ProductionDetail is a production entry's detail (custody produce): the
// SHA-256 of the production's manifest, which lists every file of the
// production with its own SHA-256, so the production itself is in the
// chain of custody. The manifest is also kept as evidence
// (ManifestEvidenceSHA256, the same hash), so verify --evidence re-hashes
// it like any other evidence.
type ProductionDetail struct {
	Conversations          int                 `json:"conversations"`
	Files                  int                 `json:"files"`
	Format                 string              `json:"format"` // rsmf, dat or both
	ManifestEvidenceSHA256 string              `json:"manifest_evidence_sha256"`
	ManifestSHA256         string              `json:"manifest_sha256"`
	Messages               int                 `json:"messages"`
	ProofTreeSize          uint64              `json:"proof_tree_size"` // the checkpoint the messages are proved against
	Selection              ProductionSelection `json:"selection"`
}

// ProductionSelection is what a production was asked to hold; empty
// members select everything.
type ProductionSelection struct {
	Conversations []string `json:"conversations"`
	DiffRunID     string   `json:"diff_run_id"`
	Interval      string   `json:"interval"`
	LegalHoldOnly bool     `json:"legal_hold_only"`
}

// RoleManifest is the evidence role of a production's manifest.
const RoleManifest = "manifest"

func (*ProductionDetail) Kind() string { return KindProduction }

func (d *ProductionDetail) EvidenceRefs() []EvidenceRef {
	if d.ManifestEvidenceSHA256 == "" {
		return nil
	}
	return []EvidenceRef{{Role: RoleManifest, SHA256: d.ManifestEvidenceSHA256}}
}
