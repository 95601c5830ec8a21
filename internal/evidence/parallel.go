package evidence

// Parallel is implemented by stores that say how many requests to keep
// in flight, because theirs wait on a network round trip (S3; a folder on
// a network share): whoever reads or writes many objects — verify
// --evidence, the diff's openings, PutAll, erase, hold — keeps that many
// requests in flight to hide the latency, where one at a time would leave
// it waiting (tens of milliseconds a request: a million openings one by
// one would take hours).
type Parallel interface {
	Parallelism() int
}

// Parallelism is how many requests to s a reader or writer of many
// objects keeps in flight: the store's figure when it is a Parallel
// (at most MaxRequests: callers start a worker per request), else 1 — a
// local store's reads cost CPU, not waiting, and its readers already
// spread them over every core (a folder on a local disk says 1).
func Parallelism(s Store) int {
	if p, ok := s.(Parallel); ok {
		return min(MaxRequests, max(1, p.Parallelism()))
	}
	return 1
}

// Parallelism forwards the wrapped store's (readOnly hides the
// wrapped store's other methods).
func (r readOnly) Parallelism() int { return Parallelism(r.Store) }
