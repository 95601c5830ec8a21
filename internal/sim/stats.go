package sim

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"sync"
)

// Stats counts what the server saw, by route pattern ("GET
// /api/v2/conversations/{conversationId}"), so benchmarks can read exact
// request counts.
type Stats struct {
	Requests    int64                 `json:"requests"`
	RateLimited int64                 `json:"rateLimited"`
	Faults      int64                 `json:"faults"`
	Routes      map[string]RouteStats `json:"routes"`
}

// RouteStats are the counts of one route.
type RouteStats struct {
	Requests     int64            `json:"requests"`
	RateLimited  int64            `json:"rateLimited"`
	Faults       int64            `json:"faults"`
	FaultsByKind map[string]int64 `json:"faultsByKind,omitempty"`
	// Status counts responses by status code ("200", "404", …); a reset
	// connection counts as "reset".
	Status map[string]int64 `json:"status"`
}

type statsState struct {
	mu     sync.Mutex
	total  Stats
	routes map[string]*RouteStats
}

func (st *statsState) route(p string) *RouteStats {
	r := st.routes[p]
	if r == nil {
		r = &RouteStats{Status: map[string]int64{}}
		st.routes[p] = r
	}
	return r
}

// count records one request; limited marks a 429 from the rate limiter.
func (st *statsState) count(p string, limited bool) {
	st.mu.Lock()
	r := st.route(p)
	r.Requests++
	st.total.Requests++
	if limited {
		r.RateLimited++
		st.total.RateLimited++
	}
	st.mu.Unlock()
}

func (st *statsState) limited(p string) {
	st.mu.Lock()
	st.route(p).RateLimited++
	st.total.RateLimited++
	st.mu.Unlock()
}

func (st *statsState) fault(p string, f FaultRule) {
	st.mu.Lock()
	r := st.route(p)
	r.Faults++
	if r.FaultsByKind == nil {
		r.FaultsByKind = map[string]int64{}
	}
	r.FaultsByKind[f.Kind]++
	st.total.Faults++
	st.mu.Unlock()
}

func (st *statsState) status(p string, code int) { st.statusKey(p, strconv.Itoa(code)) }

func (st *statsState) statusKey(p, key string) {
	st.mu.Lock()
	st.route(p).Status[key]++
	st.mu.Unlock()
}

// Stats returns a snapshot of the counts.
func (s *Server) Stats() Stats {
	st := &s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	out := st.total
	out.Routes = make(map[string]RouteStats, len(st.routes))
	for p, r := range st.routes {
		c := *r
		c.Status = maps.Clone(r.Status)
		c.FaultsByKind = maps.Clone(r.FaultsByKind)
		out.Routes[p] = c
	}
	return out
}

// handleStats is GET /sim/stats (no auth; not counted).
func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	b, _ := json.Marshal(s.Stats())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
