package report

// SetAfterRecord sets what is called once a report's entry is appended,
// before its files take their names, and returns the function that puts
// the default back.
func SetAfterRecord(f func()) func() {
	old := afterRecord
	afterRecord = f
	return func() { afterRecord = old }
}
