package reconcile

// SetEachChunk sets how many entries LedgerIndex.Each reads per query and
// returns a function restoring the default.
func SetEachChunk(n int) (restore func()) {
	old := eachChunk
	eachChunk = n
	return func() { eachChunk = old }
}
