package export_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
)

// updates records what Progress is told.
type updates struct {
	mu    sync.Mutex
	dones []int
	idle  chan struct{} // gets a value for each Update with nothing done
}

func (u *updates) Update(done, total int, _ fetch.Stats) {
	u.mu.Lock()
	u.dones = append(u.dones, done)
	u.mu.Unlock()
	if done == 0 {
		select {
		case u.idle <- struct{}{}:
		default:
		}
	}
}

// TestExportProgressWhileWaiting: while no conversation gets done (an
// answer held back, as a long Retry-After holds every worker), Progress
// is still told every ProgressEvery, so a run's log shows it is alive.
// Before, it was told only when a conversation got done: a 90 s
// Retry-After left the log silent for 90 s.
func TestExportProgressWhileWaiting(t *testing.T) {
	e := newEnv(t, 6, "")
	release := make(chan struct{})
	var once sync.Once
	api := rewriteProxy(t, e.srv, func(method, path string, body []byte) []byte {
		if method == http.MethodGet && strings.HasPrefix(path, "/api/v2/conversations/messages/") && strings.Count(path, "/") == 5 {
			once.Do(func() { <-release }) // the first conversation read waits
		}
		return body
	})
	u := &updates{idle: make(chan struct{}, 1)}
	errc := make(chan error, 1)
	go func() {
		_, err := export.Run(context.Background(), export.Deps{Client: e.client(t, func(c *fetch.Config) { c.APIURL = api }), Ledger: e.ledger, Evidence: e.store},
			export.Options{Scope: intervalScope(), SignerKey: e.key, Concurrency: 1, Progress: u, ProgressEvery: 10 * time.Millisecond})
		errc <- err
	}()
	seen := 0
	timeout := time.After(30 * time.Second)
	for seen < 3 {
		select {
		case <-u.idle:
			seen++
		case <-timeout:
			close(release)
			<-errc
			t.Fatalf("Progress told %d times with nothing done while an answer was held back, want 3 or more", seen)
		}
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
