package reconcile

// SetEachChunk sets how many entries LedgerIndex.Each reads per query and
// returns a function restoring the default.
func SetEachChunk(n int) (restore func()) {
	old := eachChunk
	eachChunk = n
	return func() { eachChunk = old }
}

// SetPartSize sets how many bytes of lines a stored part holds (and
// hands them to the compressor a quarter of that at a time); it returns a
// function that restores both.
func SetPartSize(n int) func() {
	oldPart, oldChunk := partSize, spoolChunk
	partSize, spoolChunk = n, n/4
	return func() { partSize, spoolChunk = oldPart, oldChunk }
}

// MessageOutcome is messageOutcome, for tests.
var MessageOutcome = messageOutcome
