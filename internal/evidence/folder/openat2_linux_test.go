package folder

import "testing"

// withoutOpenat2 makes openBeneath walk a component at a time, as on a
// system without openat2, until the test ends.
func withoutOpenat2(t *testing.T) {
	was := noOpenat2.Load()
	noOpenat2.Store(true)
	t.Cleanup(func() { noOpenat2.Store(was) })
}
