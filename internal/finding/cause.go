package finding

// Cause is the likely reason for a gap: why a message or conversation
// custody captured is not in an export, or why one in the export was never
// captured. The diff infers it from what it knows (capture times, the
// export's time, the captured text); it is a lead for whoever reads the
// finding, not proof. The names are stable: the simulator's ground-truth
// manifests record them too.
type Cause string

// Causes.
const (
	// CausePendingDataLake: the conversation (or message) is newer than
	// the export's time less the data-lake lag (Genesys may take up to 48
	// hours to include a recording in a bulk export job).
	CausePendingDataLake Cause = "pending_data_lake"
	// CauseSensitiveDataExcluded: the capture holds sensitive data (a
	// payment card number) and Genesys's export leaves recordings with
	// sensitive data out unless includeRecordingsWithSensitiveData is set.
	CauseSensitiveDataExcluded Cause = "sensitive_data_excluded"
	// CauseDeletedByRetention: older than the export's time less the
	// org's retention: the recording was deleted before the export ran.
	CauseDeletedByRetention Cause = "deleted_by_retention"
	// CauseNoRecording: none of the above: Genesys had no recording of
	// the conversation to export (recording off for its queue or flow, or
	// the exporter left it out).
	CauseNoRecording Cause = "no_recording"
	// CauseNotCaptured: in the export but not in the ledger: custody never
	// captured it (outside the captured window, or invented).
	CauseNotCaptured Cause = "not_captured"
)

// CauseInfo describes one cause in plain words, for docs/findings.md and
// the report.
type CauseInfo struct {
	Cause Cause
	Plain string
}

// causes is the one table of causes, in the order docs list them.
var causes = [...]CauseInfo{
	{CausePendingDataLake, "The conversation ended less than 48 hours before the export ran; Genesys's bulk export may not include it yet. Export again later."},
	{CauseSensitiveDataExcluded, "The captured text holds sensitive data (a payment card number), and Genesys leaves such recordings out of bulk exports unless includeRecordingsWithSensitiveData is set."},
	{CauseDeletedByRetention, "The conversation is older than the org's recording retention at the export's time: its recording was deleted before the export ran."},
	{CauseNoRecording, "None of the above: Genesys had no recording to export (recording off for the queue or flow), or the exporter left it out."},
	{CauseNotCaptured, "The export has it but custody never captured it: outside the captured window, or invented."},
}

// Causes returns the table of causes.
func Causes() []CauseInfo { return causes[:] }
