package verify

// RequestableID is requestableID, for TestRequestableIDIsExports (in
// verify_test, which may import export).
var RequestableID = requestableID

// RunStateWarnings is runStateWarnings, for BenchmarkRunStateWarnings.
var RunStateWarnings = runStateWarnings
