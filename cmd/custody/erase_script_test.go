package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/dirtest"
)

// eraseScriptCmds: `pick-ids LEDGER` sets $CONV_HELD (a conversation
// deletion-protected at capture), $CONV_FREE and $CONV_OTHER (two that are
// not, with messages), and $MSG and $MSG_OTHER (a message of each of the
// last two), read from the ledger, for the erase and prove scripts;
// `last-seq LEDGER KIND VAR` the seq of the latest entry of a kind;
// `pick-recaptured LEDGER` sets $RECAP_MSG (a message re-captured with
// its attachments: leaf.Entry.Recaptures) and $RECAP_CONV (the
// conversation of another, not $RECAP_MSG's); `attachments-left LEDGER
// ID...` passes when an attachment that a message entry of those
// conversations or messages names is in the evidence folder beside the
// ledger (negated: when none is); `customer-address LEDGER CONV VAR`
// sets VAR to the address of CONV's customer; `cut-short-erase LEDGER CONV` leaves
// the matter as an erase of CONV killed part-way would; `journal-left
// LEDGER MSG` as an erase of MSG killed after its entry would.
func eraseScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"pick-ids": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: pick-ids LEDGER")
			}
			ctx := context.Background()
			l, err := ledger.Open(ctx, ts.MkAbs(args[0]), ledger.Options{ReadOnly: true})
			ts.Check(err)
			defer l.Close()
			var held, free []string
			for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation}) {
				ts.Check(err)
				dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
				ts.Check(err)
				if d := dd.(*leaf.ConversationDetail); d.Messages < 2 {
					continue
				} else if d.LegalHold {
					held = append(held, e.ConversationID)
				} else {
					free = append(free, e.ConversationID)
				}
			}
			if len(held) < 1 || len(free) < 2 {
				ts.Fatalf("pick-ids: %d held, %d free conversations with messages", len(held), len(free))
			}
			ts.Setenv("CONV_HELD", held[0])
			ts.Setenv("CONV_FREE", free[0])
			ts.Setenv("CONV_OTHER", free[1])
			for name, conv := range map[string]string{"MSG": free[0], "MSG_OTHER": free[1]} {
				for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv, Limit: 1}) {
					ts.Check(err)
					ts.Setenv(name, e.MessageID)
				}
			}
		},
		// customer-address LEDGER CONV VAR sets VAR to the address of
		// CONV's customer, read from the conversation's own response in
		// the evidence folder beside the ledger.
		"customer-address": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 3 {
				ts.Fatalf("usage: customer-address LEDGER CONV VAR")
			}
			ctx := context.Background()
			path := ts.MkAbs(args[0])
			l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
			ts.Check(err)
			defer l.Close()
			for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation, ConversationID: args[1], Limit: 1}) {
				ts.Check(err)
				b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "evidence", filepath.FromSlash(evidence.Key(e.EvidenceSHA256))))
				ts.Check(err)
				var c genesys.MessageConversation
				ts.Check(json.Unmarshal(b, &c))
				for _, p := range c.Participants {
					if p.Purpose == "customer" && p.Address != "" {
						ts.Setenv(args[2], p.Address)
						return
					}
				}
			}
			ts.Fatalf("customer-address: no customer address for conversation %s", args[1])
		},
		// tree-snapshot VAR keeps in VAR every file under $WORK with its
		// size, modification time and SHA-256 (but SQLite's -shm index,
		// whose lock words every reader writes); tree-unchanged VAR
		// fails naming each file that changed, came or went since
		// (negated: fails when none did).
		"tree-snapshot": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: tree-snapshot VAR")
			}
			ts.Setenv(args[0], strings.Join(treeFiles(ts), "\n"))
		},
		"tree-unchanged": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: [!] tree-unchanged VAR")
			}
			before := strings.Split(ts.Getenv(args[0]), "\n")
			after := treeFiles(ts)
			var diff []string
			for _, l := range before {
				if !slices.Contains(after, l) {
					diff = append(diff, "- "+l)
				}
			}
			for _, l := range after {
				if !slices.Contains(before, l) {
					diff = append(diff, "+ "+l)
				}
			}
			switch {
			case len(diff) > 0 && !neg:
				ts.Fatalf("files changed:\n%s", strings.Join(diff, "\n"))
			case len(diff) == 0 && neg:
				ts.Fatalf("no file changed")
			}
		},
		"pick-recaptured": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: pick-recaptured LEDGER")
			}
			ctx := context.Background()
			l, err := ledger.Open(ctx, ts.MkAbs(args[0]), ledger.Options{ReadOnly: true})
			ts.Check(err)
			defer l.Close()
			byMsg := map[string]leaf.Entry{}
			var msg, conv string
			for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
				ts.Check(err)
				prev, ok := byMsg[e.MessageID]
				byMsg[e.MessageID] = e
				if !ok || !e.Recaptures(&prev) {
					continue
				}
				switch {
				case msg == "":
					msg, conv = e.MessageID, e.ConversationID
				case conv == byMsg[msg].ConversationID && e.ConversationID != conv:
					conv = e.ConversationID
				}
			}
			if msg == "" || conv == byMsg[msg].ConversationID {
				ts.Fatalf("pick-recaptured: want re-captured messages in two conversations")
			}
			ts.Setenv("RECAP_MSG", msg)
			ts.Setenv("RECAP_CONV", conv)
		},
		// cut-short-erase LEDGER CONV leaves the matter as an erase of
		// CONV (--reason DSR-1) killed part-way leaves it: its journal
		// beside the ledger, naming the openings of CONV's messages, and
		// the first two of them deleted from the evidence folder, no
		// erasure entry recorded.
		"cut-short-erase": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: cut-short-erase LEDGER CONV")
			}
			ctx := context.Background()
			path := ts.MkAbs(args[0])
			l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
			ts.Check(err)
			defer l.Close()
			p := &erasure.Pending{Version: 1, Operator: "dpo", Reason: "DSR-1", Conversations: []string{args[1]},
				Command: erasure.RerunCommand(path, []string{args[1]}, nil, "DSR-1", "")}
			for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: args[1]}) {
				ts.Check(err)
				rs, err := e.EvidenceRefs()
				ts.Check(err)
				for _, r := range rs {
					if r.Role == leaf.RoleOpening {
						p.Objects = append(p.Objects, r.SHA256)
					}
				}
			}
			if len(p.Objects) < 2 {
				ts.Fatalf("cut-short-erase: %d openings in conversation %s", len(p.Objects), args[1])
			}
			ts.Check(erasure.WritePending(path, p))
			for _, o := range p.Objects[:2] {
				h, err := hashchain.ParseHash(o)
				ts.Check(err)
				ts.Check(os.Remove(filepath.Join(filepath.Dir(path), "evidence", filepath.FromSlash(evidence.Key(h)))))
			}
		},
		// journal-left LEDGER MSG leaves the journal an erase of message
		// MSG (--reason DSR-1) killed after it recorded its entry leaves:
		// naming no object, as every one it deleted is recorded.
		"journal-left": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: journal-left LEDGER MSG")
			}
			path := ts.MkAbs(args[0])
			ts.Check(erasure.WritePending(path, &erasure.Pending{Version: 1, Operator: "dpo", Reason: "DSR-1", Messages: []string{args[1]},
				Command: erasure.RerunCommand(path, nil, []string{args[1]}, "DSR-1", "")}))
		},
		"attachments-left": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 2 {
				ts.Fatalf("usage: attachments-left LEDGER ID...")
			}
			ctx := context.Background()
			path := ts.MkAbs(args[0])
			l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
			ts.Check(err)
			defer l.Close()
			ids := map[string]bool{}
			for _, id := range args[1:] {
				ids[id] = true
			}
			var named, left []string
			for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
				ts.Check(err)
				if !ids[e.ConversationID] && !ids[e.MessageID] {
					continue
				}
				dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
				ts.Check(err)
				for _, m := range dd.(*leaf.MessageDetail).Media {
					if m.Evidence == "" {
						continue
					}
					named = append(named, m.Evidence)
					h, err := hashchain.ParseHash(m.Evidence)
					ts.Check(err)
					if _, err := os.Lstat(filepath.Join(filepath.Dir(path), "evidence", filepath.FromSlash(evidence.Key(h)))); err == nil {
						left = append(left, m.Evidence)
					}
				}
			}
			if len(named) == 0 {
				ts.Fatalf("attachments-left: no attachment named by %s", strings.Join(args[1:], ", "))
			}
			switch {
			case neg && len(left) > 0:
				ts.Fatalf("attachments-left: %d of the %d attachments are still in the evidence: %s", len(left), len(named), strings.Join(left, ", "))
			case !neg && len(left) == 0:
				ts.Fatalf("attachments-left: none of the %d attachments is in the evidence", len(named))
			}
			ts.Logf("%d of %d attachments in the evidence", len(left), len(named))
		},
		// last-seq LEDGER KIND VAR sets $VAR to the seq of the ledger's
		// latest entry of KIND.
		"last-seq": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 3 {
				ts.Fatalf("usage: last-seq LEDGER KIND VAR")
			}
			ctx := context.Background()
			l, err := ledger.Open(ctx, ts.MkAbs(args[0]), ledger.Options{ReadOnly: true})
			ts.Check(err)
			defer l.Close()
			found := false
			for e, err := range l.Entries(ctx, ledger.Filter{Kind: args[1]}) {
				ts.Check(err)
				ts.Setenv(args[2], strconv.FormatUint(e.Seq, 10))
				found = true
			}
			if !found {
				ts.Fatalf("last-seq: no %s entry", args[1])
			}
		},
	}
}

// treeFiles is dirtest.Files of the script's work folder.
func treeFiles(ts *testscript.TestScript) []string {
	out, err := dirtest.Files(ts.Getenv("WORK"))
	ts.Check(err)
	return out
}
