package erase_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// TestEraseRefusesPersonalReason: a --reason or --override-hold reason
// goes into the append-only ledger, where nothing can erase it. One that
// holds a personal value of what is to be erased — the customer's phone
// number (however spaced), a participant's name (in any case), a
// message's text — is refused, ErrPersonalReason, naming the kind and
// never the value, with nothing deleted or recorded. A reference is
// accepted. Before, every such reason was recorded verbatim.
func TestEraseRefusesPersonalReason(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, held := m.conversations(t)
	target := free[0]
	values := func(id string) (customer, phone, text string) {
		t.Helper()
		var conv *sim.ConvData
		for i := range m.srv.Org.Len() {
			if c := m.srv.Org.ConversationAt(i); c.ID == id {
				conv = c
			}
		}
		if conv == nil {
			t.Fatalf("conversation %s not in the org", id)
		}
		for _, p := range conv.MessageConversation.Participants {
			if p.Purpose == "customer" {
				customer, phone = p.Name, p.Address
			}
		}
		// A plain text of the customer's own words: not a template
		// (which names the customer), long enough and not made of common
		// words only ("Is anyone there?" says nothing of anyone).
		for i := range conv.Messages {
			md := &conv.Messages[i]
			s := genesys.MessageText(md)
			if md.NormalizedMessage != nil && len(md.NormalizedMessage.Content) == 0 && len(s) >= 20 &&
				!strings.Contains(s, strings.Fields(customer)[0]) && text == "" {
				text = s
			}
		}
		if customer == "" || len(phone) < 8 || text == "" {
			t.Fatalf("the fixture's conversation lacks a customer name (%q), phone (%q) or text (%q)", customer, phone, text)
		}
		return customer, phone, text
	}
	customer, phone, text := values(target)
	heldCustomer, _, _ := values(held[0])
	spaced := phone[:len(phone)-6] + " " + phone[len(phone)-6:len(phone)-3] + "-" + phone[len(phone)-3:]
	size := m.size(t)
	for _, c := range []struct {
		reason, override string
		conv             string
		kind             string
	}{
		{reason: "DSR from " + phone, conv: target, kind: "holds a sender's or recipient's address"},
		{reason: "DSR, caller " + spaced, conv: target, kind: "holds a sender's or recipient's address"},
		{reason: "DSR for " + strings.ToUpper(customer), conv: target, kind: "holds a participant's name"},
		{reason: "DSR re: " + text, conv: target, kind: "holds a message's text"},
		{reason: "DSR-7", override: "hold lifted for " + heldCustomer, conv: held[0], kind: "holds a participant's name"},
	} {
		req := erase.Request{Conversations: []string{c.conv}, Reason: c.reason, OverrideHold: c.override, Operator: "dpo", SignerKey: m.le.Key}
		_, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
		if !errors.Is(err, erase.ErrPersonalReason) || !strings.Contains(err.Error(), c.kind) || !strings.Contains(err.Error(), "forever") {
			t.Errorf("reason %q, override %q: %v, want a refusal naming the %s", c.reason, c.override, err, c.kind)
			continue
		}
		for _, v := range []string{phone, spaced, customer, strings.ToUpper(customer), text, heldCustomer} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("the refusal echoes the value %q: %v", v, err)
			}
		}
		if got := m.size(t); got != size {
			t.Fatalf("a refused erasure appended %d entries", got-size)
		}
		if rep := m.verify(t); !rep.OK || rep.Evidence.Erased != 0 {
			t.Fatalf("a refused erasure deleted something: %v %+v", rep.Findings, rep.Evidence)
		}
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{target}, Reason: "GDPR Art. 17 request DSR-1042", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || res.Detail.Reason != "GDPR Art. 17 request DSR-1042" {
		t.Fatalf("a reference as reason: %v", err)
	}
}
