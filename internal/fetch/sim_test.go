package fetch

// Integration tests against the Genesys simulator (internal/sim), in
// process on loopback. The unit tests use hand-made httptest servers for
// exact fault injection; these check that the client and the simulator
// agree on the wire and that the policies hold against a realistic server.

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

func simClient(t *testing.T, s *sim.Server, clk *fakeClock, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, APIURL: s.APIURL, LoginURL: s.LoginURL,
		Rate: math.Inf(1), Version: "test",
		Now: clk.Now, Sleep: clk.Sleep,
		Backoff: func(int) time.Duration { return time.Millisecond },
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Runs before the simulator's cleanup: a connection dialled but never
	// used would hold its graceful shutdown for 5 s.
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestSimExportFlow(t *testing.T) {
	clk := newFakeClock()
	s := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 150, LegalHoldShare: 0.2, OtherMediaShare: 0.4},
		Now:       clk.Now,
	})
	org := s.Org
	c := simClient(t, s, clk)
	ctx := context.Background()

	// List every WhatsApp conversation through an analytics job.
	q := genesys.AsyncConversationQuery{
		Interval:       Interval(sim.DefaultStart, sim.DefaultEnd),
		SegmentFilters: WhatsAppSegmentFilter(""),
	}
	var listed []string
	var pages int
	for p, err := range c.ListConversations(ctx, q, ListOptions{PageSize: 20}) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, conv := range p.Page.Conversations {
			listed = append(listed, conv.ConversationID)
		}
	}
	var want []string
	for i := range org.Len() {
		if mt, msg := org.MediaType(i); mt == "message" && msg == "whatsapp" {
			want = append(want, org.ConversationID(i))
		}
	}
	slices.Sort(listed)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %d conversations, want the org's %d WhatsApp ones", len(listed), len(want))
	}
	if pages < 2 {
		t.Errorf("only %d page(s): cursor paging not exercised", pages)
	}

	// Read each conversation's messages in one bulk call and compare with
	// what the org generated.
	var withMedia *sim.ConvData
	for _, id := range listed[:12] {
		mc, resp, err := c.GetMessageConversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if mc.ID != id || resp.CorrelationID == "" {
			t.Errorf("conversation %s: got id %s, correlation %q", id, mc.ID, resp.CorrelationID)
		}
		var msgIDs []string
		for _, p := range mc.Participants {
			for _, m := range p.Messages {
				msgIDs = append(msgIDs, m.MessageID)
			}
		}
		slices.Sort(msgIDs)
		msgIDs = slices.Compact(msgIDs)
		data, _ := org.Conversation(id)
		var got []string
		for _, chunk := range Chunks(msgIDs, genesys.MaxBulkMessageIDs) {
			listing, _, err := c.BulkMessages(ctx, id, chunk)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range listing.Entities {
				got = append(got, m.ID)
			}
		}
		var gen []string
		for _, m := range data.Messages {
			gen = append(gen, m.ID)
		}
		slices.Sort(got)
		slices.Sort(gen)
		if !slices.Equal(got, gen) {
			t.Errorf("conversation %s: bulk returned %d messages, org has %d", id, len(got), len(gen))
		}
		if len(data.Messages) > 0 {
			m0 := data.Messages[0]
			one, _, err := c.GetMessage(ctx, id, m0.ID)
			if err != nil {
				t.Fatal(err)
			}
			if one.Timestamp != m0.Timestamp {
				t.Errorf("message %s timestamp %s, want %s", m0.ID, one.Timestamp, m0.Timestamp)
			}
		}
		if _, _, err := c.GetConversation(ctx, id); err != nil {
			t.Fatal(err)
		}
		if withMedia == nil && len(data.Attachments) > 0 {
			withMedia = data
		}
	}

	// Legal holds, 100 conversations per call.
	for _, chunk := range Chunks(listed, genesys.MaxDeletionProtectionIDs) {
		held, _, err := c.DeletionProtection(ctx, chunk)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range chunk {
			i, _ := org.Index(id)
			if held[id] != org.LegalHold(i) {
				t.Errorf("conversation %s: protected %v, org says %v", id, held[id], org.LegalHold(i))
			}
		}
	}

	// Media, checked against the announced sha256.
	if withMedia == nil {
		t.Log("no attachment among the sampled conversations")
	} else {
		// The url as the API serves it: pre-signed for the media host,
		// which refuses a request carrying the bearer token (400), so
		// this download also proves Download leaves it off.
		a := withMedia.Attachments[0]
		md, _, err := c.GetMessage(ctx, withMedia.ID, a.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		var att *genesys.ContentAttachment
		for _, ct := range md.NormalizedMessage.Content {
			if ct.Attachment != nil && ct.Attachment.ID == a.ID {
				att = ct.Attachment
			}
		}
		if att == nil || att.URL == a.URL || !strings.HasPrefix(att.URL, s.MediaURL+"/") {
			t.Fatalf("attachment %s served as %+v, want a pre-signed url on %s", a.ID, att, s.MediaURL)
		}
		resp, err := c.Download(ctx, att.URL)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSHA256(resp.Body, att.Sha256); err != nil {
			t.Error(err)
		}
		if strings.Contains(resp.Path, "Signature") {
			t.Errorf("response path %q shows the signature", resp.Path)
		}
	}

	// Audit entries about legal holds.
	var audits int
	for p, err := range c.ListAudits(ctx, genesys.AuditQueryRequest{
		Interval:    Interval(sim.DefaultStart.AddDate(-1, 0, 0), clk.Now().Add(24*time.Hour)),
		ServiceName: sim.DefaultAuditServiceName,
	}, ListOptions{PageSize: 50}) {
		if err != nil {
			t.Fatal(err)
		}
		audits += len(p.Page.Entities)
	}
	if len(org.HeldIndexes()) > 0 && audits == 0 {
		t.Error("org has legal holds but the audit query found no entries")
	}

	st := c.Stats()
	if st.RateLimited != 0 || st.Failures != 0 || st.Retries != 0 {
		t.Errorf("client stats %+v", st)
	}
}

func TestSimFaultsAreRetried(t *testing.T) {
	clk := newFakeClock()
	s := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 40},
		Faults:    "5xx=0.15,reset=0.05,truncate=0.08,429=0.03",
		FaultSeed: 5,
		Now:       clk.Now,
	})
	c := simClient(t, s, clk)
	ctx := context.Background()
	for i := range s.Org.Len() {
		id := s.Org.ConversationID(i)
		if s.Org.Kind(i) == sim.KindVoice {
			continue
		}
		mc, resp, err := c.GetMessageConversation(ctx, id)
		if err != nil {
			t.Fatalf("conversation %d: %v", i, err)
		}
		if mc.ID != id {
			t.Errorf("got %s, want %s", mc.ID, id)
		}
		if resp.Attempts > 1 {
			// What came back after faults is the clean body.
			again, _, err := c.GetMessageConversation(ctx, id)
			if err == nil && len(again.Participants) != len(mc.Participants) {
				t.Errorf("conversation %s differs between attempts", id)
			}
		}
	}
	st, sst := c.Stats(), s.Stats()
	if sst.Faults == 0 || st.Retries == 0 {
		t.Errorf("no faults exercised: sim %+v client %+v", sst, st)
	}
	if st.Failures != 0 {
		t.Errorf("client failures %d", st.Failures)
	}
}

func TestSimAuthFaults(t *testing.T) {
	t.Run("revoked token renewed once", func(t *testing.T) {
		clk := newFakeClock()
		s := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 10}, Faults: "revoke@3", Now: clk.Now})
		c := simClient(t, s, clk)
		for i := range 6 {
			if _, _, err := c.GetConversation(context.Background(), s.Org.ConversationID(i)); err != nil {
				t.Fatal(err)
			}
		}
		if st := c.Stats(); st.Reauths != 1 {
			t.Errorf("Reauths = %d, want 1", st.Reauths)
		}
	})
	t.Run("token endpoint 503 retried", func(t *testing.T) {
		clk := newFakeClock()
		s := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 10}, Faults: "oauth@1", Now: clk.Now})
		c := simClient(t, s, clk)
		if _, _, err := c.GetConversation(context.Background(), s.Org.ConversationID(0)); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Endpoints[RouteToken].Requests != 2 {
			t.Errorf("token requests %d, want 2", st.Endpoints[RouteToken].Requests)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		clk := newFakeClock()
		s := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 3, Conversations: 10}, Now: clk.Now})
		c := simClient(t, s, clk, func(cfg *Config) { cfg.ClientSecret = "wrong-secret-value" })
		_, _, err := c.GetConversation(context.Background(), s.Org.ConversationID(0))
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Code != "invalid_client" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSimJobFailAndNotFound(t *testing.T) {
	clk := newFakeClock()
	s := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 5, Conversations: 20}, Faults: "jobfail@1", Now: clk.Now})
	c := simClient(t, s, clk)
	ctx := context.Background()
	q := genesys.AsyncConversationQuery{Interval: Interval(sim.DefaultStart, sim.DefaultEnd)}
	for _, err := range c.ListConversations(ctx, q, ListOptions{}) {
		if !errors.Is(err, ErrJobFailed) {
			t.Fatalf("err = %v, want ErrJobFailed", err)
		}
	}
	// The second job is fine.
	n := 0
	for p, err := range c.ListConversations(ctx, q, ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Page.Conversations)
	}
	if n != 20 {
		t.Errorf("listed %d, want 20", n)
	}
	if _, _, err := c.GetMessageConversation(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conversation: err = %v", err)
	}
}

// TestSimPacingAvoids429 runs concurrent workers against the simulator's
// per-token limit on a shared virtual clock: paced at the default rate no
// request is refused; unpaced, the simulator refuses some and the client
// still completes every call by honouring Retry-After.
func TestSimPacingAvoids429(t *testing.T) {
	run := func(t *testing.T, opts sim.Options, mod func(*Config)) (*Client, *sim.Server) {
		clk := newFakeClock()
		opts.OrgConfig = sim.OrgConfig{Seed: 9, Conversations: 50}
		opts.Now = clk.Now
		s := simtest.Start(t, opts)
		var mods []func(*Config)
		if mod != nil {
			mods = append(mods, mod)
		}
		c := simClient(t, s, clk, mods...)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 100 {
					id := s.Org.ConversationID((w*100 + i) % s.Org.Len())
					if _, _, err := c.GetConversation(context.Background(), id); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return c, s
	}
	t.Run("paced at the default rate", func(t *testing.T) {
		c, s := run(t, sim.Options{RateLimit: 300}, func(cfg *Config) { cfg.Rate = 0 })
		if n := s.Stats().RateLimited; n != 0 {
			t.Errorf("simulator refused %d requests", n)
		}
		if st := c.Stats(); st.RateLimited != 0 || st.PacePerMinute != 300 {
			t.Errorf("client stats %+v", st)
		}
	})
	t.Run("lower endpoint limit: no 429 storm", func(t *testing.T) {
		// The simulator sends no inin-ratelimit-* headers, as Genesys
		// today: the client learns the route's lower limit from its 429s
		// alone. It completes every call by waiting Retry-After, and
		// bringing its pace down to what got through keeps 429s rare
		// (with no pacing, 219 of 496 requests).
		c, s := run(t, sim.Options{RateLimit: 300, EndpointLimits: map[string]int{RouteConversation: 60}}, func(cfg *Config) { cfg.Rate = 0 })
		st := c.Stats()
		t.Logf("%d requests, %d refused, pace now %.1f/min", st.Requests, st.RateLimited, st.PacePerMinute)
		if st.Failures != 0 || st.RateLimited == 0 || st.RateLimited != s.Stats().RateLimited || st.RateLimited*20 > st.Requests {
			t.Errorf("client stats %+v, simulator refused %d", st, s.Stats().RateLimited)
		}
	})
	t.Run("unlimited client honours Retry-After", func(t *testing.T) {
		c, s := run(t, sim.Options{RateLimit: 300}, func(cfg *Config) { cfg.Rate = math.Inf(1) })
		if st := c.Stats(); st.Failures != 0 || st.PacePerMinute != 0 || st.RateLimited != s.Stats().RateLimited || st.RateLimited == 0 {
			t.Errorf("client stats %+v, simulator refused %d", st, s.Stats().RateLimited)
		}
	})
	t.Run("429s honoured", func(t *testing.T) {
		c, s := run(t, sim.Options{Faults: "429=0.1", FaultSeed: 2}, nil)
		sst, st := s.Stats(), c.Stats()
		if sst.RateLimited == 0 || st.RateLimited != sst.RateLimited {
			t.Errorf("sim refused %d, client counted %d", sst.RateLimited, st.RateLimited)
		}
		if st.Failures != 0 {
			t.Errorf("client failures %d", st.Failures)
		}
	})
}

func TestSimDailyLimit(t *testing.T) {
	clk := newFakeClock()
	s := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 1, Conversations: 10}, DailyLimit: 3, Now: clk.Now})
	c := simClient(t, s, clk)
	ctx := context.Background()
	var err error
	for i := range 5 {
		if _, _, err = c.GetConversation(ctx, s.Org.ConversationID(i)); err != nil {
			break
		}
	}
	var dl *DailyLimitError
	if !errors.As(err, &dl) || dl.RetryAfter != sim.DefaultDailyRetryAfter {
		t.Fatalf("err = %v, want *DailyLimitError of %s", err, sim.DefaultDailyRetryAfter)
	}
	if !dl.Until.Equal(clk.Now().Add(sim.DefaultDailyRetryAfter)) {
		t.Errorf("Until %s", dl.Until)
	}
	if got := s.Stats().Requests; got > 5 {
		t.Errorf("sim saw %d requests, want the limit plus one refusal (and the token)", got)
	}
}

// TestDownloadPresignedMedia: an attachment url as the API serves it is
// downloaded from the media host without the bearer token (the simulator
// answers 400 to one that carries it), and once expired the download is
// an APIError 403 whose code and message come from the S3-style XML body,
// with no signature in the error text.
func TestDownloadPresignedMedia(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	s := simtest.Start(t, sim.Options{
		OrgConfig:   sim.OrgConfig{Seed: 9, Conversations: 40, Start: now.Add(-12 * 24 * time.Hour), End: now.Add(-2 * 24 * time.Hour)},
		MediaURLTTL: sim.DefaultMediaURLTTL,
		Now:         clk.Now,
	})
	c := simClient(t, s, clk)
	ctx := context.Background()
	var att *genesys.ContentAttachment
	for i := 0; i < s.Org.Len() && att == nil; i++ {
		cd := s.Org.ConversationAt(i)
		if len(cd.Attachments) == 0 {
			continue
		}
		md, _, err := c.GetMessage(ctx, cd.ID, cd.Attachments[0].MessageID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range md.NormalizedMessage.Content {
			if ct.Attachment != nil {
				att = ct.Attachment
			}
		}
	}
	if att == nil {
		t.Fatal("no attachment served")
	}
	resp, err := c.Download(ctx, att.URL)
	if err != nil {
		t.Fatalf("valid url: %v", err)
	}
	if err := CheckSHA256(resp.Body, att.Sha256); err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * 24 * time.Hour)
	_, err = c.Download(ctx, att.URL)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Body.Code != "AccessDenied" || ae.Body.Message != "Request has expired" {
		t.Fatalf("expired url: %v", err)
	}
	if strings.Contains(err.Error(), sim.MediaSignatureParam) || strings.Contains(ae.Path, "?") {
		t.Fatalf("error shows the url's query: %v", err)
	}
}

// TestSimListingPageSizeRefused runs the client against a simulator whose
// job results refuse a pageSize above its maximum with the normalized
// error body: the refused first page is asked again at the server's
// default, every conversation is listed, and the warning quotes
// Genesys's error. Before, the 400 read as an expired listing.
func TestSimListingPageSizeRefused(t *testing.T) {
	clk := newFakeClock()
	s := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 5, Conversations: 60}, JobPageSize: 25, JobMaxPageSize: 40, Now: clk.Now})
	logs := &logBuffer{}
	c := simClient(t, s, clk, func(cfg *Config) { cfg.Logger = debugLogger(logs) })
	q := genesys.AsyncConversationQuery{Interval: Interval(sim.DefaultStart, sim.DefaultEnd)}
	n, pages := 0, 0
	for p, err := range c.ListConversations(context.Background(), q, ListOptions{PageSize: 1000}) {
		if err != nil {
			t.Fatalf("err = %v after %d pages", err, pages)
		}
		if len(p.Page.Conversations) > 25 || strings.Contains(p.Response.Path, "pageSize") {
			t.Errorf("page %s holds %d conversations: want the server's default, 25, and no pageSize asked", p.Response.Path, len(p.Page.Conversations))
		}
		n += len(p.Page.Conversations)
		pages++
	}
	if n != 60 || pages != 3 {
		t.Errorf("listed %d in %d pages, want 60 in 3", n, pages)
	}
	if got := s.Stats().Routes["GET /api/v2/analytics/conversations/details/jobs/{jobId}/results"].Status["400"]; got != 1 {
		t.Errorf("%d results requests refused, want 1", got)
	}
	l := logs.String()
	for _, want := range []string{"server's default page size", "page_size=1000", "bad.request", "The pageSize 1000 is not allowed: it must be between 1 and 40.", "correlation id"} {
		if !strings.Contains(l, want) {
			t.Errorf("log does not say %q:\n%s", want, l)
		}
	}
}
