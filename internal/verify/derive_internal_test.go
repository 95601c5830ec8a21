package verify

import "testing"

// TestLRUBounded: the cache forgets the least recently used entries once
// their costs pass the budget, keeps at least one, and a get refreshes.
func TestLRUBounded(t *testing.T) {
	l := newLRU[int, string](10)
	l.put(1, "a", 4)
	l.put(2, "b", 4)
	if _, ok := l.get(1); !ok { // 1 is now the most recent
		t.Fatal("1 forgotten early")
	}
	l.put(3, "c", 4) // 12 > 10: 2 goes
	if _, ok := l.get(2); ok {
		t.Fatal("2 kept over budget")
	}
	if _, ok := l.get(1); !ok {
		t.Fatal("1 forgotten though recently used")
	}
	l.put(4, "big", 100) // over budget alone: kept, everything else goes
	if _, ok := l.get(4); !ok || l.order.Len() != 1 || l.used != 100 {
		t.Fatalf("after a large entry: %d entries, %d used", l.order.Len(), l.used)
	}
	l.put(4, "small", 1)
	if l.used != 1 {
		t.Fatalf("replacing an entry: %d used", l.used)
	}
}
