package leaf

// KindReport is the kind of the entry `custody report` appends: the
// SHA-256 of every file of a report it wrote, so the report itself is in
// the chain of custody and `custody verify --report FILE` can tell later
// whether a file is one custody wrote, unchanged.
const KindReport = "report"

// ReportDetail is a report entry's detail. Files lists every file the
// report wrote (report.html, report.json, the per-conversation pages of a
// large matter, the proof files), with the path relative to the report's
// folder. LedgerSize and Root say which state of the ledger the report
// describes: the entries before the report's own.
type ReportDetail struct {
	DiffRunID  string       `json:"diff_run_id,omitempty"`
	Files      []ReportFile `json:"files"`
	LedgerSize uint64       `json:"ledger_size"`
	Operator   string       `json:"operator"`
	// Out is the folder the report was written into, as an absolute
	// path, so that an erasure can name it among the places to recall;
	// absent from reports recorded before it was recorded.
	Out         string `json:"out,omitempty"`
	Root        string `json:"root"`
	ToolVersion string `json:"tool_version"`
}

// ReportFile is one file of a report.
type ReportFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

func (*ReportDetail) Kind() string { return KindReport }

// EvidenceRefs: a report's files are not evidence objects; their hashes
// are the entry's content.
func (*ReportDetail) EvidenceRefs() []EvidenceRef { return nil }
