package main

import (
	"context"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// eraseScriptCmds: `pick-ids LEDGER` sets $CONV_HELD (a conversation
// deletion-protected at capture), $CONV_FREE and $CONV_OTHER (two that are
// not, with messages), and $MSG and $MSG_OTHER (a message of each of the
// last two), read from the ledger, for the erase and prove scripts;
// `last-seq LEDGER KIND VAR` the seq of the latest entry of a kind.
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
