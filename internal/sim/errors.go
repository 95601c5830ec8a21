package sim

import "errors"

// Errors callers match with errors.Is.
var (
	// ErrBadFaultSpec: a fault spec (--faults) does not parse.
	ErrBadFaultSpec = errors.New("bad fault spec")
	// ErrNoExporter: a recording export job ran with no RecordingExporter;
	// the job ends FAILED with this in its errorMessage.
	ErrNoExporter = errors.New("no recording exporter configured (start the simulator with --export-to DIR or s3://bucket/prefix)")
)
