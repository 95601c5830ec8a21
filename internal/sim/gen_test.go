package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

func testOrg(n int) *Org {
	return NewOrg(OrgConfig{Seed: 42, Conversations: n, LegalHoldShare: 0.05, OtherMediaShare: 0.2, MediaBaseURL: "http://sim.test"})
}

func TestOrgDeterministic(t *testing.T) {
	a, b := testOrg(300), testOrg(300)
	if a.OrgID() != b.OrgID() {
		t.Fatal("org ids differ")
	}
	for i := 0; i < 300; i += 7 {
		ja, _ := json.Marshal(a.ConversationAt(i))
		jb, _ := json.Marshal(b.ConversationAt(i))
		if !bytes.Equal(ja, jb) {
			t.Fatalf("conversation %d differs between identical orgs", i)
		}
	}
	c := NewOrg(OrgConfig{Seed: 43, Conversations: 300})
	if c.ConversationID(0) == a.ConversationID(0) || c.OrgID() == a.OrgID() {
		t.Fatal("different seeds gave the same ids")
	}
}

func TestOrgIndexRoundTrip(t *testing.T) {
	o := testOrg(1000)
	seen := map[string]bool{}
	for i := range o.Len() {
		id := o.ConversationID(i)
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		j, ok := o.Index(id)
		if !ok || j != i {
			t.Fatalf("Index(%s) = %d, %v; want %d", id, j, ok, i)
		}
	}
	for _, bad := range []string{"", "nope", "00000000-0000-4000-8000-000000000000", NewOrg(OrgConfig{Seed: 1, Conversations: 1000}).ConversationID(5)} {
		if _, ok := o.Index(bad); ok {
			t.Errorf("Index(%q) found a conversation", bad)
		}
	}
	if _, ok := o.Conversation(o.ConversationID(1000 - 1)); !ok {
		t.Fatal("last conversation not found")
	}
}

func TestOrgShape(t *testing.T) {
	const n = 3000
	o := testOrg(n)
	var msgs, whatsapp, holds, attachments, edited, deleted, bots, maxMsgs int
	prev := time.Time{}
	for i := range n {
		c := o.ConversationAt(i)
		if c.Start.Before(prev) {
			t.Fatalf("conversation %d starts before its predecessor", i)
		}
		prev = c.Start
		if !c.End.After(c.Start) {
			t.Fatalf("conversation %d: end %v not after start %v", i, c.End, c.Start)
		}
		if c.LegalHold {
			holds++
			if len(c.Audits) == 0 || c.Audits[len(c.Audits)-1].Action != "ApplyProtection" {
				t.Fatalf("held conversation %d has audits %+v", i, c.Audits)
			}
		} else if len(c.Audits) != 0 && (len(c.Audits) != 2 || c.Audits[1].Action != "RevokeProtection") {
			// A hold applied, then revoked (RevokedHoldShare).
			t.Fatalf("unheld conversation %d has audits %+v", i, c.Audits)
		}
		if c.Kind != KindWhatsApp {
			continue
		}
		whatsapp++
		msgs += len(c.Messages)
		maxMsgs = max(maxMsgs, len(c.Messages))
		listed := map[string]bool{}
		for _, p := range c.MessageConversation.Participants {
			if p.Purpose == "workflow" {
				bots++
			}
			for _, d := range p.Messages {
				if listed[d.MessageID] {
					t.Fatalf("message %s listed twice", d.MessageID)
				}
				listed[d.MessageID] = true
			}
		}
		for k, m := range c.Messages {
			if !listed[m.ID] {
				t.Fatalf("conversation %d: message %s not listed on any participant", i, m.ID)
			}
			if k > 0 && m.Timestamp < c.Messages[k-1].Timestamp {
				t.Fatalf("conversation %d: messages out of order", i)
			}
			if _, err := time.Parse(time.RFC3339Nano, m.Timestamp); err != nil || len(m.Timestamp) != len("2006-01-02T15:04:05.000Z") {
				t.Fatalf("timestamp %q", m.Timestamp)
			}
			nm := m.NormalizedMessage
			if nm == nil || nm.Channel == nil || nm.Channel.Platform != "Whatsapp" || nm.Channel.MessageID == "" || nm.Channel.MessageID != m.ProviderMessageID {
				t.Fatalf("bad normalized message %+v", nm)
			}
			if nm.Channel.DateModified != "" {
				edited++
			}
			if nm.Channel.DateDeleted != "" {
				deleted++
			}
		}
		for _, a := range c.Attachments {
			attachments++
			b, mime, ok := o.Media(a.ID)
			if !ok || mime != a.Mime || len(b) != a.Size {
				t.Fatalf("media %s: ok=%v mime=%s len=%d, want %s %d", a.ID, ok, mime, len(b), a.Mime, a.Size)
			}
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != a.Sha256 {
				t.Fatalf("media %s: sha256 mismatch", a.ID)
			}
		}
	}
	mean := float64(msgs) / float64(whatsapp)
	t.Logf("whatsapp=%d mean msgs=%.2f max=%d holds=%d attachments=%d edited=%d deleted=%d bots=%d", whatsapp, mean, maxMsgs, holds, attachments, edited, deleted, bots)
	if mean < 10 || mean > 14 {
		t.Errorf("mean messages per conversation %.2f, want ≈ 12", mean)
	}
	if whatsapp < n*7/10 || whatsapp > n*9/10 {
		t.Errorf("%d WhatsApp conversations of %d with OtherMediaShare 0.2", whatsapp, n)
	}
	if holds < n/40 || holds > n/10 || attachments == 0 || edited == 0 || deleted == 0 || bots == 0 || maxMsgs < 60 {
		t.Errorf("org lacks variety")
	}
}

func TestOverlapping(t *testing.T) {
	o := testOrg(2000)
	from := DefaultStart.Add(30 * 24 * time.Hour)
	to := from.Add(24 * time.Hour)
	lo, hi := o.Overlapping(from, to)
	f, tt := from.UnixMilli(), to.UnixMilli()
	for i := range o.Len() {
		s, e := o.Span(i)
		want := s.Before(to) && !e.Before(from)
		if got := o.overlaps(i, f, tt); got != want {
			t.Fatalf("overlaps(%d) = %v, want %v", i, got, want)
		}
		if want && (i < lo || i >= hi) {
			t.Fatalf("conversation %d overlaps but is outside [%d,%d)", i, lo, hi)
		}
	}
}

func TestLegalHoldRuntime(t *testing.T) {
	o := testOrg(200)
	i := 0
	for o.LegalHold(i) {
		i++
	}
	before := len(o.Audits(i))
	o.SetLegalHold(i, true, DefaultEnd, nil, "client")
	if !o.LegalHold(i) || len(o.Audits(i)) != before+1 {
		t.Fatal("hold not applied or not audited")
	}
	found := false
	for _, j := range o.HeldIndexes() {
		found = found || j == i
	}
	if !found {
		t.Fatal("HeldIndexes misses a run-time hold")
	}
	c := o.ConversationAt(i)
	last := c.Audits[len(c.Audits)-1]
	if !c.LegalHold || last.Action != "ApplyProtection" || last.Entity.ID != c.ID || last.PropertyChanges[0].NewValues[0] != "true" {
		t.Fatalf("audit entry %+v", last)
	}
}

func BenchmarkGenerate(b *testing.B) {
	o := testOrg(100000)
	b.ReportAllocs()
	for k := 0; b.Loop(); k++ {
		o.ConversationAt(k % o.Len())
	}
}

func BenchmarkNewOrg100k(b *testing.B) {
	for b.Loop() {
		NewOrg(OrgConfig{Seed: 1, Conversations: 100000, LegalHoldShare: 0.01})
	}
}
