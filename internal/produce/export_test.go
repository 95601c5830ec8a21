package produce

// SetScanBatchSize sets how many entries a scan batch holds and returns
// the function that puts the default back.
func SetScanBatchSize(n int) func() {
	old := scanBatchSize
	scanBatchSize = n
	return func() { scanBatchSize = old }
}
