package fetch

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// loadSim runs workers×perWorker GetConversation calls against s and
// returns the virtual time they took.
func loadSim(t *testing.T, c *Client, s *sim.Server, clk *fakeClock, workers, perWorker int) float64 {
	t.Helper()
	t0 := clk.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if _, _, err := c.GetConversation(context.Background(), s.Org.ConversationID((w*perWorker+i)%s.Org.Len())); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return clk.Now().Sub(t0).Seconds()
}

// TestSeveralClientsShareTheWork: with two OAuth clients, each with its
// own token and budget, the same work takes about half the time of one,
// and the simulator, which limits each client apart, refuses nothing.
func TestSeveralClientsShareTheWork(t *testing.T) {
	run := func(clients int) (float64, *Client, *sim.Server) {
		clk := newFakeClock()
		s := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 40}, Now: clk.Now, RateLimit: 60, ExtraClients: clients - 1})
		c := simClient(t, s, clk, func(cfg *Config) {
			cfg.Rate = 60
			for _, cr := range s.Clients[1:] {
				cfg.Clients = append(cfg.Clients, Credentials{ID: cr.ID, Secret: cr.Secret})
			}
		})
		return loadSim(t, c, s, clk, 4, 90), c, s
	}
	one, c1, s1 := run(1)
	two, c2, s2 := run(2)
	for _, x := range []struct {
		c *Client
		s *sim.Server
	}{{c1, s1}, {c2, s2}} {
		if st := x.c.Stats(); st.RateLimited != 0 || x.s.Stats().RateLimited != 0 || st.Failures != 0 {
			t.Errorf("stats %+v, simulator refused %d", st, x.s.Stats().RateLimited)
		}
	}
	if st := c2.Stats(); st.Clients != 2 || st.PacePerMinute != 2*60 {
		t.Errorf("two clients: %+v", st)
	}
	// One client: 360 requests, 59 at once then 60/min: ~301 s. Two:
	// 118 at once then 120/min: ~121 s.
	if one < 300 || two > 0.45*one {
		t.Errorf("one client %.0f s, two %.0f s: want two under 0.45× one", one, two)
	}
	if toks := s2.IssuedTokens(); len(toks) != 2 {
		t.Errorf("%d tokens issued, want one per client", len(toks))
	}
}

func TestClientsConfigRefused(t *testing.T) {
	base := Config{ClientID: "a", ClientSecret: "s", APIURL: "http://127.0.0.1:1"}
	for name, cl := range map[string][]Credentials{
		"no secret":     {{ID: "b"}},
		"repeated":      {{ID: "a", Secret: "t"}},
		"repeated next": {{ID: "b", Secret: "t"}, {ID: "b", Secret: "u"}},
		"space":         {{ID: "b c", Secret: "t"}},
	} {
		cfg := base
		cfg.Clients = cl
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{AccessToken: "tok", APIURL: "http://127.0.0.1:1", Clients: []Credentials{{ID: "b", Secret: "t"}}}); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("extra clients with only a token: %v", err)
	}
}

// TestOrgLimitsApplied: the org's limits replace the default rate (the
// tightest of those that apply), an explicit rate stays a ceiling, and a
// 403 leaves the configured rate, with the reason.
func TestOrgLimitsApplied(t *testing.T) {
	ctx := context.Background()
	start := func(opts sim.Options, rate float64) (*Client, *sim.Server, *fakeClock) {
		clk := newFakeClock()
		opts.OrgConfig = sim.OrgConfig{Seed: 3, Conversations: 20}
		opts.Now = clk.Now
		s := simtest.Start(t, opts)
		return simClient(t, s, clk, func(cfg *Config) { cfg.Rate = rate }), s, clk
	}
	c, s, clk := start(sim.Options{RateLimit: 120, ClientRateLimit: 100}, 0)
	got, err := c.ApplyOrgLimits(ctx)
	if err != nil || !got.Read || got.PerClient != 100 || got.Limits[LimitOrgAppUser] != 100 || got.Limits[LimitClientCredentialsToken] != 120 {
		t.Fatalf("limits %+v, %v", got, err)
	}
	if pace := c.Stats().PacePerMinute; pace != 100 {
		t.Errorf("pace %v, want 100 (the org's tighter limit)", pace)
	}
	// The burst is the new minute's allowance (100 less a second's worth,
	// 2) less the limits request: 200 more requests take (200-97)/100 min,
	// and nothing is refused.
	secs := loadSim(t, c, s, clk, 4, 50)
	if s.Stats().RateLimited != 0 || secs < 60 || secs > 70 {
		t.Errorf("%.0f s, %d refused", secs, s.Stats().RateLimited)
	}

	c, _, _ = start(sim.Options{RateLimit: 600}, 300)
	if got, err := c.ApplyOrgLimits(ctx); err != nil || got.PerClient != 300 || c.Stats().PacePerMinute != 300 {
		t.Errorf("explicit rate below the org's: %+v, pace %v", got, c.Stats().PacePerMinute)
	}
	c, _, _ = start(sim.Options{RateLimit: 600, LimitsForbidden: true}, 0)
	if got, err := c.ApplyOrgLimits(ctx); err != nil || got.Read || got.Reason == "" || got.PerClient != DefaultRate || c.Stats().PacePerMinute != DefaultRate {
		t.Errorf("forbidden: %+v, %v, pace %v", got, err, c.Stats().PacePerMinute)
	}
}

// TestDailyLimitStopsOneClient: a long Retry-After stops the client that
// got it; the call moves to another client, and only when every client is
// stopped does a call fail with *DailyLimitError.
func TestDailyLimitStopsOneClient(t *testing.T) {
	clk := newFakeClock()
	var stopped sync.Map // tokens refused for the day
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if _, ok := stopped.Load(tok); ok || tok == "tok-1" {
			stopped.Store(tok, true)
			tooMany("3600")(w, r)
			return
		}
		okConversation(w, r)
	})
	c := f.client(clk, func(cfg *Config) {
		cfg.Rate = 600
		cfg.Clients = []Credentials{{ID: "second-client", Secret: "second-secret"}}
	})
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := c.GetConversation(ctx, "c1"); err != nil {
			t.Fatalf("call %d: %v: the second client should have carried it", i, err)
		}
	}
	if st := c.Stats(); st.RateLimited != 1 {
		t.Errorf("stats %+v, want the one 429 that stopped the first client", st)
	}
	// Now the second client is stopped too.
	stopped.Store("tok-2", true)
	_, _, err := c.GetConversation(ctx, "c1")
	var dl *DailyLimitError
	if !errors.As(err, &dl) {
		t.Fatalf("every client stopped: err = %v, want *DailyLimitError", err)
	}
	if _, _, err := c.GetConversation(ctx, "c1"); !errors.As(err, &dl) {
		t.Fatalf("later call: %v", err)
	}
}

// TestOrgLimitsHostile: limits the server sends that cannot be paced by
// (negative, absurd, another namespace, another key) are ignored, and a
// body that is not a listing falls back; nothing fails, the pace stays.
func TestOrgLimitsHostile(t *testing.T) {
	for name, body := range map[string]string{
		"nonsense values": `{"entities":[{"key":"token.rate.per.minute","namespace":"platform.api","value":-5},` +
			`{"key":"client.credentials.token.rate.per.minute","namespace":"platform.api","value":1e12},` +
			`{"key":"org.app.user.rate.per.minute","namespace":"analytics","value":1},{"key":"other","namespace":"platform.api","value":2}]}`,
		"not a listing": `[1,2,3]`,
		"wrong types":   `{"entities":[{"key":1,"value":"300"}]}`,
		"null":          `null`,
	} {
		t.Run(name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
			c := f.client(clk, func(cfg *Config) { cfg.Rate = 0 })
			got, err := c.ApplyOrgLimits(context.Background())
			if err != nil || got.PerClient != DefaultRate || got.Reason == "" || c.Stats().PacePerMinute != DefaultRate {
				t.Errorf("%+v, %v, pace %v", got, err, c.Stats().PacePerMinute)
			}
		})
	}
}
