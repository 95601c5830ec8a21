package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

// erasedMatter captures a small simulated org into a fresh ledger.
func erasedMatter(t *testing.T) *ledgertest.Env {
	le, _ := capturedMatter(t)
	return le
}

// TestReportSource: the matter summary says where the captures came from —
// the API URL and the OAuth client id the export runs recorded — and the
// client secret is in no file of the report.
func TestReportSource(t *testing.T) {
	le, srv := capturedMatter(t)
	out := filepath.Join(t.TempDir(), "r")
	if _, err := report.Generate(context.Background(), le.Ledger, le.Store, report.Options{Out: out, Proofs: report.ProofsNone, NoRecord: true}); err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, filepath.Join(out, "report.json"))
	if !slices.Equal(doc.Summary.APIHosts, []string{srv.APIURL}) || !slices.Equal(doc.Summary.ClientIDs, []string{srv.ClientID}) {
		t.Fatalf("summary source: hosts %v clients %v, want [%s] [%s]", doc.Summary.APIHosts, doc.Summary.ClientIDs, srv.APIURL, srv.ClientID)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(srv.APIURL)) || !bytes.Contains(page, []byte(srv.ClientID)) {
		t.Error("report.html does not name the API URL and the OAuth client id")
	}
	if hits := leaks(t, out, []string{srv.ClientSecret}); len(hits) > 0 {
		t.Fatalf("the client secret is in the report: %v", hits)
	}
}

// capturedMatter captures a small simulated org into a fresh ledger and
// returns it with the simulator.
func capturedMatter(t *testing.T) (*ledgertest.Env, *sim.Server) {
	t.Helper()
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 21, Conversations: 10, Start: start, End: start.AddDate(0, 0, 5), LegalHoldShare: 0.3},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	le := ledgertest.New(t, "erased")
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: 1e9,
		PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: le.Ledger, Evidence: le.Store}, export.Options{
		Scope: export.Scope{Matter: "erased", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: le.Key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	return le, srv
}

// leaks reports every file under dir holding any of needles, in the
// forms a report writes text: as is, HTML-escaped and JSON-escaped.
func leaks(t *testing.T, dir string, needles []string) []string {
	t.Helper()
	var forms [][2]string
	for _, n := range needles {
		j, _ := json.Marshal(n)
		for _, f := range []string{n, html.EscapeString(n), string(j[1 : len(j)-1])} {
			forms = append(forms, [2]string{n, f})
		}
	}
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, f := range forms {
			if bytes.Contains(b, []byte(f[1])) {
				hits = append(hits, p+": "+f[0])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestReportShowsErasure erases a conversation whole and one message of
// another, holds a third, and checks the report: what was erased shows
// as erased with its erasure entry, never with its content; collateral
// messages say their body is gone; the matter hold is in section 2; no
// byte of any file holds an erased text or address; the report verifies.
func TestReportShowsErasure(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	before := filepath.Join(t.TempDir(), "before")
	if _, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: before, Proofs: report.ProofsNone, NoRecord: true}); err != nil {
		t.Fatal(err)
	}
	doc1 := readDoc(t, filepath.Join(before, "report.json"))
	var free []*report.Conversation
	for _, c := range doc1.Transcripts.Items {
		if !c.Held && len(c.Messages) >= 3 {
			free = append(free, c)
		}
	}
	if len(free) < 3 {
		t.Fatalf("%d conversations not held with 3 messages: the fixture needs more", len(free))
	}
	whole, part, held := free[0], free[1], free[2]
	msg := part.Messages[1]

	if _, err := erase.Hold(ctx, le.Ledger, le.Store, erase.HoldRequest{Conversations: []string{held.ID}, Reason: "litigation hold LGL-9", Operator: "counsel"}); err != nil {
		t.Fatal(err)
	}
	r1, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Conversations: []string{whole.ID}, Reason: "DSR-1042", Operator: "dpo", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Messages: []string{msg.ID}, Reason: "DSR-1043", Operator: "dpo", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Detail.Collateral) == 0 {
		t.Fatal("erasing one message deleted no other message's body: the test needs collateral")
	}
	collateral := map[string]bool{}
	for _, m := range r2.Detail.Collateral {
		collateral[m] = true
	}

	// The erased texts and addresses: those of the erased messages (and
	// the collateral ones, whose body is gone) found in no message that
	// stays.
	gone := map[string]bool{}
	kept := map[string]bool{}
	for _, c := range doc1.Transcripts.Items {
		if c.ID != whole.ID {
			for _, p := range c.Participants { // the same customer in another conversation
				kept[p.Address] = true
			}
		}
		for _, m := range c.Messages {
			erased := c.ID == whole.ID || m.ID == msg.ID || collateral[m.ID]
			for _, s := range []string{m.Text, m.From, m.To} {
				if len(s) >= 8 {
					if erased {
						gone[s] = true
					} else {
						kept[s] = true
					}
				}
			}
		}
	}
	for _, p := range whole.Participants {
		if len(p.Address) >= 8 {
			gone[p.Address] = true
		}
	}
	var secrets []string
	for s := range gone {
		if !kept[s] {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) < 3 {
		t.Fatalf("only %d erased texts to look for", len(secrets))
	}
	if hits := leaks(t, before, secrets); len(hits) == 0 {
		t.Fatal("the report before erasure holds none of the texts looked for: the scan proves nothing")
	}

	out := filepath.Join(t.TempDir(), "after")
	res, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: out, Proofs: report.ProofsAll, SignerKey: le.Key, Operator: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified {
		t.Error("the ledger and evidence do not verify after the erasures")
	}
	if hits := leaks(t, out, secrets); len(hits) > 0 {
		t.Errorf("erased content in the report:\n%s", strings.Join(hits, "\n"))
	}
	doc := readDoc(t, filepath.Join(out, "report.json"))

	s := doc.Summary
	if s.ErasedConversations != 1 || s.ErasedMessages != len(whole.Messages)+1 || s.BodiesErased != len(collateral) || s.MatterHeld != 1 {
		t.Errorf("summary: erased %d conversations, %d messages, %d bodies, %d matter held; want 1, %d, %d, 1",
			s.ErasedConversations, s.ErasedMessages, s.BodiesErased, s.MatterHeld, len(whole.Messages)+1, len(collateral))
	}
	if s.Conversations != doc1.Summary.Conversations || s.Messages != doc1.Summary.Messages {
		t.Errorf("erased records are no longer counted as captured: %d/%d, were %d/%d", s.Conversations, s.Messages, doc1.Summary.Conversations, doc1.Summary.Messages)
	}

	if !strings.Contains(doc.Certificate.Statement, "since erased") {
		t.Errorf("the certificate does not say what was erased: %s", doc.Certificate.Statement)
	}
	if strings.Contains(doc1.Certificate.Statement, "since erased") {
		t.Errorf("the certificate before erasure mentions erasure")
	}
	// Filtered, the certificate counts what the report lists, in the
	// singular for one ("1 conversations", "1 messages", "the response
	// bodies of 1 other messages" before).
	for _, tc := range []struct {
		conv *report.Conversation
		want string
	}{
		{whole, "— 1 conversation and " + nouns(len(whole.Messages), "message") + " captured from Genesys Cloud — " +
			"are true copies of the responses the Conversation API returned, identified by the SHA-256 hash values recorded in the ledger whose state is given below. " +
			"Of these, 1 conversation and " + nouns(len(whole.Messages), "message") + " were since erased (custody erase), and the response bodies of 0 other messages deleted with them: "},
		{part, "— 1 conversation and " + nouns(len(part.Messages), "message") + " captured from Genesys Cloud — " +
			"are true copies of the responses the Conversation API returned, identified by the SHA-256 hash values recorded in the ledger whose state is given below. " +
			"Of these, 0 conversations and 1 message were since erased (custody erase), and " + bodiesOf(len(collateral)) + " deleted with them: "},
	} {
		out := filepath.Join(t.TempDir(), "one")
		if _, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: out, Proofs: report.ProofsNone, NoRecord: true, Conversations: []string{tc.conv.ID}}); err != nil {
			t.Fatal(err)
		}
		if st := readDoc(t, filepath.Join(out, "report.json")).Certificate.Statement; !strings.Contains(st, tc.want) {
			t.Errorf("report of conversation %s: certificate\n%s\nwant it to hold\n%s", tc.conv.ID, st, tc.want)
		}
	}

	// Section 7: the conversation once, the message, each collateral one.
	kinds := map[string]string{}
	for _, e := range doc.Exceptions {
		kinds[e.ConversationID+"/"+e.MessageID] = e.Kind
		if e.Kind == "erased" && (!strings.Contains(e.Reason, "DSR-104") || !strings.Contains(e.Reason, "dpo")) {
			t.Errorf("exception %+v does not name the erasure's reason and operator", e)
		}
	}
	if kinds[whole.ID+"/"] != "erased" || kinds[part.ID+"/"+msg.ID] != "erased" {
		t.Errorf("exceptions lack the erasures: %v", kinds)
	}
	for m := range collateral {
		if kinds[part.ID+"/"+m] != "body_erased" {
			t.Errorf("collateral message %s: exception %q", m, kinds[part.ID+"/"+m])
		}
	}
	for _, m := range whole.Messages {
		if _, ok := kinds[whole.ID+"/"+m.ID]; ok {
			t.Errorf("message %s of the erased conversation listed on its own", m.ID)
		}
	}

	// Section 2: the matter hold beside deletion protection.
	if doc.LegalHold.MatterHeld != 1 {
		t.Errorf("legal hold: %d matter held", doc.LegalHold.MatterHeld)
	}
	var found bool
	for _, h := range doc.LegalHold.Held {
		if h.ID == held.ID {
			found = true
			if h.DeletionProtection || h.MatterHold == nil || h.MatterHold.Reason != "litigation hold LGL-9" || h.MatterHold.Seq == 0 {
				t.Errorf("held conversation %+v", h)
			}
		} else if !h.DeletionProtection {
			t.Errorf("%s listed as held with neither hold", h.ID)
		}
	}
	if !found {
		t.Errorf("the matter-held conversation is not in section 2")
	}

	// Transcripts.
	for _, c := range doc.Transcripts.Items {
		for _, m := range c.Messages {
			switch {
			case c.ID == whole.ID || m.ID == msg.ID:
				want := "DSR-1043"
				if c.ID == whole.ID {
					want = "DSR-1042"
				}
				if !slices.Equal(m.Status, []string{"erased"}) || m.Erased == nil || m.Erased.Reason != want || m.Erased.Operator != "dpo" ||
					m.Erased.When == "" || m.Text != "" || m.From != "" || m.Sender != "" || m.Error != "" || m.Proof == "" {
					t.Errorf("erased message %s: %+v %+v", m.ID, m, m.Erased)
				}
			case collateral[m.ID]:
				if !slices.Contains(m.Status, "body_erased") || m.BodyErased == nil || m.BodyErased.Seq != r2.Seq || m.Text != "" || m.Error != "" {
					t.Errorf("collateral message %s: %+v", m.ID, m)
				}
			default:
				if m.Erased != nil || m.BodyErased != nil || m.Error != "" || !slices.Equal(m.Status, []string{"captured"}) {
					t.Errorf("message %s, not erased: %+v", m.ID, m)
				}
			}
		}
		if c.ID == whole.ID {
			if c.Erased == nil || c.Erased.Seq != r1.Seq || c.Erased.Reason != "DSR-1042" || len(c.Participants) != 0 || len(c.Messages) != len(whole.Messages) {
				t.Errorf("erased conversation: %+v %+v", c, c.Erased)
			}
		} else if c.Erased != nil {
			t.Errorf("conversation %s shown as erased", c.ID)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Erased by erasure entry", "its text cannot be shown", "litigation hold LGL-9", `id="n-erased-messages"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("report.html does not say %q", want)
		}
	}

	// verify --report: every file is the one recorded; the ledger holds.
	for _, f := range res.Files {
		b, err := os.ReadFile(filepath.Join(out, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		match, err := verify.ReportFile(ctx, le.Ledger, f.Name, bytes.NewReader(b))
		if err != nil || !match.Found || !match.Covered {
			t.Errorf("verify --report %s: %+v %v", f.Name, match, err)
		}
	}
	rep, err := verify.Ledger(ctx, le.Ledger, verify.Options{VerifierKey: le.Ledger.VerifierKey(), Evidence: le.Store})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %v", err, rep.Findings)
	}
}

// bodiesOf is how the certificate names n response bodies erased with
// the messages.
func bodiesOf(n int) string {
	if n == 1 {
		return "the response body of 1 other message"
	}
	return fmt.Sprintf("the response bodies of %d other messages", n)
}
