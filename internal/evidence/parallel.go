package evidence

// Parallel is implemented by stores whose reads wait on a network round
// trip (S3): a reader of many objects — verify --evidence, the diff's
// openings — keeps that many reads in flight to hide the latency, where
// one at a time would leave it waiting (tens of milliseconds a read: a
// million openings one by one would take hours).
type Parallel interface {
	ReadParallelism() int
}

// ReadParallelism is how many reads of s a reader of many objects keeps
// in flight: the store's figure when it is a Parallel, else 1 — a local
// store's reads cost CPU, not waiting, and its readers already spread
// them over every core.
func ReadParallelism(s Store) int {
	if p, ok := s.(Parallel); ok {
		return max(1, p.ReadParallelism())
	}
	return 1
}

// ReadParallelism forwards the wrapped store's (readOnly hides the
// wrapped store's other methods).
func (r readOnly) ReadParallelism() int { return ReadParallelism(r.Store) }
