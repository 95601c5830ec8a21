package main

import (
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

// verifyScriptCmds are the scripts' commands for verify's tests.
func verifyScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// os-litter KIND FILE: write FILE as an operating system writes a
		// file of KIND (appledouble, ds_store, thumbs): its format's magic
		// and some zeros, which a txtar file cannot hold.
		"os-litter": func(ts *testscript.TestScript, neg bool, args []string) {
			magic := map[string][]byte{
				"appledouble": {0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00},
				"ds_store":    {0x00, 0x00, 0x00, 0x01, 0x42, 0x75, 0x64, 0x31},
				"thumbs":      {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1},
			}
			if neg || len(args) != 2 || magic[args[0]] == nil {
				ts.Fatalf("usage: os-litter appledouble|ds_store|thumbs FILE")
			}
			ts.Check(os.WriteFile(ts.MkAbs(args[1]), append(magic[args[0]], make([]byte, 4088)...), 0o644))
		},
	}
}
