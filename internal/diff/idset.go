package diff

import "math/bits"

// idSet is a set of 128-bit keys that are hashes (idKey: uniformly
// spread), kept compactly because an export of other channels can hold
// millions of messages custody never captured: a Go map of [2]uint64
// took about 90 bytes a key. The keys are spread over idShards shards by
// their top byte, each an open-addressing table with linear probing that
// grows by a quarter when it is 4/5 full, so a key takes 20 – 25 bytes,
// and growing one shard needs only that shard's size more.
type idSet struct {
	shards  [idShards]idShard
	hasZero bool // the key {0, 0}, which marks an empty slot
}

const idShards = 256

type idShard struct {
	slots [][2]uint64
	n     int
}

// add adds k and reports whether it was not there yet.
func (s *idSet) add(k [2]uint64) bool {
	if k == ([2]uint64{}) {
		added := !s.hasZero
		s.hasZero = true
		return added
	}
	sh := &s.shards[k[0]>>56]
	if (sh.n+1)*5 > len(sh.slots)*4 {
		sh.grow()
	}
	if !sh.insert(k) {
		return false
	}
	sh.n++
	return true
}

// insert puts k in its slot or the next free one after it, unless it is
// there already.
func (sh *idShard) insert(k [2]uint64) bool {
	hi, _ := bits.Mul64(k[1], uint64(len(sh.slots))) // k[1] mapped onto [0, len)
	for i := int(hi); ; {
		switch sh.slots[i] {
		case k:
			return false
		case [2]uint64{}:
			sh.slots[i] = k
			return true
		}
		if i++; i == len(sh.slots) {
			i = 0
		}
	}
}

func (sh *idShard) grow() {
	old := sh.slots
	sh.slots = make([][2]uint64, max(8, len(old)+len(old)/4))
	for _, k := range old {
		if k != ([2]uint64{}) {
			sh.insert(k)
		}
	}
}
