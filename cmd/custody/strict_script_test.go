package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// strictScriptCmds are the script commands of the strictness tests: an
// attacker who writes rows with the right hashes, and a damaged file.
func strictScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// forge LEDGER OLD NEW: append a copy of the last entry's leaf with
		// the first OLD replaced by NEW (where the word INVALID-UTF8 in NEW
		// becomes the byte 0xff), its leaf hash and chain link right.
		"forge": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 3 {
				ts.Fatalf("usage: forge LEDGER OLD NEW")
			}
			path := ts.MkAbs(args[0])
			ctx := context.Background()
			l, err := ledger.Open(ctx, path, ledger.Options{})
			ts.Check(err)
			head, err := l.Head(ctx)
			ts.Check(err)
			l.Close()
			db, err := sql.Open("sqlite3", "file:"+path+"?mode=rw")
			ts.Check(err)
			defer db.Close()
			var last []byte
			ts.Check(db.QueryRow(`SELECT leaf FROM entries WHERE seq = ?`, int64(head.Size)-1).Scan(&last))
			newText := bytes.ReplaceAll([]byte(args[2]), []byte("INVALID-UTF8"), []byte{0xff})
			forged := bytes.Replace(last, []byte(args[1]), newText, 1)
			if bytes.Equal(forged, last) {
				ts.Fatalf("forge: %q not in the last leaf", args[1])
			}
			lh := hashchain.LeafHash(forged)
			link := hashchain.ChainLink(head.Chain, lh)
			_, err = db.Exec(`INSERT INTO entries (seq, leaf, leaf_hash, chain, kind) VALUES (?, ?, ?, ?, 'message')`,
				int64(head.Size), forged, lh[:], link[:])
			ts.Check(err)
		},
		// damage LEDGER SEQ: make the page holding entry SEQ's leaf (a
		// scriptMessage, msg-SEQ) unreadable: SQLite reports it corrupt.
		"damage": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 2 {
				ts.Fatalf("usage: damage LEDGER SEQ")
			}
			path := ts.MkAbs(args[0])
			data, err := os.ReadFile(path)
			ts.Check(err)
			var seq int
			fmt.Sscan(args[1], &seq)
			i := bytes.Index(data, fmt.Appendf(nil, `"message_id":"msg-%06d"`, seq))
			if i < 0 {
				ts.Fatalf("damage: entry %d not in the main file", seq)
			}
			pageSize := int(binary.BigEndian.Uint16(data[16:18])) // the SQLite header's page size; 1 means 65536
			if pageSize == 1 {
				pageSize = 65536
			}
			page := i / pageSize * pageSize
			copy(data[page:page+8], []byte{0x77, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
			ts.Check(os.WriteFile(path, data, 0o644))
		},
	}
}
